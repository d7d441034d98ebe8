package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/records"
)

// RecordSearcher reads a person's records across orgs (gateway/records).
type RecordSearcher interface {
	Search(ctx context.Context, q records.Query) (*records.Result, error)
}

// AccessDecider makes the one access decision of every record request (gateway/access).
type AccessDecider interface {
	Decide(ctx context.Context, req access.Request) (access.Decision, error)
}

// recordAccess is one request for the caller's own records, as the portal API and the FHIR
// face make it.
type recordAccess struct {
	purpose     access.Purpose
	interaction access.Interaction
	// typ is the resource type asked for; "" for the whole record (a summary, $everything).
	typ    string
	params url.Values
	// operation names a FHIR operation ("everything", "summary"), audited as such.
	operation string
	// resourceID is the id read, for a read.
	resourceID string
}

// decide makes the access decision for the caller's request. When the request is refused it
// audits the refusal, answers, and returns false.
func (h *portalHandlers) decide(c *gin.Context, ra recordAccess) (access.Decision, RecordSearcher, bool) {
	ctx := c.Request.Context()
	who := callerOf(c)
	acct := who.account
	searcher, ok := h.Records(acct.Network)
	if !ok {
		WriteError(c, http.StatusNotFound, "this network has no health records to read")
		return access.Decision{}, nil, false
	}
	visible, err := h.Accounts.Visible(ctx, acct)
	if err != nil {
		h.fail(c, "reading the account's records", err)
		return access.Decision{}, nil, false
	}
	actor := access.Actor{Network: acct.Network, Account: acct.ID, Person: acct.Person}
	for _, r := range visible {
		actor.Records = append(actor.Records, access.Record{Org: r.Org, Patient: r.Patient})
	}
	dec, err := h.Access.Decide(ctx, access.Request{
		Actor: actor, Subject: acct.Person, Purpose: ra.purpose, Interaction: ra.interaction,
		ResourceType: ra.typ, Params: ra.params,
	})
	if err != nil {
		h.fail(c, "deciding access", err)
		return access.Decision{}, nil, false
	}
	if !dec.Allowed {
		if h.auditAccess(c, ra, dec, audit.MinorFailure, dec.Reason) {
			WriteError(c, dec.Status, dec.Reason)
		}
		return dec, nil, false
	}
	return dec, searcher, true
}

// search runs one search under a decision. A refusal or a query the record service cannot
// run is answered here, and search returns false.
func (h *portalHandlers) search(c *gin.Context, searcher RecordSearcher, dec access.Decision, typ string, params url.Values) (*records.Result, bool) {
	res, err := searcher.Search(c.Request.Context(), records.Query{
		Decision: dec, Person: callerOf(c).account.Person, Type: typ, Params: params,
	})
	switch {
	case err == nil:
		return res, true
	case errors.Is(err, records.ErrInvalidQuery):
		WriteError(c, http.StatusBadRequest, "this search cannot be run: "+typ+" with these parameters")
	case errors.Is(err, records.ErrNotAllowed):
		WriteError(c, http.StatusForbidden, "you cannot see these records here")
	case errors.Is(err, context.Canceled):
		c.Abort() // the client has gone
	default:
		h.fail(c, "reading the records", err)
	}
	return nil, false
}

// auditAccess records an access to the caller's records. It answers 503 and returns false when
// the event cannot be written: the caller must then not hand out what was read.
func (h *portalHandlers) auditAccess(c *gin.Context, ra recordAccess, dec access.Decision, outcome audit.Outcome, detail string) bool {
	who := callerOf(c)
	e := audit.Event{
		Kind: audit.RecordSearch, Network: who.account.Network, Account: who.account.ID,
		Person: who.account.Person, Subject: dec.Audit.Subject, Client: dec.Audit.Client,
		ResourceType: ra.typ, ResourceID: ra.resourceID, Outcome: outcome,
		SearchParams: paramNames(ra.params),
	}
	if outcome != audit.Success {
		e.Detail = detail
	}
	switch {
	case ra.interaction == access.Read:
		e.Kind, e.Interaction, e.SearchParams = audit.RecordRead, "read", nil
	case ra.operation != "":
		e.Interaction, e.Operation = "operation", ra.operation
	case ra.typ == "":
		e.Interaction = "search-system"
	}
	records := dec.Audit.Records
	if len(records) == 0 {
		records = dec.Records
	}
	for _, r := range records {
		e.Records = append(e.Records, audit.Record{Org: r.Org, Patient: r.Patient})
	}
	return h.audit(c, e)
}

// maxAuditedParams bounds the parameter names one audit event lists.
const maxAuditedParams = 64

// paramNames are the names of the search parameters used, never their values; names that
// cannot be a parameter's are left out (the request is refused for them anyway).
func paramNames(params url.Values) []string {
	names := make([]string, 0, len(params))
	for k := range params {
		if audit.ValidSearchParamName(k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names[:min(len(names), maxAuditedParams)]
}
