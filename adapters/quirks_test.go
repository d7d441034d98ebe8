package adapters

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

// quirksFunc lets a test's own code be a platform's.
type quirksFunc func(ctx context.Context, p fhir.Platform, typ string, params url.Values, next Searcher) (*fhir.SearchResult, error)

func (f quirksFunc) Search(ctx context.Context, p fhir.Platform, typ string, params url.Values, next Searcher) (*fhir.SearchResult, error) {
	return f(ctx, p, typ, params, next)
}

var testAdapters atomic.Int64

// withQuirks registers f under a name of its own and returns the named
// platform's data with that adapter.
func withQuirks(t *testing.T, name string, f quirksFunc) fhir.Platform {
	t.Helper()
	p := platform(t, name)
	p.Adapter = "test-" + strconv.FormatInt(testAdapters.Add(1), 10)
	Register(p.Adapter, f)
	return p
}

func TestRegisterRefusesMistakes(t *testing.T) {
	var q passThrough
	for name, register := range map[string]func(){
		"no name":    func() { Register("", q) },
		"no quirks":  func() { Register("nil-quirks", nil) },
		"registered": func() { Register(dataOnly, q) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			register()
		}()
	}
	if slices.Contains(Registered(), "nil-quirks") {
		t.Error("nil quirks were registered")
	}
	if got := Registered(); !slices.Contains(got, dataOnly) || !slices.IsSorted(got) {
		t.Errorf("Registered() = %v", got)
	}
}

func TestNewRefusesUnregisteredAdapter(t *testing.T) {
	p := platform(t, "epic")
	p.Adapter = "nonesuch"
	_, err := New(Endpoint{Name: "lakeside", BaseURL: "https://x.example/r4", Platform: p, Auth: Auth{Kind: AuthNone}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `"nonesuch"`) || !strings.Contains(err.Error(), dataOnly) {
		t.Errorf("err = %v, want one naming the adapter and those registered", err)
	}
}

// TestQuirksAndTheirSearcher checks what quirks get and what their
// Searcher does: a copy of the query, the platform, the call's deadline,
// and the data's rules on every search they send.
func TestQuirksAndTheirSearcher(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "cerner", open: true})
	up.load(t, patient("p1"), observation("o1", "p1", "", "laboratory"))
	var refusal error
	p := withQuirks(t, "cerner", func(ctx context.Context, p fhir.Platform, typ string, params url.Values, next Searcher) (*fhir.SearchResult, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the quirks run without a deadline")
		}
		if p.Search.MaxCount != 200 {
			t.Errorf("the quirks got the platform %+v", p.Search)
		}
		params.Set("_count", "1000") // the quirks' own copy
		_, refusal = next(ctx, typ, url.Values{"code": {"x"}})
		return next(ctx, typ, params)
	})
	ep := endpointAt(t, up.URL, "cerner")
	ep.Platform = p
	a, _ := up.adapterFor(t, ep, Options{})
	given := values("patient", "p1", "_count", "500")

	res, err := a.Search(context.Background(), "Observation", given)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 {
		t.Errorf("matches = %d", len(res.Matches))
	}
	if given.Get("_count") != "500" {
		t.Errorf("the caller's query became %s", given.Encode())
	}
	if !errors.Is(refusal, ErrUnsupportedSearch) {
		t.Errorf("a search without a patient through the Searcher: err = %v", refusal)
	}
	sent := up.requests("/Observation")
	if len(sent) != 1 || sent[0].Query.Get("_count") != "200" {
		t.Errorf("upstream got %v; want one search, capped", sent)
	}
}

func TestQuirksAnswerChecked(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart", open: true})
	refused := errors.New("refused by the quirks")
	for name, tc := range map[string]struct {
		res  *fhir.SearchResult
		err  error
		want string
	}{
		"nothing": {nil, nil, "returned no result"},
		"error":   {&fhir.SearchResult{}, refused, refused.Error()},
	} {
		ep := endpointAt(t, up.URL, "smart")
		ep.Name = "lakeside"
		ep.Platform = withQuirks(t, "smart", func(context.Context, fhir.Platform, string, url.Values, Searcher) (*fhir.SearchResult, error) {
			return tc.res, tc.err
		})
		a, _ := up.adapterFor(t, ep, Options{})
		res, err := a.Search(context.Background(), "Observation", nil)
		if res != nil || err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "lakeside") {
			t.Errorf("%s: %v, %v; want no result and an error naming the endpoint", name, res, err)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v does not wrap the quirks' error", name, err)
		}
	}
	if n := len(up.requests("")); n != 0 {
		t.Errorf("%d requests sent by quirks that send none", n)
	}
}
