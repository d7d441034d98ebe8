package fhirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

func refs(prefix string, ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = prefix + "/" + id
	}
	return out
}

// sameSet compares two lists of refs ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestDatePrefixes checks the nine prefixes against instants, days and a
// Period: o1 2024-01-15T10:00Z, o2 the day 2024-02-15, o3 2024-03-15T06:30Z,
// o5 the Period 2024-01-01 to 2024-12-31.
func TestDatePrefixes(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, tc := range []struct {
		dates string
		want  []string
	}{
		{"date=2024-02-15", []string{"o2"}},
		{"date=eq2024", []string{"o1", "o2", "o3", "o5"}},
		{"date=ne2024-02-15", []string{"o1", "o3", "o5"}},
		{"date=gt2024-02-15", []string{"o3", "o5"}},
		{"date=ge2024-02-15", []string{"o2", "o3", "o5"}},
		{"date=lt2024-02-15", []string{"o1", "o5"}},
		{"date=le2024-02-15", []string{"o1", "o2", "o5"}},
		{"date=sa2024-02-15", []string{"o3"}},
		{"date=eb2024-02-15", []string{"o1"}},
		{"date=ap2024-03-15", []string{"o1", "o2", "o3", "o5"}},
		{"date=ap2023-01-01", nil},
		{"date=2024-03-15", []string{"o3"}},
		{"date=lt2024-03-15T07:00:00Z", []string{"o1", "o2", "o3", "o5"}},
		{"date=gt2024-03-15T07:00:00Z", []string{"o5"}},
		{"date=ge2024-03-15T08:30:00%2B02:00", []string{"o3", "o5"}},
		{"date=ge2024-01-01&date=lt2024-02-01", []string{"o1", "o5"}},
		{"date=2024-01-15,2024-02-15", []string{"o1", "o2"}},
		{"date=ge2025-01-01", nil},
	} {
		t.Run(tc.dates, func(t *testing.T) {
			got := matchRefs(t, searchAll(t, srv, "/Observation?patient=p1&"+tc.dates))
			if want := refs("Observation", tc.want...); !sameSet(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestDatePrefixesNarrow checks on real data that lt and ge split the
// results of a day, and that narrower ranges find fewer.
func TestDatePrefixesNarrow(t *testing.T) {
	srv := loadedServer(t)
	count := func(q string) int {
		return len(matchRefs(t, searchAll(t, srv, "/Observation?patient=355&category=vital-signs"+q)))
	}
	all := count("")
	for _, day := range []string{"1950-01-01", "1990-06-15", "2010-01-01"} {
		lt, ge := count("&date=lt"+day), count("&date=ge"+day)
		if lt == 0 || ge == 0 {
			t.Errorf("%s: lt %d, ge %d: the split tests nothing", day, lt, ge)
		}
		// Observations with an open Period can fall on both sides.
		if lt+ge < all {
			t.Errorf("%s: lt %d + ge %d < all %d", day, lt, ge, all)
		}
		if between, from := count("&date=ge1950-01-01&date=lt"+day), count("&date=ge1950-01-01"); between > from || between > lt {
			t.Errorf("ge1950-01-01 and lt%s found %d, more than either alone (%d, %d)", day, between, from, lt)
		}
	}
	if gt, ge := count("&date=gt1990-06-15"), count("&date=ge1990-06-15"); gt > ge {
		t.Errorf("gt found %d, more than ge (%d)", gt, ge)
	}
}

func TestStringSearch(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"name=nu", []string{"p1", "p2"}},
		{"name=NUNN", []string{"p2"}},
		{"name=núñ", []string{"p1", "p2"}},
		{"name=NÚÑE", []string{"p1"}},
		{"name=ana", []string{"p1"}},
		{"name=mar", []string{"p1"}},
		{"name:exact=Ana", []string{"p1"}},
		{"name:exact=ana", nil},
		{"name:exact=Nu", nil},
		{"name:contains=ari", []string{"p1"}},
		{"name:contains=UN", []string{"p1", "p2"}},
		{"family=nun", []string{"p1", "p2"}},
		{"given=bo", []string{"p2"}},
		{"given=ana,bob", []string{"p1", "p2"}},
		{"family=nun&given=bob", []string{"p2"}},
		{"birthdate=1980-02-03&name=nunez", []string{"p1"}},
		{"gender=male&name=n", []string{"p2"}},
		{"identifier=urn:mrn|222", []string{"p2"}},
		{"identifier=222", []string{"p2"}},
		{"_id=p1,p2,nobody", []string{"p1", "p2"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := matchRefs(t, searchAll(t, srv, "/Patient?"+tc.query))
			if want := refs("Patient", tc.want...); !sameSet(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestMissingModifier(t *testing.T) {
	srv, _ := newFixtureServer(t)
	if got := matchRefs(t, searchAll(t, srv, "/Observation?category:missing=true")); !sameSet(got, refs("Observation", "o5")) {
		t.Errorf("missing=true: %v", got)
	}
	if got := matchRefs(t, searchAll(t, srv, "/Observation?category:missing=false")); len(got) != 4 {
		t.Errorf("missing=false: %v", got)
	}
}

func TestSort(t *testing.T) {
	srv, clock := newFixtureServer(t)
	for _, tc := range []struct {
		sort string
		want []string
	}{
		{"date", []string{"o5", "o1", "o2", "o3"}},
		{"-date", []string{"o3", "o2", "o1", "o5"}},
		{"_id", []string{"o1", "o2", "o3", "o5"}},
		{"-_id", []string{"o5", "o3", "o2", "o1"}},
		{"category,-date", []string{"o2", "o1", "o3", "o5"}},
	} {
		got := matchRefs(t, searchAll(t, srv, "/Observation?patient=p1&_count=2&_sort="+tc.sort))
		if want := refs("Observation", tc.want...); !slices.Equal(got, want) {
			t.Errorf("_sort=%s: got %v, want %v", tc.sort, got, want)
		}
	}
	// Touch o2 then o1 later: _lastUpdated orders them by write time.
	for _, id := range []string{"o2", "o1"} {
		clock.Advance(time.Minute)
		body := get(t, srv, "/Observation/"+id).Body.String()
		wantStatus(t, do(t, srv, http.MethodPut, "/Observation/"+id, body), http.StatusOK)
	}
	got := matchRefs(t, searchAll(t, srv, "/Observation?patient=p1&_sort=-_lastUpdated"))
	if want := refs("Observation", "o1", "o2", "o3", "o5"); !slices.Equal(got, want) {
		t.Errorf("_sort=-_lastUpdated: got %v, want %v", got, want)
	}
	got = matchRefs(t, searchAll(t, srv, "/Observation?patient=p1&_sort=_lastUpdated"))
	if want := refs("Observation", "o3", "o5", "o2", "o1"); !slices.Equal(got, want) {
		t.Errorf("_sort=_lastUpdated: got %v, want %v", got, want)
	}
}

func TestLastUpdated(t *testing.T) {
	srv, clock := newFixtureServer(t) // loaded at 09:00
	clock.Advance(time.Hour)          // 10:00
	wantStatus(t, do(t, srv, http.MethodPut, "/Patient/late", `{"resourceType":"Patient","id":"late"}`), http.StatusCreated)
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"_lastUpdated=gt2026-11-22T09:30:00Z", 1},
		{"_lastUpdated=lt2026-11-22T09:30:00Z", 2},
		{"_lastUpdated=ge2026-11-22T10:00:00Z", 1},
		{"_lastUpdated=le2026-11-22T09:00:00Z", 2},
		{"_lastUpdated=2026-11-22", 3},
		{"_lastUpdated=ge2026-11-23", 0},
		{"_lastUpdated=gt2026-11-22T09:00:00Z&_lastUpdated=lt2026-11-22T11:00:00Z", 1},
	} {
		if got := len(matchRefs(t, searchAll(t, srv, "/Patient?"+tc.q))); got != tc.want {
			t.Errorf("%s: %d matches, want %d", tc.q, got, tc.want)
		}
	}
}

func TestBadParameters(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, q := range []string{
		"foo=bar",
		"date=2024-13-01",
		"date=xx2024",
		"date=",
		"category:text=lab",
		"category:missing=maybe",
		"subject.name=x",
		"_count=-1",
		"_count=abc",
		"_count=1&_count=2",
		"_sort=nonsense",
		"_include=Patient:link",
		"_include=Observation:category",
		"_include=Observation",
		"_include:recurse=Observation:patient",
		"_revinclude=Provenance:nothing",
		"patient=",
		"patient=Practitioner/dr",
		"patient=a/b/c",
		"subject:Group=Patient/p1",
		"code=|",
		"_summary=weird",
	} {
		t.Run(q, func(t *testing.T) {
			rec := get(t, srv, "/Observation?"+q)
			wantStatus(t, rec, http.StatusBadRequest)
			o, err := fhir.ParseOutcome(rec.Body.Bytes())
			if err != nil || o.Issue[0].Severity != fhir.SeverityError || o.Issue[0].Diagnostics == "" {
				t.Errorf("not an OperationOutcome with a reason: %v %s", err, rec.Body)
			}
		})
	}
	t.Run("lenient", func(t *testing.T) {
		rec := get(t, srv, "/Observation?patient=p1&foo=bar&x.y=1", "Prefer", "handling=lenient")
		if b := parseBundle(t, rec); *b.Total != 4 {
			t.Errorf("lenient search found %d, want 4", *b.Total)
		}
		if self := parseBundle(t, rec).LinkURL("self"); strings.Contains(self, "foo") {
			t.Errorf("the self link keeps an ignored parameter: %s", self)
		}
	})
	t.Run("ignored result parameters", func(t *testing.T) {
		parseBundle(t, get(t, srv, "/Observation?patient=p1&_format=json&_pretty=true&_total=accurate&_summary=false"))
	})
}

func TestPostSearchEqualsGet(t *testing.T) {
	srv := loadedServer(t)
	for _, q := range []string{
		"patient=85&category=laboratory",
		"patient=355&category=vital-signs&date=ge1990-01-01&_count=5&_sort=-date",
		"patient=85&intent=order&status=active,stopped",
		"_id=85",
	} {
		t.Run(q, func(t *testing.T) {
			typ := "Observation"
			switch {
			case strings.Contains(q, "intent"):
				typ = "MedicationRequest"
			case strings.HasPrefix(q, "_id"):
				typ = "Patient"
			}
			viaGet := parseBundle(t, get(t, srv, "/"+typ+"?"+q))
			viaPost := parseBundle(t, do(t, srv, http.MethodPost, "/"+typ+"/_search", q, "Content-Type", "application/x-www-form-urlencoded"))
			if *viaGet.Total == 0 {
				t.Fatal("the search finds nothing: the comparison tests nothing")
			}
			if *viaGet.Total != *viaPost.Total || len(viaGet.Entry) != len(viaPost.Entry) {
				t.Fatalf("GET found %d (%d entries), POST %d (%d entries)", *viaGet.Total, len(viaGet.Entry), *viaPost.Total, len(viaPost.Entry))
			}
			for i := range viaGet.Entry {
				g, p := viaGet.Entry[i], viaPost.Entry[i]
				if g.FullURL != p.FullURL || !bytes.Equal(g.Resource, p.Resource) {
					t.Errorf("entry %d differs: %s vs %s", i, g.FullURL, p.FullURL)
				}
			}
			if viaGet.LinkURL("self") != viaPost.LinkURL("self") {
				t.Errorf("self links differ: %s vs %s", viaGet.LinkURL("self"), viaPost.LinkURL("self"))
			}
		})
	}
	t.Run("query and body together", func(t *testing.T) {
		viaGet := parseBundle(t, get(t, srv, "/Observation?patient=85&category=laboratory"))
		mixed := parseBundle(t, do(t, srv, http.MethodPost, "/Observation/_search?patient=85", "category=laboratory", "Content-Type", "application/x-www-form-urlencoded"))
		if *viaGet.Total != *mixed.Total {
			t.Errorf("GET %d, POST with parameters split between query and body %d", *viaGet.Total, *mixed.Total)
		}
	})
}

func TestIncludes(t *testing.T) {
	srv := loadedServer(t)
	o := loadOracle(t)

	b := parseBundle(t, get(t, srv, "/Observation?patient=85&category=survey&_include=Observation:patient"))
	if inc := entriesWithMode(b, "include"); len(inc) != 1 || entryRef(t, inc[0]) != "Patient/85" {
		t.Errorf("_include=Observation:patient gave %d include entries, want Patient/85 once", len(inc))
	}
	if *b.Total != len(entriesWithMode(b, "match")) {
		t.Errorf("total %d counts includes; matches %d", *b.Total, len(entriesWithMode(b, "match")))
	}

	provenances := o.where("Provenance", func(r oracleResource) bool { return o.refersTo(r, "target", "Patient/85") })
	if len(provenances) != 1 {
		t.Fatalf("the oracle finds %d Provenances of patient 85, want 1", len(provenances))
	}
	var target string
	for _, r := range o.resources {
		if "Provenance/"+r.id == provenances[0] {
			target = o.refs(r, "target")[1]
		}
	}
	for _, q := range []string{"/Patient?_id=85", "/" + strings.Replace(target, "/", "?_id=", 1)} {
		b := parseBundle(t, get(t, srv, q+"&_revinclude=Provenance:target"))
		inc := entriesWithMode(b, "include")
		if len(inc) != 1 || entryRef(t, inc[0]) != provenances[0] {
			t.Errorf("%s&_revinclude=Provenance:target: includes %v, want %s", q, inc, provenances[0])
		}
	}
	b = parseBundle(t, get(t, srv, "/Practitioner?_revinclude=Provenance:target&_count=1"))
	if len(entriesWithMode(b, "include")) != 0 {
		t.Errorf("a Provenance that targets no match was included")
	}
}

func TestSummaryCount(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, q := range []string{"_summary=count", "_count=0"} {
		b := parseBundle(t, get(t, srv, "/Observation?patient=p1&"+q))
		if *b.Total != 4 || len(b.Entry) != 0 || b.LinkURL("next") != "" {
			t.Errorf("%s: total %d with %d entries", q, *b.Total, len(b.Entry))
		}
	}
}

// TestPagingExactlyOnce pages through a search while resources are created
// and checks that every match comes exactly once and nothing new slips in.
func TestPagingExactlyOnce(t *testing.T) {
	srv := New(WithPlatform(fhir.Platform{Name: "p", PreviousRelation: "prev"}))
	for _, f := range dataFiles(t, "inferno") {
		if strings.HasSuffix(f, "_355.json") {
			if err := srv.LoadFile(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := parseBundle(t, get(t, srv, "/Observation?patient=355&_count=13"))
	total := *first.Total
	if total < 100 {
		t.Fatalf("patient 355 has %d Observations; the test expects more than 100", total)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // writers keep adding to the same search's results
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/355"},"code":{"text":"new %d"}}`, i)
			rec := do(t, srv, http.MethodPost, "/Observation", body)
			if rec.Code != http.StatusCreated {
				t.Errorf("create: %d", rec.Code)
				return
			}
		}
	}()

	seen := map[string]int{}
	page := first
	for n := 0; ; n++ {
		if *page.Total != total {
			t.Errorf("page %d: total %d, want %d", n, *page.Total, total)
		}
		if hasRel(page, "prev") != (n > 0) || hasRel(page, "previous") {
			t.Errorf("page %d links %v: want prev (the platform's name) after the first page", n, page.Link)
		}
		for _, e := range page.Entry {
			if !strings.HasPrefix(e.FullURL, "http://example.com/Observation/") {
				t.Errorf("entry fullUrl %q", e.FullURL)
			}
			seen[entryRef(t, e)]++
		}
		next := page.LinkURL("next")
		if next == "" {
			break
		}
		if !strings.Contains(next, "_count=13") {
			t.Errorf("next link lost the page size: %s", next)
		}
		page = parseBundle(t, get(t, srv, localTarget(t, next)))
	}
	close(stop)
	wg.Wait()

	if len(seen) != total {
		t.Errorf("paging returned %d distinct resources, want %d", len(seen), total)
	}
	for ref, n := range seen {
		if n != 1 {
			t.Errorf("%s came %d times", ref, n)
		}
	}
	if again := parseBundle(t, get(t, srv, "/Observation?patient=355&_count=13")); *again.Total <= total {
		t.Errorf("a new search does not see the created Observations: %d", *again.Total)
	}

	// The previous link leads back to the page before.
	second := parseBundle(t, get(t, srv, localTarget(t, first.LinkURL("next"))))
	back := parseBundle(t, get(t, srv, localTarget(t, second.LinkURL("prev"))))
	if len(back.Entry) != len(first.Entry) || back.Entry[0].FullURL != first.Entry[0].FullURL {
		t.Errorf("prev does not lead back to the first page")
	}
}

func TestPageExpiry(t *testing.T) {
	srv, clock := newFixtureServer(t)
	first := parseBundle(t, get(t, srv, "/Observation?patient=p1&_count=1"))
	next := localTarget(t, first.LinkURL("next"))

	clock.Advance(snapshotTTL - time.Nanosecond)
	wantStatus(t, get(t, srv, next), http.StatusOK)
	clock.Advance(time.Nanosecond)
	wantStatus(t, get(t, srv, next), http.StatusGone)

	wantStatus(t, get(t, srv, "/?_getpages=unknown&_getpagesoffset=0&_count=1"), http.StatusGone)
	first = parseBundle(t, get(t, srv, "/Observation?patient=p1&_count=1"))
	u, _ := url.Parse(first.LinkURL("next"))
	q := u.Query()
	for _, bad := range []url.Values{{"_getpagesoffset": {"99"}}, {"_getpagesoffset": {"-1"}}, {"_count": {"0"}}} {
		mod := url.Values{}
		for k, v := range q {
			mod[k] = v
		}
		for k, v := range bad {
			mod[k] = v
		}
		wantStatus(t, get(t, srv, "/?"+mod.Encode()), http.StatusBadRequest)
	}
}

func TestPageCacheEvictsOldest(t *testing.T) {
	c := newPageCache(2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tok := range []string{"a", "b", "c"} {
		c.put(tok, &resultSet{expires: now.Add(time.Hour)}, now)
	}
	if _, ok := c.get("a", now); ok {
		t.Error("the oldest set survived past the bound")
	}
	for _, tok := range []string{"b", "c"} {
		if _, ok := c.get(tok, now); !ok {
			t.Errorf("set %s was evicted", tok)
		}
	}
}

func TestEverything(t *testing.T) {
	srv := sharingData(t, WithPlatform(fhir.Platform{Name: "smart", Everything: true}))
	pages := searchAll(t, srv, "/Patient/85/$everything?_count=50")
	got := matchRefs(t, pages)
	if got[0] != "Patient/85" {
		t.Errorf("$everything starts with %s, want the patient", got[0])
	}
	o := loadOracle(t)
	want := 0
	for _, r := range o.resources {
		for _, f := range []string{"subject", "patient", "beneficiary"} {
			if o.refersTo(r, f, "Patient/85") {
				want++
				break
			}
		}
	}
	// The Provenance points at the patient through target.
	if len(got) != want+2 {
		t.Errorf("$everything returned %d resources, want %d (compartment) + patient + provenance", len(got), want)
	}
	typed := matchRefs(t, searchAll(t, srv, "/Patient/85/$everything?_type=Condition"))
	if n := len(typed); n != 14 || !slices.ContainsFunc(typed, func(r string) bool { return r == "Patient/85" }) {
		t.Errorf("_type=Condition returned %d resources: %v", n, typed[:min(n, 3)])
	}
	wantStatus(t, get(t, srv, "/Patient/nobody/$everything"), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/Patient/85/$everything?start=2020"), http.StatusBadRequest)
}

func TestCapabilityStatement(t *testing.T) {
	srv, _ := newFixtureServer(t, WithAuthorizer(&fakeAuth{}), WithPlatform(fhir.Platform{Name: "x", Everything: true}))
	if err := srv.Load(json.RawMessage(`{"resourceType":"Basic","id":"b1"}`)); err != nil {
		t.Fatal(err)
	}
	rec := get(t, srv, "/metadata")
	wantStatus(t, rec, http.StatusOK)
	var cs struct {
		ResourceType string
		FHIRVersion  string `json:"fhirVersion"`
		Rest         []struct {
			Security struct {
				Extension []struct {
					URL       string
					Extension []struct{ URL, ValueURI string }
				}
			}
			Resource []struct {
				Type        string
				Interaction []struct{ Code string }
				SearchParam []struct{ Name, Type string }
				Operation   []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	if cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" {
		t.Fatalf("not an R4 CapabilityStatement: %s %s", cs.ResourceType, cs.FHIRVersion)
	}
	types := map[string]bool{}
	for _, r := range cs.Rest[0].Resource {
		types[r.Type] = true
		hasPatient := slices.ContainsFunc(r.SearchParam, func(p struct{ Name, Type string }) bool { return p.Name == "patient" })
		if hasCompartment(r.Type) && r.Type != "Patient" && !hasPatient {
			t.Errorf("%s lacks the patient search parameter", r.Type)
		}
		if len(r.Interaction) == 0 {
			t.Errorf("%s lists no interactions", r.Type)
		}
		if r.Type == "Patient" && (len(r.Operation) != 1 || r.Operation[0].Name != "everything") {
			t.Errorf("Patient operations %v, want everything", r.Operation)
		}
	}
	for _, typ := range []string{"Basic", "Observation", "Patient", "QuestionnaireResponse", "Provenance", "Practitioner"} {
		if !types[typ] {
			t.Errorf("%s is not listed", typ)
		}
	}
	uris := map[string]string{}
	for _, ext := range cs.Rest[0].Security.Extension {
		if ext.URL == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" {
			for _, e := range ext.Extension {
				uris[e.URL] = e.ValueURI
			}
		}
	}
	if uris["authorize"] != "http://example.com/auth/authorize" || uris["token"] != "http://example.com/auth/token" {
		t.Errorf("oauth-uris %v", uris)
	}

	plain, _ := newFixtureServer(t)
	if strings.Contains(get(t, plain, "/metadata").Body.String(), "oauth-uris") {
		t.Error("a server without an Authorizer advertises oauth-uris")
	}
}

func hasRel(b *fhir.Bundle, rel string) bool {
	return slices.ContainsFunc(b.Link, func(l fhir.BundleLink) bool { return l.Relation == rel })
}
