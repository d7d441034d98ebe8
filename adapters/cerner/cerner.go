// Package cerner owns the code of Oracle Health's platform (Cerner
// Millennium), for what its data (configs/platforms/cerner.yaml) cannot say:
// a search that combines _lastUpdated with a parameter the data says it may
// not be combined with (date, under exclusive) is sent without _lastUpdated,
// which is then applied here to what comes back, since every resource
// carries meta.lastUpdated. Any other pair the data makes exclusive is
// refused by package adapters, as are searches without a patient, and the
// _count cap is applied there too: those are data.
//
// Importing the package registers it as the adapter "cerner" (adapters.Register
// says why adapters register themselves); adapters/all imports every
// shipped one.
package cerner

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
)

func init() { adapters.Register("cerner", quirks{}) }

// lastUpdated is the parameter applied here when the platform will not
// combine it with another.
const lastUpdated = "_lastUpdated"

type quirks struct{}

func (quirks) Search(ctx context.Context, p fhir.Platform, typ string, params url.Values, next adapters.Searcher) (*fhir.SearchResult, error) {
	if !combinesLastUpdated(p, params) {
		return next(ctx, typ, params)
	}
	filters, err := takeLastUpdated(params)
	if err != nil {
		return nil, err
	}
	res, err := next(ctx, typ, params)
	if err != nil {
		return nil, err
	}
	if err := keepLastUpdated(res, filters); err != nil {
		return nil, err
	}
	return res, nil
}

// combinesLastUpdated reports whether params carry _lastUpdated together
// with a parameter the platform refuses beside it.
func combinesLastUpdated(p fhir.Platform, params url.Values) bool {
	return slices.ContainsFunc(p.Search.Exclusive, func(pair []string) bool {
		return slices.Contains(pair, lastUpdated) && adapters.HasParam(params, pair[0]) && adapters.HasParam(params, pair[1])
	})
}

// takeLastUpdated removes _lastUpdated from params and returns its values
// parsed: every value must hold, and any alternative of a value will do.
func takeLastUpdated(params url.Values) ([][]fhir.DateParam, error) {
	var filters [][]fhir.DateParam
	for key, values := range params {
		name, modifier := fhir.ParamName(key)
		if name != lastUpdated {
			continue
		}
		if modifier != "" {
			return nil, fmt.Errorf("%w: %s cannot be applied by the gateway", adapters.ErrUnsupportedSearch, key)
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
	params.Del(lastUpdated)
	return filters, nil
}

// keepLastUpdated keeps the matches whose meta.lastUpdated satisfies every
// filter. A resource without one cannot satisfy any.
func keepLastUpdated(res *fhir.SearchResult, filters [][]fhir.DateParam) error {
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
