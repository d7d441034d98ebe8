package adapters

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

func TestCountCappedByPlatform(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "cerner", open: true})
	resources := []string{patient("p1")}
	for i := range 450 {
		resources = append(resources, observation("o"+strconv.Itoa(i), "p1", "", "laboratory"))
	}
	up.load(t, resources...)
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "cerner"), Options{})

	res, err := a.Search(context.Background(), "Observation", values("patient", "p1", "_count", "500"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 450 {
		t.Errorf("matches = %d, want 450 across pages", len(res.Matches))
	}
	pages := 0
	for _, r := range up.requests("") {
		n, err := strconv.Atoi(r.Query.Get("_count"))
		if err != nil || n > 200 {
			t.Errorf("upstream request %s?%s asks _count %q, over Oracle's 200", r.Path, r.Query.Encode(), r.Query.Get("_count"))
		}
		pages++
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3 of at most 200", pages)
	}
}

// TestRefusedSearchNotSent runs, on each platform's data without its code,
// searches the data says the platform refuses: none leaves the gateway.
func TestRefusedSearchNotSent(t *testing.T) {
	cases := []struct {
		platform, typ string
		query         url.Values
	}{
		{"cerner", "Condition", values("code", "x")},
		{"cerner", "Observation", values("patient", "p1", "date", "ge2025", "_lastUpdated", "ge2025")},
		{"epic", "Observation", values("patient", "p1")},
		{"athena", "MedicationRequest", values("patient", "p1")},
	}
	for _, tc := range cases {
		up := newUpstream(t, upstreamConfig{platform: tc.platform, open: true})
		a, _ := up.adapterFor(t, endpointAt(t, up.URL, tc.platform), Options{})
		_, err := a.Search(context.Background(), tc.typ, tc.query)
		if !errors.Is(err, ErrUnsupportedSearch) {
			t.Errorf("%s: %s?%s: err = %v, want ErrUnsupportedSearch", tc.platform, tc.typ, tc.query.Encode(), err)
		}
		if n := len(up.requests("")); n != 0 {
			t.Errorf("%s: %s?%s: %d requests sent for a search the platform refuses", tc.platform, tc.typ, tc.query.Encode(), n)
		}
	}
}

func TestDataRules(t *testing.T) {
	cases := []struct {
		name     string
		platform string
		typ      string
		query    string
		want     string // the query sent, encoded
		err      error
	}{
		{"plain", "smart", "Observation", "patient=1", "patient=1", nil},
		{"epic code", "epic", "Observation", "patient=1&code=x", "code=x&patient=1", nil},
		{"epic category with modifier", "epic", "Observation", "patient=1&category:not=lab", "category%3Anot=lab&patient=1", nil},
		{"epic other type", "epic", "Condition", "patient=1", "patient=1", nil},
		{"epic no category", "epic", "Observation", "patient=1", "", ErrUnsupportedSearch},
		{"oracle cap", "cerner", "Observation", "patient=1&_count=1000", "_count=200&patient=1", nil},
		{"oracle under cap", "cerner", "Observation", "patient=1&_count=20", "_count=20&patient=1", nil},
		{"oracle only total", "cerner", "Observation", "patient=1&_count=0", "_count=0&patient=1", nil},
		{"oracle lastUpdated alone", "cerner", "Observation", "patient=1&_lastUpdated=ge2024", "_lastUpdated=ge2024&patient=1", nil},
		{"oracle date with lastUpdated", "cerner", "Observation", "patient=1&date=ge2024&_lastUpdated=ge2024", "", ErrUnsupportedSearch},
		{"oracle subject", "cerner", "Observation", "subject=Patient/1", "subject=Patient%2F1", nil},
		{"oracle no patient", "cerner", "Observation", "code=x", "", ErrUnsupportedSearch},
		{"oracle patient search", "cerner", "Patient", "name=x", "name=x", nil},
		{"athena intent given", "athena", "MedicationRequest", "patient=1&intent=order", "intent=order&patient=1", nil},
		{"athena intent modifier", "athena", "MedicationRequest", "patient=1&intent:not=plan", "intent%3Anot=plan&patient=1", nil},
		{"athena no intent", "athena", "MedicationRequest", "patient=1", "", ErrUnsupportedSearch},
		{"bad count", "smart", "Observation", "_count=many", "", fhir.ErrBadParam},
		{"negative count", "smart", "Observation", "_count=-1", "", fhir.ErrBadParam},
		{"two counts", "smart", "Observation", "_count=1&_count=2", "", fhir.ErrBadParam},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			given := q.Encode()
			sent, err := dataRules(platform(t, tc.platform), tc.typ, q)
			if q.Encode() != given {
				t.Errorf("the given query became %s", q.Encode())
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sent.Encode(); got != tc.want {
				t.Errorf("query = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRulesOfAnyPlatform covers rules no shipped platform has: a parameter
// every search needs, and an exclusive pair without _lastUpdated.
func TestRulesOfAnyPlatform(t *testing.T) {
	p := platform(t, "smart")
	p.Search.RequireAll = map[string][]string{"*": {"patient"}}
	p.Search.Exclusive = [][]string{{"code", "date"}}
	if _, err := dataRules(p, "Condition", values("code", "x")); !errors.Is(err, ErrUnsupportedSearch) {
		t.Errorf("missing required parameter: err = %v", err)
	}
	if _, err := dataRules(p, "Condition", values("patient", "1", "code", "x", "date", "2024")); !errors.Is(err, ErrUnsupportedSearch) {
		t.Errorf("exclusive pair: err = %v", err)
	}
	if _, err := dataRules(p, "Condition", values("patient", "1", "code:text", "x")); err != nil {
		t.Errorf("required parameter given: %v", err)
	}
}

// FuzzDataRules checks that whatever the query, the data's rules never
// panic nor change what they are given, and what they let through the
// platform accepts, within its _count cap.
func FuzzDataRules(f *testing.F) {
	platforms := map[string]fhir.Platform{}
	for _, name := range []string{"epic", "cerner", "athena", "smart"} {
		platforms[name] = platform(f, name)
	}
	f.Add("epic", "Observation", "patient=1&category=laboratory")
	f.Add("cerner", "Observation", "patient=1&date=ge2024&_count=999")
	f.Add("athena", "MedicationRequest", "patient=1&intent=order&_count=0")
	f.Add("cerner", "Condition", "_lastUpdated:missing=true&date=1")
	f.Fuzz(func(t *testing.T, name, typ, query string) {
		p, ok := platforms[name]
		if !ok {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		given := q.Encode()
		sent, err := dataRules(p, typ, q)
		if q.Encode() != given {
			t.Fatalf("the given query %s became %s", given, q.Encode())
		}
		if err != nil {
			return
		}
		if err := p.CheckSearch(typ, paramNames(sent)); err != nil {
			t.Fatalf("sent %s?%s, which the platform refuses: %v", typ, sent.Encode(), err)
		}
		if n, err := strconv.Atoi(sent.Get("_count")); err == nil && p.Search.MaxCount > 0 && n > p.Search.MaxCount {
			t.Fatalf("_count %d over the cap %d", n, p.Search.MaxCount)
		}
	})
}
