package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

func TestEpicObservationFanOut(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "epic"})
	up.load(t, patient("p1"), patient("p2"),
		observation("lab", "p1", "", "laboratory"),
		observation("vital", "p1", "", "vital-signs"),
		observation("both", "p1", "", "laboratory", "vital-signs"), // found by two searches
		observation("social", "p1", "", "social-history"),
		observation("uncategorized", "p1", ""), // Epic finds it under no category
		observation("other-patient", "p2", "", "laboratory"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})

	res, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Observation/both", "Observation/lab", "Observation/social", "Observation/vital"}
	if got := ids(t, res.Matches); !slices.Equal(got, want) {
		t.Errorf("matches = %v, want %v", got, want)
	}
	searches := up.requests("/Observation")
	if len(searches) != len(a.Platform().ObservationCategories) {
		t.Errorf("upstream searches = %d, want one per category (%d)", len(searches), len(a.Platform().ObservationCategories))
	}
	var asked []string
	for _, r := range searches {
		if r.Status != http.StatusOK || r.Query.Get("patient") != "p1" {
			t.Errorf("upstream search %v answered %d", r.Query, r.Status)
		}
		asked = append(asked, r.Query.Get("category"))
	}
	slices.Sort(asked)
	wantAsked := slices.Sorted(slices.Values(a.Platform().ObservationCategories))
	if !slices.Equal(asked, wantAsked) {
		t.Errorf("categories searched = %v, want %v", asked, wantAsked)
	}
	// Epic's in-Bundle warning comes with every page; it is surfaced once.
	if len(res.Outcomes) != 1 || res.Outcomes[0].Issue[0].Severity != fhir.SeverityWarning {
		t.Errorf("outcomes = %+v, want Epic's one warning", res.Outcomes)
	}
	if res.Total != nil {
		t.Errorf("total = %d; no server counted the union", *res.Total)
	}
}

func TestEpicSearchWithCategoryOrCodeIsSentAsIs(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "epic"})
	up.load(t, patient("p1"), observation("lab", "p1", "", "laboratory"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})
	for _, q := range []url.Values{
		values("patient", "p1", "category", "laboratory"),
		values("patient", "p1", "code", "http://loinc.org|8867-4"),
	} {
		up.ResetRequests()
		res, err := a.Search(context.Background(), "Observation", q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != 1 || len(up.requests("/Observation")) != 1 {
			t.Errorf("%v: %d matches from %d searches, want 1 from 1", q, len(res.Matches), len(up.requests("/Observation")))
		}
	}
}

// TestFanOutRefusals runs an Epic-like server that refuses some categories.
func TestFanOutRefusals(t *testing.T) {
	var refuse func(category string) bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cat := r.URL.Query().Get("category")
		if refuse(cat) {
			fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "not for you")
			return
		}
		w.Header().Set("Content-Type", fhir.ContentType)
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":%s,"search":{"mode":"match"}}]}`,
			observation("o-"+cat, "p1", "", cat))
	}))
	defer srv.Close()
	ep := endpointAt(t, srv.URL, "epic")
	a, err := New(ep, Options{Sleep: (&fakeSleeper{}).Sleep})
	if err != nil {
		t.Fatal(err)
	}

	refuse = func(c string) bool { return c == "genomics" || c == "smartdata" }
	res, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(a.Platform().ObservationCategories) - 2; len(res.Matches) != want {
		t.Errorf("matches = %d, want %d", len(res.Matches), want)
	}
	var warned []string
	for _, o := range res.Outcomes {
		warned = append(warned, o.Issue[0].Diagnostics)
	}
	if len(warned) != 2 || !strings.Contains(strings.Join(warned, " "), "category=genomics") {
		t.Errorf("warnings = %q, want one per refused category", warned)
	}

	refuse = func(string) bool { return true }
	if _, err := a.Search(context.Background(), "Observation", values("patient", "p1")); !errors.Is(err, fhir.ErrForbidden) {
		t.Errorf("every category refused: err = %v, want the refusal", err)
	}
}

func TestOracleCountCapped(t *testing.T) {
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
	for _, r := range up.Requests() {
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

func TestOracleDateWithLastUpdatedApplied(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "cerner", open: true})
	up.load(t, patient("p1"),
		observation("old", "p1", "2025-01-10T00:00:00Z", "laboratory"),
		observation("new", "p1", "2025-08-10T00:00:00Z", "laboratory"),
		observation("newer", "p1", "2025-09-10T00:00:00Z", "laboratory"))
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "cerner"), Options{})

	q := values("patient", "p1", "date", "ge2025-01-01", "_lastUpdated", "ge2025-08-01", "_lastUpdated", "lt2025-09-01")
	res, err := a.Search(context.Background(), "Observation", q)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, res.Matches); !slices.Equal(got, []string{"Observation/new"}) {
		t.Errorf("matches = %v, want only the one updated in August", got)
	}
	sent := up.requests("/Observation")
	if len(sent) != 1 || sent[0].Query.Has("_lastUpdated") || sent[0].Query.Get("date") != "ge2025-01-01" {
		t.Errorf("upstream got %v; want date alone", sent)
	}
	if q.Get("_lastUpdated") == "" {
		t.Error("the caller's parameters were changed")
	}
}

func TestOracleRefusesWithoutPatient(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "cerner", open: true})
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "cerner"), Options{})
	_, err := a.Search(context.Background(), "Condition", values("code", "x"))
	if !errors.Is(err, ErrUnsupportedSearch) {
		t.Fatalf("err = %v, want ErrUnsupportedSearch", err)
	}
	if n := len(up.Requests()); n != 0 {
		t.Errorf("%d requests sent for a search the platform refuses", n)
	}
}

func TestAthenaIntentAdded(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "athena", open: true})
	up.load(t, patient("p1"),
		medicationRequest("m-order", "p1", "order"),
		medicationRequest("m-plan", "p1", "plan"),
		medicationRequest("m-proposal", "p1", "proposal"))
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "athena"), Options{})

	res, err := a.Search(context.Background(), "MedicationRequest", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 3 {
		t.Errorf("matches = %v, want every intent", ids(t, res.Matches))
	}
	sent := up.requests("/MedicationRequest")
	if len(sent) != 1 || !strings.Contains(sent[0].Query.Get("intent"), "order") {
		t.Fatalf("upstream got %v; want an intent added", sent)
	}

	up.ResetRequests()
	res, err = a.Search(context.Background(), "MedicationRequest", values("patient", "p1", "intent", "plan"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, res.Matches); !slices.Equal(got, []string{"MedicationRequest/m-plan"}) {
		t.Errorf("matches = %v", got)
	}
	if got := up.requests("/MedicationRequest")[0].Query["intent"]; !slices.Equal(got, []string{"plan"}) {
		t.Errorf("caller's intent became %v", got)
	}
}

func TestPlanSearch(t *testing.T) {
	cases := []struct {
		name     string
		platform string
		typ      string
		query    string
		want     string // the planned query, encoded
		fanOut   bool
		filters  int
		err      error
	}{
		{"plain", "smart", "Observation", "patient=1", "patient=1", false, 0, nil},
		{"epic fan-out", "epic", "Observation", "patient=1", "patient=1", true, 0, nil},
		{"epic code", "epic", "Observation", "patient=1&code=x", "code=x&patient=1", false, 0, nil},
		{"epic category with modifier", "epic", "Observation", "patient=1&category:not=lab", "category%3Anot=lab&patient=1", false, 0, nil},
		{"epic other type", "epic", "Condition", "patient=1", "patient=1", false, 0, nil},
		{"oracle cap", "cerner", "Observation", "patient=1&_count=1000", "_count=200&patient=1", false, 0, nil},
		{"oracle under cap", "cerner", "Observation", "patient=1&_count=20", "_count=20&patient=1", false, 0, nil},
		{"oracle only total", "cerner", "Observation", "patient=1&_count=0", "_count=0&patient=1", false, 0, nil},
		{"oracle split", "cerner", "Observation", "patient=1&date=ge2024&_lastUpdated=ge2024-06,lt2024-01", "date=ge2024&patient=1", false, 1, nil},
		{"oracle lastUpdated alone", "cerner", "Observation", "patient=1&_lastUpdated=ge2024", "_lastUpdated=ge2024&patient=1", false, 0, nil},
		{"oracle modified lastUpdated", "cerner", "Observation", "patient=1&date=2024&_lastUpdated:missing=true", "", false, 0, ErrUnsupportedSearch},
		{"oracle bad lastUpdated", "cerner", "Observation", "patient=1&date=2024&_lastUpdated=yesterday", "", false, 0, fhir.ErrBadParam},
		{"oracle no patient", "cerner", "Observation", "code=x", "", false, 0, ErrUnsupportedSearch},
		{"athena intent", "athena", "MedicationRequest", "patient=1", "intent=proposal%2Cplan%2Corder%2Coriginal-order%2Creflex-order%2Cfiller-order%2Cinstance-order%2Coption&patient=1", false, 0, nil},
		{"athena intent given", "athena", "MedicationRequest", "patient=1&intent=order", "intent=order&patient=1", false, 0, nil},
		{"athena intent modifier", "athena", "MedicationRequest", "patient=1&intent:not=plan", "intent%3Anot=plan&patient=1", false, 0, nil},
		{"bad count", "smart", "Observation", "_count=many", "", false, 0, fhir.ErrBadParam},
		{"negative count", "smart", "Observation", "_count=-1", "", false, 0, fhir.ErrBadParam},
		{"two counts", "smart", "Observation", "_count=1&_count=2", "", false, 0, fhir.ErrBadParam},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := planSearch(platform(t, tc.platform), tc.typ, q)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.query.Encode(); got != tc.want {
				t.Errorf("query = %s, want %s", got, tc.want)
			}
			if (len(plan.fanOut) > 0) != tc.fanOut {
				t.Errorf("fan-out = %v", plan.fanOut)
			}
			if len(plan.lastUpdated) != tc.filters {
				t.Errorf("lastUpdated filters = %d, want %d", len(plan.lastUpdated), tc.filters)
			}
		})
	}
}

// TestRequiredWithoutDefaultRefused covers a platform that requires a
// parameter the adapter has no default for.
func TestRequiredWithoutDefaultRefused(t *testing.T) {
	p := platform(t, "smart")
	p.Search.RequireAll = map[string][]string{"*": {"patient"}}
	p.Search.Exclusive = [][]string{{"code", "date"}}
	if _, err := planSearch(p, "Condition", values("code", "x")); !errors.Is(err, ErrUnsupportedSearch) {
		t.Errorf("missing required parameter: err = %v", err)
	}
	if _, err := planSearch(p, "Condition", values("patient", "1", "code", "x", "date", "2024")); !errors.Is(err, ErrUnsupportedSearch) {
		t.Errorf("exclusive pair without _lastUpdated: err = %v", err)
	}
}

func TestMergeResultsDropsDuplicates(t *testing.T) {
	entry := func(id, mode string) fhir.BundleEntry {
		return fhir.BundleEntry{Resource: []byte(observation(id, "p1", "")), Search: &fhir.EntrySearch{Mode: mode}}
	}
	warning := fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.OutcomeIssue{{Severity: "warning", Code: "informational"}}}
	parts := []*fhir.SearchResult{
		{Matches: []fhir.BundleEntry{entry("a", "match"), entry("b", "match")}, Includes: []fhir.BundleEntry{entry("c", "include")}, Outcomes: []fhir.OperationOutcome{warning}, Pages: 1},
		{Matches: []fhir.BundleEntry{entry("b", "match"), entry("c", "match")}, Includes: []fhir.BundleEntry{entry("d", "include")}, Outcomes: []fhir.OperationOutcome{warning}, Pages: 2},
	}
	res, err := mergeResults(parts)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, res.Matches); !slices.Equal(got, []string{"Observation/a", "Observation/b", "Observation/c"}) {
		t.Errorf("matches = %v", got)
	}
	if got := ids(t, res.Includes); !slices.Equal(got, []string{"Observation/d"}) {
		t.Errorf("includes = %v; a match also included stays a match only", got)
	}
	if len(res.Outcomes) != 1 || res.Pages != 3 {
		t.Errorf("outcomes = %d, pages = %d", len(res.Outcomes), res.Pages)
	}
	bad := []*fhir.SearchResult{{Matches: []fhir.BundleEntry{{Resource: []byte(`{"id":"x"}`)}}}}
	if _, err := mergeResults(bad); !errors.Is(err, fhir.ErrMalformed) {
		t.Errorf("entry without resourceType: err = %v", err)
	}
}

// TestEpicFanOutOverSharedData checks the fan-out on a real Synthea record:
// the union of the category searches is every Observation of the patient
// that has one of Epic's categories.
func TestEpicFanOutOverSharedData(t *testing.T) {
	dir := fhirtest.SharedData(t)
	files, err := filepath.Glob(filepath.Join(dir, "synthea", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no Synthea bundles in %s", dir)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	epic := newUpstream(t, upstreamConfig{platform: "epic", open: true})
	plain := newUpstream(t, upstreamConfig{platform: "smart", open: true})
	for _, up := range []*upstream{epic, plain} {
		if err := up.LoadBundle(data); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	raw, _ := plain.adapterFor(t, endpointAt(t, plain.URL, "smart"), Options{})
	patients, err := raw.Search(ctx, "Patient", nil)
	if err != nil || len(patients.Matches) == 0 {
		t.Fatalf("no patient in %s: %v", filepath.Base(files[0]), err)
	}
	h, _ := fhir.ReadHeader(patients.Matches[0].Resource)
	q := values("patient", h.ID)

	all, err := raw.Search(ctx, "Observation", q)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := epic.adapterFor(t, endpointAt(t, epic.URL, "epic"), Options{})
	fanned, err := a.Search(ctx, "Observation", q)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range all.Matches {
		if hasCategory(t, e.Resource, a.Platform().ObservationCategories) {
			h, _ := fhir.ReadHeader(e.Resource)
			want = append(want, h.Ref())
		}
	}
	slices.Sort(want)
	if got := ids(t, fanned.Matches); !slices.Equal(got, want) {
		t.Errorf("fan-out found %d Observations, want %d", len(got), len(want))
	}
	if len(want) == 0 {
		t.Error("the patient has no categorized Observations; pick a richer bundle")
	}
}

func hasCategory(t *testing.T, resource []byte, categories []string) bool {
	t.Helper()
	var obs struct {
		Category []struct {
			Coding []struct {
				Code string `json:"code"`
			} `json:"coding"`
		} `json:"category"`
	}
	if err := json.Unmarshal(resource, &obs); err != nil {
		t.Fatal(err)
	}
	for _, c := range obs.Category {
		for _, coding := range c.Coding {
			if slices.Contains(categories, coding.Code) {
				return true
			}
		}
	}
	return false
}

// FuzzPlanSearch checks that whatever the query, planning never panics, and
// a plan it makes is one the platform accepts.
func FuzzPlanSearch(f *testing.F) {
	platforms := map[string]fhir.Platform{}
	for _, name := range []string{"epic", "cerner", "athena", "smart"} {
		platforms[name] = platform(f, name)
	}
	f.Add("epic", "Observation", "patient=1")
	f.Add("cerner", "Observation", "patient=1&date=ge2024&_lastUpdated=lt2025,ge2020&_count=999")
	f.Add("athena", "MedicationRequest", "patient=1&_count=0")
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
		plan, err := planSearch(p, typ, q)
		if err != nil {
			return
		}
		names := paramNames(plan.query)
		if plan.fanOutParam != "" {
			names = append(names, plan.fanOutParam)
		}
		if err := p.CheckSearch(typ, names); err != nil {
			t.Fatalf("planned %s?%s, which the platform refuses: %v", typ, plan.query.Encode(), err)
		}
		if n, err := strconv.Atoi(plan.query.Get("_count")); err == nil && p.Search.MaxCount > 0 && n > p.Search.MaxCount {
			t.Fatalf("_count %d over the cap %d", n, p.Search.MaxCount)
		}
	})
}
