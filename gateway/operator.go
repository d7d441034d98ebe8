package gateway

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/tenants"
)

// operatorActor names the operator in audit events: the operator API has
// one token, so whoever holds it is "the operator".
const operatorActor = "operator"

// operator admits requests carrying the operator token.
func (h *portalHandlers) operator(c *gin.Context) {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || !h.operatorAuthorized(token) {
		unauthorized(c, "the operator API needs the operator token as a Bearer token")
		return
	}
	if _, ok := h.Networks(c.Param("network")); !ok {
		WriteError(c, http.StatusNotFound, "no network "+quoteBounded(c.Param("network"))+" here")
		return
	}
	c.Next()
}

// personRequest is the body of PUT /operator/v1/networks/{network}/people/{person}.
type personRequest struct {
	Given              string            `json:"given"`
	Family             string            `json:"family"`
	Gender             string            `json:"gender"`
	BirthDate          string            `json:"birthDate"`
	Records            []accounts.Record `json:"records"`
	ShareAcrossNetwork bool              `json:"shareAcrossNetwork"`
}

// putPerson registers or replaces a person and their records.
func (h *portalHandlers) putPerson(c *gin.Context) {
	var req personRequest
	if !bindJSON(c, &req) {
		return
	}
	birth, err := tenants.ParseDate(req.BirthDate)
	if err != nil {
		WriteError(c, http.StatusBadRequest, "birthDate must be a date such as 1984-07-02")
		return
	}
	p := accounts.Person{
		ID: c.Param("person"), Network: c.Param("network"),
		Given: req.Given, Family: req.Family, Gender: req.Gender, BirthDate: birth,
		Records: req.Records, ShareAcrossNetwork: req.ShareAcrossNetwork,
	}
	switch err := h.Accounts.PutPerson(c.Request.Context(), p); {
	case errors.Is(err, accounts.ErrInvalid):
		WriteError(c, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, accounts.ErrConflict):
		WriteProblem(c, Problem{Type: problemType("record-held"), Status: http.StatusConflict, Title: "Record held by another person",
			Detail: err.Error() + "; a patient record belongs to one person: take it from the other person first"})
		return
	case err != nil:
		h.fail(c, "saving the person", err)
		return
	}
	e := audit.Event{Kind: audit.PersonRegistered, Network: p.Network, Operator: operatorActor, Subject: p.ID, Outcome: audit.Success}
	for _, r := range p.Records {
		e.Records = append(e.Records, audit.Record{Org: r.Org, Patient: r.Patient})
	}
	if !h.audit(c, e) {
		return
	}
	c.JSON(http.StatusOK, p)
}

// codeRequest is the body of POST /operator/v1/networks/{network}/activation-codes.
type codeRequest struct {
	Person string `json:"person"`
	Org    string `json:"org"`
	// Kind is "activation" (the default) or "invitation".
	Kind string `json:"kind"`
}

// CodeIssued is the answer of POST …/activation-codes: the one time the
// code can be seen.
type CodeIssued struct {
	Code    string    `json:"code"`
	Person  string    `json:"person"`
	Org     string    `json:"org"`
	Kind    string    `json:"kind"`
	Expires time.Time `json:"expires"`
}

func (h *portalHandlers) issueCode(c *gin.Context) {
	var req codeRequest
	if !bindJSON(c, &req) {
		return
	}
	kind := tenants.ActivationCode
	switch req.Kind {
	case "", "activation":
		req.Kind = "activation"
	case "invitation":
		kind = tenants.InvitationCode
	default:
		WriteError(c, http.StatusBadRequest, `kind must be "activation" or "invitation"`)
		return
	}
	ctx, network := c.Request.Context(), c.Param("network")
	code, expires, err := h.Accounts.IssueCode(ctx, network, req.Person, req.Org, kind)
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		WriteError(c, http.StatusNotFound, "no such person in this network")
		return
	case errors.Is(err, accounts.ErrInvalid):
		WriteError(c, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		h.fail(c, "issuing the code", err)
		return
	}
	// The event names the record the code is for, never the code.
	person, err := h.Accounts.Person(ctx, network, req.Person)
	if err != nil {
		h.fail(c, "reading the person", err)
		return
	}
	e := audit.Event{Kind: audit.CodeIssued, Network: network, Operator: operatorActor, Subject: req.Person, Outcome: audit.Success}
	if r, ok := person.Record(req.Org); ok {
		e.Records = []audit.Record{{Org: r.Org, Patient: r.Patient}}
	}
	if !h.audit(c, e) {
		return
	}
	c.JSON(http.StatusCreated, CodeIssued{Code: code, Person: req.Person, Org: req.Org, Kind: req.Kind, Expires: expires})
}
