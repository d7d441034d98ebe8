package fhirtest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

var (
	epicLike = fhir.Platform{
		Name: "epic",
		Search: fhir.SearchQuirks{
			RequireOneOf:    map[string][]string{"Observation": {"category", "code"}},
			OutcomeWarnings: true,
		},
		PreviousRelation: "previous",
	}
	oracleLike = fhir.Platform{
		Name: "cerner",
		Search: fhir.SearchQuirks{
			MaxCount:  200,
			Exclusive: [][]string{{"date", "_lastUpdated"}},
		},
		Everything: true,
	}
	athenaLike = fhir.Platform{
		Name:   "athena",
		Search: fhir.SearchQuirks{RequireAll: map[string][]string{"MedicationRequest": {"intent"}}},
	}
)

// sharingData returns a new server that reads the shared server's store,
// so that each platform does not reload the data. Tests must not write.
func sharingData(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv := New(opts...)
	srv.store = loadedServer(t).store
	return srv
}

func TestEpicLikePlatform(t *testing.T) {
	srv := sharingData(t, WithPlatform(epicLike))

	rec := get(t, srv, "/Observation?patient=85")
	wantStatus(t, rec, http.StatusBadRequest)
	if o, err := fhir.ParseOutcome(rec.Body.Bytes()); err != nil || !strings.Contains(o.Summary(), "category") {
		t.Errorf("the refusal does not say what is missing: %v %s", err, rec.Body)
	}
	// POST _search is held to the same rule.
	wantStatus(t, do(t, srv, http.MethodPost, "/Observation/_search", "patient=85", "Content-Type", "application/x-www-form-urlencoded"), http.StatusBadRequest)

	pages := searchAll(t, srv, "/Observation?patient=85&category=social-history&_count=10")
	if len(pages) < 2 {
		t.Fatalf("%d pages: the test wants several", len(pages))
	}
	for i, b := range pages {
		outcomes := entriesWithMode(b, "outcome")
		if len(outcomes) != 1 {
			t.Fatalf("page %d has %d outcome entries, want 1", i, len(outcomes))
		}
		o, err := fhir.ParseOutcome(outcomes[0].Resource)
		if err != nil || o.Issue[0].Severity != fhir.SeverityWarning {
			t.Errorf("page %d outcome entry is not a warning: %v", i, err)
		}
		if !strings.HasPrefix(outcomes[0].FullURL, "urn:uuid:") {
			t.Errorf("outcome entry fullUrl %q", outcomes[0].FullURL)
		}
		if i > 0 && !hasRel(b, "previous") {
			t.Errorf("page %d has no previous link: %v", i, b.Link)
		}
	}
	if n := len(matchRefs(t, pages)); n != *pages[0].Total {
		t.Errorf("%d matches over the pages, total says %d", n, *pages[0].Total)
	}
	parseBundle(t, get(t, srv, "/Observation?patient=85&code=http://loinc.org|72166-2"))
	parseBundle(t, get(t, srv, "/Condition?patient=85"))
}

func TestOracleLikePlatform(t *testing.T) {
	srv := sharingData(t, WithPlatform(oracleLike))

	b := parseBundle(t, get(t, srv, "/Observation?_count=500"))
	if len(b.Entry) != 200 || *b.Total <= 200 {
		t.Fatalf("_count=500 gave %d entries of %d, want a page of 200", len(b.Entry), *b.Total)
	}
	next, err := url.Parse(b.LinkURL("next"))
	if err != nil || next.Query().Get("_count") != "200" {
		t.Errorf("next link %q does not carry the capped size", b.LinkURL("next"))
	}
	if b := parseBundle(t, get(t, srv, "/Observation")); len(b.Entry) != defaultPageSize {
		t.Errorf("no _count gave %d entries, want %d", len(b.Entry), defaultPageSize)
	}
	wantStatus(t, get(t, srv, "/Observation?patient=85&date=ge2000&_lastUpdated=ge2020"), http.StatusBadRequest)
	parseBundle(t, get(t, srv, "/Observation?patient=85&date=ge2000"))
	if strings.Contains(get(t, srv, "/Observation?patient=85&category=laboratory").Body.String(), `"outcome"`) {
		t.Error("a platform without outcome warnings put one in")
	}
}

func TestAthenaLikePlatform(t *testing.T) {
	srv := sharingData(t, WithPlatform(athenaLike))
	wantStatus(t, get(t, srv, "/MedicationRequest?patient=85"), http.StatusBadRequest)
	parseBundle(t, get(t, srv, "/MedicationRequest?patient=85&intent=order"))
}

func TestGenericServerPageSize(t *testing.T) {
	srv := sharingData(t)
	if b := parseBundle(t, get(t, srv, "/Observation?_count=5000")); len(b.Entry) != maxPageSize {
		t.Errorf("_count=5000 gave %d entries, want the server cap %d", len(b.Entry), maxPageSize)
	}
}
