package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/session"
)

// problemType names a kind of problem of the portal API.
func problemType(name string) string { return "urn:portalgate:problem:" + name }

// Me is the answer of GET /api/v1/me: who is signed in, the records they
// can see and the people they may act for.
type Me struct {
	Network  string      `json:"network"`
	Enrolled bool        `json:"enrolled"`
	Account  *MeAccount  `json:"account,omitempty"`
	Person   *MePerson   `json:"person,omitempty"`
	Records  []MeRecord  `json:"records"`
	ActsFor  []MeActsFor `json:"actsFor"`
	Consent  *MeConsent  `json:"consent,omitempty"`
	// Next says what a login that is not enrolled yet does next.
	Next string `json:"next,omitempty"`
}

// MeAccount is the signed-in account.
type MeAccount struct {
	ID      string    `json:"id"`
	HomeOrg string    `json:"homeOrg"`
	Created time.Time `json:"created"`
}

// MePerson is the person behind the account.
type MePerson struct {
	ID        string `json:"id"`
	Given     string `json:"given"`
	Family    string `json:"family"`
	BirthDate string `json:"birthDate"`
}

// MeRecord is a record the account can see.
type MeRecord struct {
	Org     string `json:"org"`
	OrgName string `json:"orgName"`
	Patient string `json:"patient"`
}

// MeActsFor is a person the account's person may act for.
type MeActsFor struct {
	Person       string `json:"person"`
	Name         string `json:"name"`
	Relationship string `json:"relationship"`
}

// MeConsent is the person's choice to share across the network.
type MeConsent struct {
	ShareAcrossNetwork bool `json:"shareAcrossNetwork"`
}

func (h *portalHandlers) me(c *gin.Context) {
	me, err := h.describe(c, callerOf(c))
	if err != nil {
		h.fail(c, "describing the account", err)
		return
	}
	c.JSON(http.StatusOK, me)
}

// describe builds the Me of a caller; what it shows is computed from the
// person's consent now, so a change of consent shows at once.
func (h *portalHandlers) describe(c *gin.Context, who *caller) (*Me, error) {
	ctx := c.Request.Context()
	me := &Me{Network: who.session.Network, Records: []MeRecord{}, ActsFor: []MeActsFor{}}
	if who.account == nil {
		me.Next = "POST your activation code to " + APIPrefix + "/enrollment"
		return me, nil
	}
	acct := who.account
	me.Enrolled = true
	me.Account = &MeAccount{ID: acct.ID, HomeOrg: acct.HomeOrg, Created: acct.Created}
	person, err := h.Accounts.Person(ctx, acct.Network, acct.Person)
	if err != nil {
		return nil, err
	}
	me.Person = &MePerson{ID: person.ID, Given: person.Given, Family: person.Family, BirthDate: person.BirthDate.String()}
	records, err := h.Accounts.Visible(ctx, acct)
	if err != nil {
		return nil, err
	}
	network, _ := h.Networks(acct.Network)
	for _, r := range records {
		rec := MeRecord{Org: r.Org, Patient: r.Patient}
		if network != nil {
			if org, ok := network.Org(r.Org); ok {
				rec.OrgName = org.Name
			}
		}
		me.Records = append(me.Records, rec)
	}
	grants, err := h.Accounts.ActsFor(ctx, acct.Network, acct.Person)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		entry := MeActsFor{Person: g.Subject, Relationship: string(g.Relationship)}
		if p, err := h.Accounts.Person(ctx, acct.Network, g.Subject); err == nil {
			entry.Name = p.Given + " " + p.Family
		}
		me.ActsFor = append(me.ActsFor, entry)
	}
	consent, err := h.Accounts.Consent(ctx, acct.Network, acct.Person)
	if err != nil {
		return nil, err
	}
	me.Consent = &MeConsent{ShareAcrossNetwork: consent.Share}
	return me, nil
}

// enrollmentRequest is the body of POST /api/v1/enrollment.
type enrollmentRequest struct {
	Code string `json:"code"`
}

// enroll ties the signed-in login to a person with a one-time code.
func (h *portalHandlers) enroll(c *gin.Context) {
	ctx := c.Request.Context()
	who := callerOf(c)
	var req enrollmentRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.Code == "" {
		WriteError(c, http.StatusBadRequest, `the body must carry the activation code: {"code": "XXXXX-XXXXX-XXXXX"}`)
		return
	}
	acct, err := h.Accounts.Redeem(ctx, accounts.Redemption{
		Network: who.session.Network, Issuer: who.session.Issuer, Subject: who.session.Subject,
		Code: req.Code, ClientIP: c.ClientIP(),
	})
	// A login not enrolled yet is named by the account id it would have, so
	// operators see which login guessed.
	event := audit.Event{Kind: audit.CodeRejected, Network: who.session.Network, Outcome: audit.MinorFailure,
		Account: accounts.AccountID(who.session.Network, who.session.Issuer, who.session.Subject)}
	if who.account != nil {
		event.Account, event.Person = who.account.ID, who.account.Person
	}
	var locked *accounts.LockedError
	switch {
	case err == nil:
		event = audit.Event{Kind: audit.CodeRedeemed, Network: acct.Network, Account: acct.ID, Person: acct.Person, Outcome: audit.Success}
	case errors.As(err, &locked):
		event.Detail = "locked out after repeated wrong codes"
		if !h.audit(c, event) {
			return
		}
		c.Header("Retry-After", strconv.Itoa(max(1, int(locked.Until.Sub(h.now()).Seconds()+0.5))))
		WriteProblem(c, Problem{Type: problemType("locked"), Status: http.StatusTooManyRequests, Title: "Too many attempts",
			Detail: "too many wrong codes: enrollment is locked until " + locked.Until.UTC().Format(time.RFC3339)})
		return
	case errors.Is(err, accounts.ErrCodeRejected):
		event.Detail = "activation code rejected"
		if !h.audit(c, event) {
			return
		}
		WriteProblem(c, Problem{Type: problemType("code-rejected"), Status: http.StatusBadRequest, Title: "Code not accepted",
			Detail: "this code cannot be used: check it, or ask your clinic for a new one"})
		return
	case errors.Is(err, accounts.ErrTooYoung):
		event.Detail = "below the minimum age"
		if !h.audit(c, event) {
			return
		}
		WriteProblem(c, Problem{Type: problemType("too-young"), Status: http.StatusForbidden, Title: "Too young to sign up",
			Detail: "you must be old enough under this network's policy to have your own account; a parent or guardian can act for you"})
		return
	case errors.Is(err, accounts.ErrAlreadyEnrolled):
		WriteProblem(c, Problem{Type: problemType("already-enrolled"), Status: http.StatusConflict, Title: "Already enrolled",
			Detail: "this login is already tied to a patient record"})
		return
	default:
		h.fail(c, "redeeming the code", err)
		return
	}
	if err := h.bindEnrolled(c, who, acct); err != nil {
		h.fail(c, "binding the session", err)
		return
	}
	if !h.audit(c, event) {
		return
	}
	who.account = acct
	me, err := h.describe(c, who)
	if err != nil {
		h.fail(c, "describing the account", err)
		return
	}
	c.JSON(http.StatusOK, me)
}

// bindEnrolled ties the caller's session to the account it just enrolled.
// A browser's session gets a new token, as at any change of privilege; an
// app's Bearer token keeps working, since the app could not learn a new one.
func (h *portalHandlers) bindEnrolled(c *gin.Context, who *caller, acct *accounts.Account) error {
	ctx := c.Request.Context()
	if !who.fromCookie {
		return h.Sessions.Bind(ctx, who.token, acct.ID)
	}
	s := who.session
	token, _, err := h.Sessions.Rotate(ctx, who.token, session.Data{
		Network: s.Network, Account: acct.ID, Issuer: s.Issuer, Subject: s.Subject, IDTokenHint: s.IDTokenHint,
	})
	if err != nil {
		return err
	}
	who.token = token
	http.SetCookie(c.Writer, session.Cookie(token, h.secure, 0))
	return nil
}

// ConsentView is the answer of /api/v1/consents.
type ConsentView struct {
	ShareAcrossNetwork bool            `json:"shareAcrossNetwork"`
	Updated            *time.Time      `json:"updated,omitempty"`
	Consent            json.RawMessage `json:"consent,omitempty"`
}

func consentView(s *accounts.ConsentState) ConsentView {
	v := ConsentView{ShareAcrossNetwork: s.Share, Consent: s.Resource}
	if !s.Updated.IsZero() {
		v.Updated = &s.Updated
	}
	return v
}

func (h *portalHandlers) consents(c *gin.Context) {
	acct := callerOf(c).account
	state, err := h.Accounts.Consent(c.Request.Context(), acct.Network, acct.Person)
	if err != nil {
		h.fail(c, "reading the consent", err)
		return
	}
	c.JSON(http.StatusOK, consentView(state))
}

// consentRequest is the body of PUT /api/v1/consents.
type consentRequest struct {
	ShareAcrossNetwork *bool `json:"shareAcrossNetwork"`
}

// putConsents records the person's choice; it takes effect at once.
func (h *portalHandlers) putConsents(c *gin.Context) {
	acct := callerOf(c).account
	var req consentRequest
	if !bindJSON(c, &req) {
		return
	}
	if req.ShareAcrossNetwork == nil {
		WriteError(c, http.StatusBadRequest, `the body must say whether to share across the network: {"shareAcrossNetwork": true}`)
		return
	}
	state, err := h.Accounts.SetConsent(c.Request.Context(), acct.Network, acct.Person, *req.ShareAcrossNetwork, acct.Person)
	if err != nil {
		h.fail(c, "recording the consent", err)
		return
	}
	if !h.audit(c, audit.Event{Kind: audit.ConsentChanged, Network: acct.Network, Account: acct.ID, Person: acct.Person, Outcome: audit.Success}) {
		return
	}
	c.JSON(http.StatusOK, consentView(state))
}

// ConsentHistoryView is the answer of GET /api/v1/consents/history: every
// choice the person has recorded, newest first.
type ConsentHistoryView struct {
	Entries []ConsentChoice `json:"entries"`
}

// ConsentChoice is one recorded choice to share across the network.
type ConsentChoice struct {
	ShareAcrossNetwork bool      `json:"shareAcrossNetwork"`
	When               time.Time `json:"when"`
	// By is the person who chose: the person themselves, or someone acting
	// for them.
	By string `json:"by"`
	// Current is true for the choice in force; the others were replaced.
	Current bool            `json:"current"`
	Consent json.RawMessage `json:"consent"`
}

func (h *portalHandlers) consentHistory(c *gin.Context) {
	acct := callerOf(c).account
	history, err := h.Accounts.ConsentHistory(c.Request.Context(), acct.Network, acct.Person)
	if err != nil {
		h.fail(c, "reading the consent history", err)
		return
	}
	view := ConsentHistoryView{Entries: make([]ConsentChoice, len(history))}
	for i, s := range history {
		view.Entries[i] = ConsentChoice{ShareAcrossNetwork: s.Share, When: s.Updated, By: s.By, Current: i == 0, Consent: s.Resource}
	}
	c.JSON(http.StatusOK, view)
}

// AuditView is the answer of GET /api/v1/audit: who accessed the person's
// record, when, and from which app.
type AuditView struct {
	Entries []audit.Summary `json:"entries"`
	Next    string          `json:"next,omitempty"`
}

func (h *portalHandlers) auditLog(c *gin.Context) {
	acct := callerOf(c).account
	keep, err := h.auditScope(c, acct)
	if err != nil {
		h.fail(c, "reading the consent", err)
		return
	}
	entries, next, ok := h.auditPage(c, func(page audit.Page) ([]audit.Entry, string, error) {
		return h.Audit.ForPerson(c.Request.Context(), acct.Network, acct.Person, page)
	})
	if !ok {
		return
	}
	view := AuditView{Entries: make([]audit.Summary, 0, len(entries)), Next: next}
	for _, e := range entries {
		if keep == nil || keep(e.Summary) {
			view.Entries = append(view.Entries, e.Summary)
		}
	}
	c.JSON(http.StatusOK, view)
}

// auditScope says which events of the person's log an account may see. An
// account that sees all of the person's records sees every event. When the
// person has declined to share across the network, each account sees only
// its own events, access to the records it can see, and consent changes
// (the person's own choice): nothing of the other accounts crosses over.
func (h *portalHandlers) auditScope(c *gin.Context, acct *accounts.Account) (func(audit.Summary) bool, error) {
	ctx := c.Request.Context()
	consent, err := h.Accounts.Consent(ctx, acct.Network, acct.Person)
	if err != nil {
		return nil, err
	}
	if network, ok := h.Networks(acct.Network); ok && network.AccountModel.OneAccount(consent.Share) {
		return nil, nil
	}
	records, err := h.Accounts.Visible(ctx, acct)
	if err != nil {
		return nil, err
	}
	visible := map[string]bool{}
	for _, r := range records {
		visible[r.Org] = true
	}
	return func(e audit.Summary) bool {
		return e.Account == acct.ID || e.Kind == audit.ConsentChanged || (e.Org != "" && visible[e.Org])
	}, nil
}

// OperatorAuditView is the answer of GET /operator/v1/networks/{network}/audit.
type OperatorAuditView struct {
	Entries []OperatorAuditEntry `json:"entries"`
	Next    string               `json:"next,omitempty"`
}

// OperatorAuditEntry is an event as an operator reads it: what a patient
// sees of it, and why it failed, where the request came from and which
// request it was. Patients never see the details.
type OperatorAuditEntry struct {
	ID string `json:"id"`
	audit.Summary
	audit.Details
}

// networkAudit shows operators every event of a network, including those
// of logins not tied to anyone yet (failed sign-ins, wrong codes).
func (h *portalHandlers) networkAudit(c *gin.Context) {
	entries, next, ok := h.auditPage(c, func(page audit.Page) ([]audit.Entry, string, error) {
		return h.Audit.Network(c.Request.Context(), c.Param("network"), page)
	})
	if !ok {
		return
	}
	view := OperatorAuditView{Entries: make([]OperatorAuditEntry, len(entries)), Next: next}
	for i, e := range entries {
		view.Entries[i] = OperatorAuditEntry{ID: e.ID, Summary: e.Summary, Details: e.Details}
	}
	c.JSON(http.StatusOK, view)
}

// auditPage reads the page of audit events the query asks for (after,
// limit) with list, or answers the error and reports false. A page
// filtered afterwards may be short; next still leads on.
func (h *portalHandlers) auditPage(c *gin.Context, list func(audit.Page) ([]audit.Entry, string, error)) ([]audit.Entry, string, bool) {
	page := audit.Page{After: c.Query("after")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > audit.MaxPageLimit {
			WriteError(c, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(audit.MaxPageLimit))
			return nil, "", false
		}
		page.Limit = n
	}
	entries, next, err := list(page)
	if errors.Is(err, audit.ErrInvalid) {
		WriteError(c, http.StatusBadRequest, "after must be a cursor from a previous page")
		return nil, "", false
	}
	if err != nil {
		h.fail(c, "reading the audit log", err)
		return nil, "", false
	}
	return entries, next, true
}

// maxJSONBody bounds portal API request bodies.
const maxJSONBody = 64 << 10

// bindJSON decodes one JSON object with no unknown fields, or answers 400
// and reports false.
func bindJSON(c *gin.Context, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(c, http.StatusBadRequest, "the body must be one JSON object: "+err.Error())
		return false
	}
	if dec.More() {
		WriteError(c, http.StatusBadRequest, "the body must be one JSON object")
		return false
	}
	return true
}
