package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/portalgate/portalgate/fhir"
)

// requiredDefaults are values for parameters a platform requires
// (Platform.Search.RequireAll) that the adapter adds when a search lacks
// them. Each is every code of the element's required value set, so adding it
// changes nothing about what the search finds.
var requiredDefaults = map[string]map[string]string{
	"MedicationRequest": {
		// FHIR R4 MedicationRequest.intent, required binding to
		// http://hl7.org/fhir/ValueSet/medicationrequest-intent.
		"intent": "proposal,plan,order,original-order,reflex-order,filler-order,instance-order,option",
	},
}

// lastUpdated is the parameter the adapter can apply itself when a platform
// will not combine it with another: every resource carries meta.lastUpdated.
const lastUpdated = "_lastUpdated"

// fanOutLimit bounds the searches of one fan-out in flight at once.
const fanOutLimit = 4

// Search runs GET [base]/typ?params and follows every page, reshaping the
// search as the platform's quirks require (see the package doc). On error the
// result is nil: part of a record is never handed on as the whole of it.
func (a *Adapter) Search(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error) {
	plan, err := planSearch(a.platform, typ, params)
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: search %s: %w", a.name, typ, err)
	}
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	var res *fhir.SearchResult
	if len(plan.fanOut) == 0 {
		res, err = a.searchOnce(ctx, typ, plan.query)
	} else {
		res, err = a.searchFanOut(ctx, typ, plan)
	}
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: search %s: %w", a.name, typ, err)
	}
	if len(plan.lastUpdated) > 0 {
		if err := filterLastUpdated(res, plan.lastUpdated); err != nil {
			return nil, fmt.Errorf("adapters: %s: search %s: %w", a.name, typ, err)
		}
	}
	return res, nil
}

func (a *Adapter) searchOnce(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error) {
	var res *fhir.SearchResult
	err := a.call(ctx, true, func(ctx context.Context) error {
		var err error
		res, err = a.client.Search(ctx, typ, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// searchFanOut runs one search per value of the fan-out parameter and
// merges the answers. A value the server refuses (a 4xx other than 401 or
// 429, such as a category the client may not read) becomes a warning in the
// result rather than failing the rest; when the server refuses them all, the
// search itself is at fault and its first refusal is the error.
func (a *Adapter) searchFanOut(ctx context.Context, typ string, plan *searchPlan) (*fhir.SearchResult, error) {
	parts := make([]*fhir.SearchResult, len(plan.fanOut))
	refusals := make([]error, len(plan.fanOut))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(fanOutLimit)
	for i, value := range plan.fanOut {
		g.Go(func() error {
			q := cloneValues(plan.query)
			q.Set(plan.fanOutParam, value)
			res, err := a.searchOnce(ctx, typ, q)
			switch {
			case refused(err):
				refusals[i] = fmt.Errorf("%s=%s: %w", plan.fanOutParam, value, err)
				diag := fmt.Sprintf("%s search with %s=%s was refused (%s)", typ, plan.fanOutParam, value, refusal(err))
				res = &fhir.SearchResult{Outcomes: []fhir.OperationOutcome{{
					ResourceType: "OperationOutcome",
					Issue:        []fhir.OutcomeIssue{{Severity: fhir.SeverityWarning, Code: "incomplete", Diagnostics: diag}},
				}}}
			case err != nil:
				return fmt.Errorf("%s=%s: %w", plan.fanOutParam, value, err)
			}
			parts[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !slices.Contains(refusals, nil) {
		return nil, refusals[0]
	}
	return mergeResults(parts)
}

// refused reports an answer that says the upstream understood and declined
// the request, as opposed to failing.
func refused(err error) bool {
	var fe *fhir.Error
	return errors.As(err, &fe) && fe.Status >= 400 && fe.Status < 500 &&
		fe.Status != 401 && fe.Status != 429
}

// refusal names the status of a refusal; upstream diagnostics stay out, as
// they may quote the query.
func refusal(err error) string {
	var fe *fhir.Error
	if !errors.As(err, &fe) {
		return "error"
	}
	return "HTTP " + strconv.Itoa(fe.Status)
}

// mergeResults puts the answers of a fan-out together: matches and includes
// without duplicates (by resource type and id), identical outcomes once.
// Total is left unset, since no server counted the union.
func mergeResults(parts []*fhir.SearchResult) (*fhir.SearchResult, error) {
	out := &fhir.SearchResult{}
	seen := map[string]bool{}
	seenOutcome := map[string]bool{}
	add := func(dst *[]fhir.BundleEntry, e fhir.BundleEntry) error {
		h, err := fhir.ReadHeader(e.Resource)
		if err != nil {
			return fmt.Errorf("%w: %w", fhir.ErrMalformed, err)
		}
		key := h.Ref()
		if h.ID == "" {
			key = e.FullURL
		}
		if key != "" && seen[key] {
			return nil
		}
		seen[key] = true
		*dst = append(*dst, e)
		return nil
	}
	for _, p := range parts {
		out.Pages += p.Pages
		for _, e := range p.Matches {
			if err := add(&out.Matches, e); err != nil {
				return nil, err
			}
		}
		for _, o := range p.Outcomes {
			key, _ := json.Marshal(o) // a struct of strings always marshals
			if !seenOutcome[string(key)] {
				seenOutcome[string(key)] = true
				out.Outcomes = append(out.Outcomes, o)
			}
		}
	}
	// Includes come after every match, so that a resource found as a match
	// by one search and included by another stays a match.
	for _, p := range parts {
		for _, e := range p.Includes {
			if err := add(&out.Includes, e); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// searchPlan is a search reshaped for a platform.
type searchPlan struct {
	query url.Values
	// fanOut, when set, lists the values of fanOutParam to search with one
	// by one instead of sending query alone.
	fanOutParam string
	fanOut      []string
	// lastUpdated holds _lastUpdated values the adapter applies itself:
	// every value must hold, and any alternative of a value will do.
	lastUpdated [][]fhir.DateParam
}

// planSearch reshapes a search so that the platform accepts it, or says why
// it cannot. Quirks are read from the platform; the only knowledge here is
// what the data cannot hold: the default values of required parameters, that
// Observation categories can be searched one by one, and that _lastUpdated
// can be applied after the fact.
func planSearch(p fhir.Platform, typ string, params url.Values) (*searchPlan, error) {
	q := cloneValues(params)
	if err := capCount(p, q); err != nil {
		return nil, err
	}
	for _, key := range []string{typ, "*"} {
		for _, name := range p.Search.RequireAll[key] {
			if hasParam(q, name) {
				continue
			}
			value, ok := requiredDefaults[typ][name]
			if !ok {
				return nil, unsupported("%s search requires the %s parameter", typ, name)
			}
			q.Set(name, value)
		}
	}
	plan := &searchPlan{query: q}
	for _, pair := range p.Search.Exclusive {
		if !hasParam(q, pair[0]) || !hasParam(q, pair[1]) {
			continue
		}
		if !slices.Contains(pair, lastUpdated) {
			return nil, unsupported("%s search cannot combine %s with %s", typ, pair[0], pair[1])
		}
		filters, err := takeLastUpdated(q)
		if err != nil {
			return nil, err
		}
		plan.lastUpdated = filters
	}
	if oneOf := p.Search.RequireOneOf[typ]; len(oneOf) > 0 && !slices.ContainsFunc(oneOf, func(n string) bool { return hasParam(q, n) }) {
		if typ != "Observation" || !slices.Contains(oneOf, "category") || len(p.ObservationCategories) == 0 {
			return nil, unsupported("%s search requires one of these parameters: %s", typ, strings.Join(oneOf, ", "))
		}
		plan.fanOutParam, plan.fanOut = "category", p.ObservationCategories
	}
	// Whatever else the platform refuses, refuse here rather than upstream.
	names := paramNames(q)
	if plan.fanOutParam != "" {
		names = append(names, plan.fanOutParam)
	}
	if err := p.CheckSearch(typ, names); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedSearch, err)
	}
	return plan, nil
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedSearch, fmt.Sprintf(format, args...))
}

// capCount lowers _count to the platform's cap. _count=0 (only the total)
// is left alone.
func capCount(p fhir.Platform, q url.Values) error {
	values, ok := q["_count"]
	if !ok {
		return nil
	}
	if len(values) != 1 {
		return fmt.Errorf("%w: _count given %d times", fhir.ErrBadParam, len(values))
	}
	n, err := strconv.Atoi(values[0])
	if err != nil || n < 0 {
		return fmt.Errorf("%w: _count %q is not a count", fhir.ErrBadParam, values[0])
	}
	if n > 0 {
		q.Set("_count", strconv.Itoa(p.PageSize(n)))
	}
	return nil
}

// takeLastUpdated removes _lastUpdated from q and returns its values parsed.
func takeLastUpdated(q url.Values) ([][]fhir.DateParam, error) {
	var filters [][]fhir.DateParam
	for key, values := range q {
		name, modifier := fhir.ParamName(key)
		if name != lastUpdated {
			continue
		}
		if modifier != "" {
			return nil, unsupported("%s cannot be applied by the gateway", key)
		}
		for _, v := range values {
			var alternatives []fhir.DateParam
			for _, s := range fhir.SplitOR(v) {
				d, err := fhir.ParseDate(s)
				if err != nil {
					return nil, err
				}
				alternatives = append(alternatives, d)
			}
			filters = append(filters, alternatives)
		}
	}
	q.Del(lastUpdated)
	return filters, nil
}

// filterLastUpdated keeps the matches whose meta.lastUpdated satisfies
// every filter. A resource without one cannot satisfy any.
func filterLastUpdated(res *fhir.SearchResult, filters [][]fhir.DateParam) error {
	kept := res.Matches[:0]
	for _, e := range res.Matches {
		h, err := fhir.ReadHeader(e.Resource)
		if err != nil {
			return fmt.Errorf("%w: %w", fhir.ErrMalformed, err)
		}
		if h.Meta != nil && h.Meta.LastUpdated != "" && matchesAll(h.Meta.LastUpdated, filters) {
			kept = append(kept, e)
		}
	}
	res.Matches = kept
	res.Total = nil // the server counted before the filter
	return nil
}

func matchesAll(instant string, filters [][]fhir.DateParam) bool {
	start, end, err := fhir.ParseDateTime(instant)
	if err != nil {
		return false
	}
	for _, alternatives := range filters {
		if !slices.ContainsFunc(alternatives, func(d fhir.DateParam) bool { return d.Matches(start, end) }) {
			return false
		}
	}
	return true
}

// hasParam reports whether q carries the parameter, with or without a modifier.
func hasParam(q url.Values, name string) bool {
	for key := range q {
		if n, _ := fhir.ParamName(key); n == name {
			return true
		}
	}
	return false
}

// paramNames lists the parameter names of q without their modifiers.
func paramNames(q url.Values) []string {
	names := make([]string, 0, len(q))
	for key := range q {
		n, _ := fhir.ParamName(key)
		names = append(names, n)
	}
	return names
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
