package cerner

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/adapters/internal/platformtest"
	"github.com/portalgate/portalgate/fhir"
)

// records are Observations of p1 last updated at various times.
var records = []string{
	fixture.Patient("p1"),
	fixture.Observation("old", "p1", "2025-01-10T00:00:00Z", "laboratory"),
	fixture.Observation("new", "p1", "2025-08-10T00:00:00Z", "laboratory"),
	fixture.Observation("newer", "p1", "2025-09-10T00:00:00Z", "laboratory"),
}

func TestDateWithLastUpdated(t *testing.T) {
	cases := []struct {
		name  string
		query string
		want  []string // the ids found
		sent  string   // the query sent upstream
	}{
		{"both bounds", "patient=p1&date=ge2025-01-01&_lastUpdated=ge2025-08-01&_lastUpdated=lt2025-09-01",
			[]string{"Observation/new"}, "date=ge2025-01-01&patient=p1"},
		{"alternatives", "patient=p1&date=ge2025-01-01&_lastUpdated=lt2025-02-01,ge2025-09-01",
			[]string{"Observation/newer", "Observation/old"}, "date=ge2025-01-01&patient=p1"},
		{"day", "patient=p1&date=2025-06-01&_lastUpdated=2025-08-10",
			[]string{"Observation/new"}, "date=2025-06-01&patient=p1"},
		{"lastUpdated alone", "patient=p1&_lastUpdated=ge2025-08-01",
			[]string{"Observation/new", "Observation/newer"}, "_lastUpdated=ge2025-08-01&patient=p1"},
		{"date alone", "patient=p1&date=ge2025-01-01",
			[]string{"Observation/new", "Observation/newer", "Observation/old"}, "date=ge2025-01-01&patient=p1"},
	}
	up := platformtest.Open(t, "cerner", records...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up.Sent.Reset()
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			given := q.Encode()
			res, err := up.Adapter.Search(context.Background(), "Observation", q)
			if err != nil {
				t.Fatal(err)
			}
			if got := fixture.IDs(t, res.Matches); !slices.Equal(got, tc.want) {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
			sent := up.Sent.Requests("/Observation")
			if len(sent) != 1 || sent[0].Query.Encode() != tc.sent {
				t.Errorf("upstream got %v; want %s", sent, tc.sent)
			}
			if q.Encode() != given {
				t.Errorf("the caller's parameters became %s", q.Encode())
			}
		})
	}
}

// TestNoLastUpdatedNoMatch covers an answer whose resources lack
// meta.lastUpdated, which fhirtest always sets: none can match.
func TestNoLastUpdatedNoMatch(t *testing.T) {
	filters, err := takeLastUpdated(fixture.Values("_lastUpdated", "ge2000"))
	if err != nil {
		t.Fatal(err)
	}
	total := 2
	res := &fhir.SearchResult{Total: &total, Matches: []fhir.BundleEntry{
		{Resource: []byte(fixture.Observation("none", "p1", ""))},
		{Resource: []byte(records[1])},
	}}
	if err := keepLastUpdated(res, filters); err != nil {
		t.Fatal(err)
	}
	if got := fixture.IDs(t, res.Matches); !slices.Equal(got, []string{"Observation/old"}) || res.Total != nil {
		t.Errorf("matches = %v, total %v; want only the one with a lastUpdated, uncounted", got, res.Total)
	}
	res.Matches = []fhir.BundleEntry{{Resource: []byte(`{"id":"x"}`)}}
	if err := keepLastUpdated(res, filters); !errors.Is(err, fhir.ErrMalformed) {
		t.Errorf("a resource without a type: err = %v", err)
	}
}

func TestLastUpdatedRefused(t *testing.T) {
	up := platformtest.Open(t, "cerner", records...)
	for query, want := range map[string]error{
		"patient=p1&date=2025&_lastUpdated:missing=true": adapters.ErrUnsupportedSearch,
		"patient=p1&date=2025&_lastUpdated=yesterday":    fhir.ErrBadParam,
		"patient=p1&date=2025&_lastUpdated=ge2025,soon":  fhir.ErrBadParam,
		"date=2025&_lastUpdated=ge2025":                  adapters.ErrUnsupportedSearch, // no patient: the data refuses it
	} {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.Adapter.Search(context.Background(), "Observation", q); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", query, err, want)
		}
	}
	if n := len(up.Sent.Requests("")); n != 0 {
		t.Errorf("%d requests sent for searches refused", n)
	}
}

// TestCountStaysData checks that the _count cap, data, still holds with the
// platform's code: a search split for _lastUpdated pages at 200 at most.
func TestCountStaysData(t *testing.T) {
	resources := []string{fixture.Patient("p1")}
	for i := range 250 {
		resources = append(resources, fixture.Observation("o"+strconv.Itoa(i), "p1", "2025-08-10T00:00:00Z", "laboratory"))
	}
	up := platformtest.Open(t, "cerner", resources...)
	res, err := up.Adapter.Search(context.Background(), "Observation",
		fixture.Values("patient", "p1", "date", "ge2025", "_lastUpdated", "ge2025-08-01", "_count", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 250 || res.Pages != 2 {
		t.Errorf("%d matches over %d pages, want 250 over 2", len(res.Matches), res.Pages)
	}
	if sent := up.Sent.Requests("/Observation"); len(sent) == 0 || sent[0].Query.Get("_count") != "200" {
		t.Errorf("upstream got %v; want _count capped at 200", sent)
	}
}

// FuzzSearch checks that whatever the query, the platform's code never
// panics, and what it sends never combines _lastUpdated with date.
func FuzzSearch(f *testing.F) {
	p := fixture.Platform(f, "cerner")
	f.Add("patient=1&date=ge2024&_lastUpdated=lt2025,ge2020")
	f.Add("patient=1&_lastUpdated:missing=true&date=1")
	f.Add("patient=1&date:missing=false&_lastUpdated=2024-02-30")
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		next := func(_ context.Context, _ string, sent url.Values) (*fhir.SearchResult, error) {
			if adapters.HasParam(sent, "date") && adapters.HasParam(sent, lastUpdated) {
				t.Fatalf("%s sent as %s", query, sent.Encode())
			}
			return &fhir.SearchResult{Matches: []fhir.BundleEntry{{Resource: []byte(records[1])}}}, nil
		}
		_, _ = quirks{}.Search(context.Background(), p, "Observation", q, next)
	})
}

// BenchmarkLastUpdated measures applying _lastUpdated to a page of 200
// results, without the upstream.
func BenchmarkLastUpdated(b *testing.B) {
	p := fixture.Platform(b, "cerner")
	page := make([]fhir.BundleEntry, 200)
	for i := range page {
		page[i].Resource = []byte(records[1+i%3])
	}
	next := func(context.Context, string, url.Values) (*fhir.SearchResult, error) {
		return &fhir.SearchResult{Matches: slices.Clone(page)}, nil
	}
	q := fixture.Values("patient", "p1", "date", "ge2025", "_lastUpdated", "ge2025-08-01")
	for b.Loop() {
		res, err := quirks{}.Search(context.Background(), p, "Observation", maps.Clone(q), next)
		if err != nil || len(res.Matches) == 0 {
			b.Fatal(err)
		}
	}
}
