package adapters

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/portalgate/portalgate/fhir"
)

// Search runs GET [base]/typ?params and follows every page, the platform's
// quirks reshaping the search where its data says they must (see the package
// doc). On error the result is nil: part of a record is never handed on as
// the whole of it.
func (a *Adapter) Search(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error) {
	// A _count that is no count is the caller's mistake: reported before
	// any quirk sends anything.
	if _, err := cappedCount(a.platform, params); err != nil {
		return nil, fmt.Errorf("adapters: %s: search %s: %w", a.name, typ, err)
	}
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	res, err := a.quirks.Search(ctx, a.platform, typ, cloneValues(params), a.upstream)
	if err == nil && res == nil {
		err = fmt.Errorf("adapter %s returned no result", a.platform.AdapterName())
	}
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: search %s: %w", a.name, typ, err)
	}
	return res, nil
}

// searchUpstream is the Searcher handed to the platform's quirks: the
// data's rules, then one search with all its pages, retried as reads are.
func (a *Adapter) searchUpstream(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error) {
	q, err := dataRules(a.platform, typ, params)
	if err != nil {
		return nil, err
	}
	var res *fhir.SearchResult
	err = a.call(ctx, true, func(ctx context.Context) error {
		var err error
		res, err = a.client.Search(ctx, typ, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// dataRules returns the search as the platform's data has it sent (_count
// capped at the platform's maximum), or says why the data says the platform
// would refuse it. params is left as it is.
func dataRules(p fhir.Platform, typ string, params url.Values) (url.Values, error) {
	count, err := cappedCount(p, params)
	if err != nil {
		return nil, err
	}
	q := params
	if count != "" {
		q = cloneValues(params)
		q.Set("_count", count)
	}
	if err := p.CheckSearch(typ, paramNames(q)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedSearch, err)
	}
	return q, nil
}

// cappedCount returns the _count to send instead of the one params carry,
// lowered to the platform's cap, or "" when that one stands. _count=0 (only
// the total) is left alone.
func cappedCount(p fhir.Platform, params url.Values) (string, error) {
	values, ok := params["_count"]
	if !ok {
		return "", nil
	}
	if len(values) != 1 {
		return "", fmt.Errorf("%w: _count given %d times", fhir.ErrBadParam, len(values))
	}
	n, err := strconv.Atoi(values[0])
	if err != nil || n < 0 {
		return "", fmt.Errorf("%w: _count %q is not a count", fhir.ErrBadParam, values[0])
	}
	if capped := p.PageSize(n); n > 0 && capped != n {
		return strconv.Itoa(capped), nil
	}
	return "", nil
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
