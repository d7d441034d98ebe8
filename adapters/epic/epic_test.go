package epic

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

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/adapters/internal/platformtest"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

var (
	patient     = fixture.Patient
	observation = fixture.Observation
	values      = fixture.Values
)

func TestObservationFanOut(t *testing.T) {
	up := platformtest.Open(t, "epic", patient("p1"), patient("p2"),
		observation("lab", "p1", "", "laboratory"),
		observation("vital", "p1", "", "vital-signs"),
		observation("both", "p1", "", "laboratory", "vital-signs"), // found by two searches
		observation("social", "p1", "", "social-history"),
		observation("uncategorized", "p1", ""), // Epic finds it under no category
		observation("other-patient", "p2", "", "laboratory"))
	categories := up.Platform().ObservationCategories

	res, err := up.Adapter.Search(context.Background(), "Observation", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Observation/both", "Observation/lab", "Observation/social", "Observation/vital"}
	if got := fixture.IDs(t, res.Matches); !slices.Equal(got, want) {
		t.Errorf("matches = %v, want %v", got, want)
	}
	searches := up.Sent.Requests("/Observation")
	if len(searches) != len(categories) {
		t.Errorf("upstream searches = %d, want one per category (%d)", len(searches), len(categories))
	}
	var asked []string
	for _, r := range searches {
		if r.Status != http.StatusOK || r.Query.Get("patient") != "p1" {
			t.Errorf("upstream search %v answered %d", r.Query, r.Status)
		}
		asked = append(asked, r.Query.Get("category"))
	}
	slices.Sort(asked)
	if want := slices.Sorted(slices.Values(categories)); !slices.Equal(asked, want) {
		t.Errorf("categories searched = %v, want %v", asked, want)
	}
	// Epic's in-Bundle warning comes with every searchset; it is surfaced once.
	if len(res.Outcomes) != 1 || res.Outcomes[0].Issue[0].Severity != fhir.SeverityWarning {
		t.Errorf("outcomes = %+v, want Epic's one warning", res.Outcomes)
	}
	if res.Total != nil {
		t.Errorf("total = %d; no server counted the union", *res.Total)
	}
	if res.Pages != len(categories) {
		t.Errorf("pages = %d, want %d", res.Pages, len(categories))
	}
}

func TestSearchWithCategoryOrCodeIsSentAsIs(t *testing.T) {
	up := platformtest.Open(t, "epic", patient("p1"),
		observation("lab", "p1", "", "laboratory"), fixture.MedicationRequest("m1", "p1", "order"))
	for _, tc := range []struct {
		typ   string
		query url.Values
	}{
		{"Observation", values("patient", "p1", "category", "laboratory")},
		{"Observation", values("patient", "p1", "code", "http://loinc.org|8867-4")},
		{"Observation", values("patient", "p1", "code:not", "http://loinc.org|1234-5")},
		{"Observation", values("patient", "p1", "category", "vital-signs,laboratory")},
		{"MedicationRequest", values("patient", "p1")},
	} {
		up.Sent.Reset()
		res, err := up.Adapter.Search(context.Background(), tc.typ, tc.query)
		if err != nil {
			t.Fatal(err)
		}
		sent := up.Sent.Requests("/" + tc.typ)
		if len(res.Matches) != 1 || len(sent) != 1 || sent[0].Query.Encode() != tc.query.Encode() {
			t.Errorf("%s?%s: %d matches from %v, want 1 from the search as given", tc.typ, tc.query.Encode(), len(res.Matches), sent)
		}
	}
}

// TestWarningsOnceAcrossPages pages through one searchset: Epic repeats its
// warning on every page, and the caller gets it once.
func TestWarningsOnceAcrossPages(t *testing.T) {
	resources := []string{patient("p1")}
	for i := range 5 {
		resources = append(resources, observation("lab"+strconv.Itoa(i), "p1", "", "laboratory"))
	}
	up := platformtest.Open(t, "epic", resources...)
	res, err := up.Adapter.Search(context.Background(), "Observation", values("patient", "p1", "category", "laboratory", "_count", "2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 5 || res.Pages != 3 {
		t.Fatalf("%d matches over %d pages, want 5 over 3", len(res.Matches), res.Pages)
	}
	if len(res.Outcomes) != 1 || !strings.Contains(res.Outcomes[0].Summary(), "business rules") {
		t.Errorf("outcomes = %+v, want Epic's warning once", res.Outcomes)
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
	p := fixture.Platform(t, "epic")
	a := platformtest.NewAdapter(t, srv.URL, srv.Client(), p)

	refuse = func(c string) bool { return c == "genomics" || c == "smartdata" }
	res, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(p.ObservationCategories) - 2; len(res.Matches) != want {
		t.Errorf("matches = %d, want %d", len(res.Matches), want)
	}
	var warned []string
	for _, o := range res.Outcomes {
		if o.Issue[0].Code != "incomplete" {
			t.Errorf("warning %+v does not say the result is incomplete", o.Issue[0])
		}
		warned = append(warned, o.Issue[0].Diagnostics)
	}
	if len(warned) != 2 || !strings.Contains(strings.Join(warned, " "), "category=genomics") ||
		strings.Contains(strings.Join(warned, " "), "not for you") {
		t.Errorf("warnings = %q, want one per refused category, without the upstream's words", warned)
	}

	refuse = func(string) bool { return true }
	if _, err := a.Search(context.Background(), "Observation", values("patient", "p1")); !errors.Is(err, fhir.ErrForbidden) {
		t.Errorf("every category refused: err = %v, want the refusal", err)
	}
}

// TestNoFanOutWithoutCategories leaves a search the data refuses, and gives
// no categories to fan out over, to be refused before it is sent.
func TestNoFanOutWithoutCategories(t *testing.T) {
	p := fixture.Platform(t, "epic")
	p.ObservationCategories = nil
	ts := fhirtest.NewTestServer(fhirtest.WithPlatform(p))
	defer ts.Close()
	sent := fixture.Record(ts)
	a := platformtest.NewAdapter(t, ts.URL, sent.Client(), p)
	_, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if !errors.Is(err, adapters.ErrUnsupportedSearch) {
		t.Errorf("err = %v, want ErrUnsupportedSearch", err)
	}
	if n := len(sent.Requests("")); n != 0 {
		t.Errorf("%d requests sent for a search the platform refuses", n)
	}
}

func TestMerge(t *testing.T) {
	entry := func(id, mode string) fhir.BundleEntry {
		return fhir.BundleEntry{Resource: []byte(observation(id, "p1", "")), Search: &fhir.EntrySearch{Mode: mode}}
	}
	warning := fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.OutcomeIssue{{Severity: "warning", Code: "informational"}}}
	other := fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.OutcomeIssue{{Severity: "warning", Code: "incomplete"}}}
	parts := []*fhir.SearchResult{
		{Matches: []fhir.BundleEntry{entry("a", "match"), entry("b", "match")}, Includes: []fhir.BundleEntry{entry("c", "include")}, Outcomes: []fhir.OperationOutcome{warning}, Pages: 1},
		{Matches: []fhir.BundleEntry{entry("b", "match"), entry("c", "match")}, Includes: []fhir.BundleEntry{entry("d", "include")}, Outcomes: []fhir.OperationOutcome{other, warning}, Pages: 2},
	}
	res, err := merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if got := fixture.IDs(t, res.Matches); !slices.Equal(got, []string{"Observation/a", "Observation/b", "Observation/c"}) {
		t.Errorf("matches = %v", got)
	}
	if got := fixture.IDs(t, res.Includes); !slices.Equal(got, []string{"Observation/d"}) {
		t.Errorf("includes = %v; a match also included stays a match only", got)
	}
	if res.Pages != 3 {
		t.Errorf("pages = %d", res.Pages)
	}
	if got := onceEach(res.Outcomes); len(got) != 2 || got[0].Issue[0].Code != "informational" || got[1].Issue[0].Code != "incomplete" {
		t.Errorf("outcomes once each = %+v, want each once in first-seen order", got)
	}
	bad := []*fhir.SearchResult{{Matches: []fhir.BundleEntry{{Resource: []byte(`{"id":"x"}`)}}}}
	if _, err := merge(bad); !errors.Is(err, fhir.ErrMalformed) {
		t.Errorf("entry without resourceType: err = %v", err)
	}
}

// TestFanOutOverSharedData checks the fan-out on a real Synthea record: the
// union of the category searches is every Observation of the patient that
// has one of Epic's categories.
func TestFanOutOverSharedData(t *testing.T) {
	dir := fhirtest.SharedData(t)
	files, err := filepath.Glob(filepath.Join(dir, "synthea", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no Synthea bundles in %s", dir)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	epic := platformtest.Open(t, "epic")
	plain := fhirtest.NewTestServer(fhirtest.WithPlatform(fixture.Platform(t, "smart")))
	defer plain.Close()
	for _, ts := range []*fhirtest.TestServer{epic.TestServer, plain} {
		if err := ts.LoadBundle(data); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	raw, err := fhir.NewClient(plain.URL, fhir.WithHTTPClient(plain.Client()))
	if err != nil {
		t.Fatal(err)
	}
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
	fanned, err := epic.Adapter.Search(ctx, "Observation", q)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range all.Matches {
		if hasCategory(t, e.Resource, epic.Platform().ObservationCategories) {
			h, _ := fhir.ReadHeader(e.Resource)
			want = append(want, h.Ref())
		}
	}
	slices.Sort(want)
	if got := fixture.IDs(t, fanned.Matches); !slices.Equal(got, want) {
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
