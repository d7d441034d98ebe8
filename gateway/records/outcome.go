package records

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/access"
)

// Code says why an org's records are missing from a result.
type Code string

// The codes.
const (
	// CodeTimeout: the org did not answer within the search's deadline.
	CodeTimeout Code = "timeout"
	// CodeUnavailable: the org could not be reached or failed (5xx, connection lost), or
	// the gateway has no endpoint for it.
	CodeUnavailable Code = "unavailable"
	// CodeRateLimited: the org asked the gateway to slow down (429).
	CodeRateLimited Code = "rate-limited"
	// CodeCircuitOpen: the org failed repeatedly of late and is not being called for now.
	CodeCircuitOpen Code = "circuit-open"
	// CodeUnauthorized: the org did not accept the gateway's credentials, or none could be had.
	CodeUnauthorized Code = "unauthorized"
	// CodeRefused: the org (or its platform, as the adapter knows it) declined the search.
	CodeRefused Code = "refused"
	// CodeMalformed: the org answered with what cannot be read as FHIR.
	CodeMalformed Code = "malformed"
)

// OrgOutcome says that an org's records are missing from a result, in whole or in part.
type OrgOutcome struct {
	Org string
	// Name is the org's name, as Options.Orgs gives it ("" when it gives none).
	Name string
	Code Code
	// Partial says that the org's other records are in the result.
	Partial bool
	// Reason says what happened in words a patient understands, naming the org; it never
	// quotes the upstream.
	Reason string
}

// classify tells why a search of an org failed. The upstream's own words stay out of it:
// they may quote the query or be meaningless to a patient.
func classify(err error) Code {
	var (
		authErr *adapters.AuthError
		fhirErr *fhir.Error
	)
	switch {
	case errors.Is(err, adapters.ErrCircuitOpen):
		return CodeCircuitOpen
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, fhir.ErrRateLimited):
		return CodeRateLimited
	case errors.As(err, &authErr), errors.Is(err, fhir.ErrUnauthorized):
		return CodeUnauthorized
	case errors.Is(err, fhir.ErrMalformed), errors.Is(err, fhir.ErrCannotMerge):
		return CodeMalformed
	case errors.Is(err, adapters.ErrUnsupportedSearch), errors.Is(err, adapters.ErrNotSupported):
		return CodeRefused
	case errors.As(err, &fhirErr) && fhirErr.Status >= 400 && fhirErr.Status < 500:
		return CodeRefused
	}
	return CodeUnavailable
}

// reasons are the patient's words for each code; %s is the org's name.
var reasons = map[Code]string{
	CodeTimeout:      "%s took too long to answer, so your records from there are not shown. Please try again in a few minutes.",
	CodeUnavailable:  "%s could not be reached, so your records from there are not shown. Please try again later.",
	CodeRateLimited:  "%s is busy right now, so your records from there are not shown. Please try again in a few minutes.",
	CodeCircuitOpen:  "%s has been having problems, so your records from there are not shown for now. Please try again later.",
	CodeUnauthorized: "%s did not accept the connection to your records there, so they are not shown. If you linked that account yourself, linking it again may help.",
	CodeRefused:      "%s could not answer this request, so your records from there are not shown.",
	CodeMalformed:    "%s sent records that could not be read, so they are not shown.",
}

// partialReasons are the words for an org whose other records are shown.
var partialReasons = map[Code]string{
	CodeRefused:   "%s did not send all of the records asked for, so some may be missing here.",
	CodeMalformed: "Some records from %s could not be read, so they are not shown.",
}

// outcomeList gathers the outcomes of one search, once per org, code and extent.
type outcomeList struct {
	names func(org string) string // "" when the org has none
	list  []OrgOutcome
}

// add notes that an org's records are missing.
func (l *outcomeList) add(org string, code Code) { l.put(org, code, false, reasons[code]) }

// addPartial notes that some of an org's records are missing: the org left them out
// (CodeRefused) or they could not be read (CodeMalformed).
func (l *outcomeList) addPartial(org string, code Code) { l.put(org, code, true, partialReasons[code]) }

func (l *outcomeList) put(org string, code Code, partial bool, reason string) {
	if slices.ContainsFunc(l.list, func(o OrgOutcome) bool { return o.Org == org && o.Code == code && o.Partial == partial }) {
		return
	}
	name := l.names(org)
	l.list = append(l.list, OrgOutcome{Org: org, Name: name, Code: code, Partial: partial, Reason: fmt.Sprintf(reason, cmp.Or(name, org))})
}

// sorted returns the outcomes in the order of the records of their orgs.
func (l *outcomeList) sorted(records []access.Record) []OrgOutcome {
	rank := func(org string) int {
		if i := slices.IndexFunc(records, func(r access.Record) bool { return r.Org == org }); i >= 0 {
			return i
		}
		return len(records)
	}
	slices.SortStableFunc(l.list, func(a, b OrgOutcome) int { return cmp.Compare(rank(a.Org), rank(b.Org)) })
	return l.list
}
