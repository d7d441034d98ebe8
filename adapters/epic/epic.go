// Package epic owns the code of Epic's platform, for what its data
// (configs/platforms/epic.yaml) cannot say:
//
//   - Epic will not search Observations without a category or code (the
//     data's requireOneOf). A search with neither is fanned out over the
//     data's observationCategories, one upstream search each, and the
//     answers merged, dropping duplicates by id. A category the server
//     refuses becomes a warning in the result rather than failing the rest.
//   - Epic puts OperationOutcome warnings inside its searchsets, the same one
//     on every page and in every search of a fan-out. Each is handed back
//     once, in fhir.SearchResult.Outcomes.
//
// Importing the package registers it as the adapter "epic" (adapters.Register
// says why adapters register themselves); adapters/all imports every
// shipped one.
package epic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
)

func init() { adapters.Register("epic", quirks{}) }

// fanOutLimit bounds the searches of one fan-out in flight at once.
const fanOutLimit = 4

type quirks struct{}

func (quirks) Search(ctx context.Context, p fhir.Platform, typ string, params url.Values, next adapters.Searcher) (*fhir.SearchResult, error) {
	var res *fhir.SearchResult
	var err error
	if categories := fanOutCategories(p, typ, params); len(categories) > 0 {
		res, err = fanOut(ctx, typ, params, categories, next)
	} else {
		res, err = next(ctx, typ, params)
	}
	if err != nil {
		return nil, err
	}
	res.Outcomes = onceEach(res.Outcomes)
	return res, nil
}

// fanOutCategories returns the categories to search one by one: those of
// the data, when the search is an Observation search the data says needs a
// category and it carries none of the parameters that would do instead.
// Other searches the data refuses are left to be refused.
func fanOutCategories(p fhir.Platform, typ string, params url.Values) []string {
	oneOf := p.Search.RequireOneOf[typ]
	if typ != "Observation" || !slices.Contains(oneOf, "category") ||
		slices.ContainsFunc(oneOf, func(name string) bool { return adapters.HasParam(params, name) }) {
		return nil
	}
	return p.ObservationCategories
}

// fanOut runs one search per category and merges the answers. A category
// the server refuses (a 4xx other than 401 or 429, such as one the client
// may not read) becomes a warning in the result; when the server refuses
// them all, the search itself is at fault and its first refusal is the error.
func fanOut(ctx context.Context, typ string, params url.Values, categories []string, next adapters.Searcher) (*fhir.SearchResult, error) {
	parts := make([]*fhir.SearchResult, len(categories))
	refusals := make([]error, len(categories))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(fanOutLimit)
	for i, category := range categories {
		g.Go(func() error {
			q := maps.Clone(params)
			q.Set("category", category)
			res, err := next(ctx, typ, q)
			switch {
			case refused(err):
				refusals[i] = fmt.Errorf("category=%s: %w", category, err)
				res = &fhir.SearchResult{Outcomes: []fhir.OperationOutcome{{
					ResourceType: "OperationOutcome",
					Issue: []fhir.OutcomeIssue{{Severity: fhir.SeverityWarning, Code: "incomplete",
						Diagnostics: fmt.Sprintf("%s search with category=%s was refused (%s)", typ, category, refusal(err))}},
				}}}
			case err != nil:
				return fmt.Errorf("category=%s: %w", category, err)
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
	return merge(parts)
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

// merge puts the answers of a fan-out together: matches and includes
// without duplicates (by resource type and id), every outcome. Total is left
// unset, since no server counted the union.
func merge(parts []*fhir.SearchResult) (*fhir.SearchResult, error) {
	out := &fhir.SearchResult{}
	seen := map[string]bool{}
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
		out.Outcomes = append(out.Outcomes, p.Outcomes...)
		for _, e := range p.Matches {
			if err := add(&out.Matches, e); err != nil {
				return nil, err
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

// onceEach drops the repeats of outcomes, keeping the first of each in its
// place.
func onceEach(outcomes []fhir.OperationOutcome) []fhir.OperationOutcome {
	seen := make(map[string]bool, len(outcomes))
	kept := outcomes[:0]
	for _, o := range outcomes {
		key, _ := json.Marshal(o) // a struct of strings always marshals
		if !seen[string(key)] {
			seen[string(key)] = true
			kept = append(kept, o)
		}
	}
	return kept
}
