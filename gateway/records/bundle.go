package records

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/portalgate/portalgate/fhir"
)

// OutcomeCodeSystem is the code system of the Code in an org's OperationOutcome
// (issue.details.coding).
const OutcomeCodeSystem = "https://portalgate.dev/fhir/CodeSystem/org-outcome"

// Bundle writes a result as a FHIR searchset: every entry (search.mode match or include)
// with its fullUrl at base, and one OperationOutcome (search.mode outcome) per org whose
// records are missing. Each such outcome carries the org's source tag, as the org's own
// resources do, and says why in issue.details (Code as a coding, Reason as text).
//
// Entries keep their orgs' ids, so two orgs using one id for different things give two
// entries with one fullUrl; a caller serving the result as one server rewrites ids first.
func Bundle(base string, r *Result) ([]byte, error) {
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("records: bundle: base %q is not an absolute FHIR base URL", base)
	}
	base = strings.TrimSuffix(base, "/")
	total := len(r.Entries)
	b := fhir.Bundle{ResourceType: "Bundle", Type: fhir.BundleSearchset, Total: &total,
		Entry: make([]fhir.BundleEntry, 0, len(r.Entries)+len(r.Includes)+len(r.Outcomes))}
	for _, part := range []struct {
		entries []fhir.Merged
		mode    string
	}{{r.Entries, "match"}, {r.Includes, "include"}} {
		for _, e := range part.entries {
			entry := fhir.BundleEntry{Resource: e.Resource, Search: &fhir.EntrySearch{Mode: part.mode}}
			if id := e.Sources[0].ID; id != "" {
				entry.FullURL = base + "/" + e.Type + "/" + id
			}
			b.Entry = append(b.Entry, entry)
		}
	}
	for _, o := range r.Outcomes {
		raw, err := outcomeResource(o)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: raw, Search: &fhir.EntrySearch{Mode: "outcome"}})
	}
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("records: bundle: %w", err)
	}
	return out, nil
}

// orgOutcome is the OperationOutcome naming an org whose records are missing.
type orgOutcome struct {
	ResourceType string            `json:"resourceType"`
	Meta         orgOutcomeMeta    `json:"meta"`
	Issue        []orgOutcomeIssue `json:"issue"`
}

type orgOutcomeMeta struct {
	Tag []fhir.Coding `json:"tag"`
}

type orgOutcomeIssue struct {
	Severity string            `json:"severity"`
	Code     string            `json:"code"`
	Details  fhir.IssueDetails `json:"details"`
}

func outcomeResource(o OrgOutcome) (json.RawMessage, error) {
	raw, err := json.Marshal(orgOutcome{
		ResourceType: "OperationOutcome",
		Meta: orgOutcomeMeta{
			Tag: []fhir.Coding{{System: fhir.SourceOrgTagSystem, Code: o.Org, Display: o.Name}},
		},
		// The search as a whole succeeded; what the issue says is that its result is
		// incomplete, and details say why.
		Issue: []orgOutcomeIssue{{
			Severity: fhir.SeverityWarning,
			Code:     "incomplete",
			Details: fhir.IssueDetails{
				Coding: []fhir.Coding{{System: OutcomeCodeSystem, Code: string(o.Code)}},
				Text:   o.Reason,
			},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("records: bundle: outcome of %s: %w", o.Org, err)
	}
	return raw, nil
}
