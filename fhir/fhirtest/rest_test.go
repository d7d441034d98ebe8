package fhirtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// fixture holds two patients, a practitioner and observations at known dates.
var fixture = []string{
	`{"resourceType":"Patient","id":"p1","name":[{"family":"Núñez","given":["Ana","María"]}],"gender":"female","birthDate":"1980-02-03","identifier":[{"system":"urn:mrn","value":"111"}]}`,
	`{"resourceType":"Patient","id":"p2","name":[{"family":"Nunn","given":["Bob"]}],"gender":"male","birthDate":"1975-06-07","identifier":[{"system":"urn:mrn","value":"222"}]}`,
	`{"resourceType":"Practitioner","id":"dr","name":[{"family":"Who"}]}`,
	obs("o1", "p1", "laboratory", "2024-01-15T10:00:00Z"),
	obs("o2", "p1", "laboratory", "2024-02-15"),
	obs("o3", "p1", "vital-signs", "2024-03-15T08:30:00+02:00"),
	obs("o4", "p2", "laboratory", "2023-12-31T23:59:59Z"),
	`{"resourceType":"Observation","id":"o5","status":"final","subject":{"reference":"Patient/p1"},"code":{"text":"no category"},"effectivePeriod":{"start":"2024-01-01","end":"2024-12-31"}}`,
}

func obs(id, patient, category, effective string) string {
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":%q}]}],"code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]},"subject":{"reference":"Patient/%s"},"effectiveDateTime":%q,"performer":[{"reference":"Practitioner/dr"}]}`,
		id, category, patient, effective)
}

func newFixtureServer(t testing.TB, opts ...Option) (*Server, *fixedClock) {
	t.Helper()
	clock := newClock()
	srv := New(append([]Option{WithClock(clock.Now), WithRand(rand.New(rand.NewPCG(1, 2)))}, opts...)...)
	raws := make([]json.RawMessage, len(fixture))
	for i, f := range fixture {
		raws[i] = json.RawMessage(f)
	}
	if err := srv.Load(raws...); err != nil {
		t.Fatalf("loading the fixture: %v", err)
	}
	return srv, clock
}

func TestReadVersionsAndConditionalRead(t *testing.T) {
	srv, clock := newFixtureServer(t)
	rec := get(t, srv, "/Patient/p1")
	wantStatus(t, rec, http.StatusOK)
	if got := rec.Header().Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag %q, want W/\"1\"", got)
	}
	if got, want := rec.Header().Get("Last-Modified"), clock.Now().Format(http.TimeFormat); got != want {
		t.Errorf("Last-Modified %q, want %q", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, fhir.ContentType) {
		t.Errorf("Content-Type %q", ct)
	}
	doc := decode(t, rec.Body.Bytes())
	meta := doc["meta"].(map[string]any)
	if doc["id"] != "p1" || meta["versionId"] != "1" || meta["lastUpdated"] != "2026-11-22T09:00:00.000Z" {
		t.Errorf("stored resource has id %v, meta %v", doc["id"], meta)
	}
	if !strings.HasPrefix(rec.Body.String(), `{"resourceType":"Patient","id":"p1","meta":`) {
		t.Errorf("members are not in order: %.80s", rec.Body.String())
	}

	wantStatus(t, get(t, srv, "/Patient/p1", "If-None-Match", `W/"1"`), http.StatusNotModified)
	wantStatus(t, get(t, srv, "/Patient/p1", "If-None-Match", `W/"7"`), http.StatusOK)
	wantStatus(t, get(t, srv, "/Patient/p1/_history/1"), http.StatusOK)
	wantStatus(t, get(t, srv, "/Patient/p1/_history/2"), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/Patient/nobody"), http.StatusNotFound)
	wantStatus(t, get(t, srv, "/Nonsense/p1"), http.StatusNotFound)

	notFound := get(t, srv, "/Patient/nobody")
	o, err := fhir.ParseOutcome(notFound.Body.Bytes())
	if err != nil || o.Issue[0].Code != "not-found" {
		t.Errorf("404 body is not a not-found OperationOutcome: %v %s", err, notFound.Body)
	}
}

func TestCreate(t *testing.T) {
	srv, clock := newFixtureServer(t)
	clock.Advance(time.Hour)
	body := `{"resourceType":"Observation","id":"ignored","meta":{"source":"device-7"},"status":"final","subject":{"reference":"Patient/p2"},"code":{"text":"steps"}}`
	rec := do(t, srv, http.MethodPost, "/Observation", body, "Content-Type", fhir.ContentType)
	wantStatus(t, rec, http.StatusCreated)
	doc := decode(t, rec.Body.Bytes())
	id := doc["id"].(string)
	if id == "ignored" || !isID(id) {
		t.Errorf("the server kept the client's id or made an invalid one: %q", id)
	}
	meta := doc["meta"].(map[string]any)
	if meta["versionId"] != "1" || meta["lastUpdated"] != "2026-11-22T10:00:00.000Z" || meta["source"] != "device-7" {
		t.Errorf("meta %v", meta)
	}
	if loc, want := rec.Header().Get("Location"), "http://example.com/Observation/"+id+"/_history/1"; loc != want {
		t.Errorf("Location %q, want %q", loc, want)
	}
	if rec.Header().Get("ETag") != `W/"1"` {
		t.Errorf("ETag %q", rec.Header().Get("ETag"))
	}
	got := matchRefs(t, searchAll(t, srv, "/Observation?patient=p2&code:not=1234-5"))
	if len(got) != 1 || got[0] != "Observation/"+id {
		t.Errorf("the created Observation is not found by search: %v", got)
	}
	minimal := do(t, srv, http.MethodPost, "/Observation", body, "Prefer", "return=minimal")
	wantStatus(t, minimal, http.StatusCreated)
	if minimal.Body.Len() != 0 {
		t.Errorf("return=minimal sent a body")
	}

	for _, tc := range []struct {
		name, target, body string
		want               int
	}{
		{"not JSON", "/Observation", `{"resourceType":`, http.StatusUnprocessableEntity},
		{"no resourceType", "/Observation", `{"id":"x"}`, http.StatusUnprocessableEntity},
		{"an array", "/Observation", `[1,2]`, http.StatusUnprocessableEntity},
		{"meta not an object", "/Observation", `{"resourceType":"Observation","meta":3}`, http.StatusUnprocessableEntity},
		{"another type", "/Observation", `{"resourceType":"Patient"}`, http.StatusBadRequest},
		{"on an instance", "/Observation/o1", `{"resourceType":"Observation"}`, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, srv, http.MethodPost, tc.target, tc.body)
			wantStatus(t, rec, tc.want)
			if _, err := fhir.ParseOutcome(rec.Body.Bytes()); err != nil {
				t.Errorf("error reply is not an OperationOutcome: %v", err)
			}
		})
	}
}

func TestConditionalCreate(t *testing.T) {
	srv, _ := newFixtureServer(t)
	body := `{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"333"}]}`

	first := do(t, srv, http.MethodPost, "/Patient", body, "If-None-Exist", "identifier=urn:mrn|333")
	wantStatus(t, first, http.StatusCreated)
	id := decode(t, first.Body.Bytes())["id"]

	again := do(t, srv, http.MethodPost, "/Patient", body, "If-None-Exist", "identifier=urn:mrn|333")
	wantStatus(t, again, http.StatusOK)
	if got := decode(t, again.Body.Bytes())["id"]; got != id {
		t.Errorf("the conditional create answered %v, want the existing %v", got, id)
	}
	// Two patients share the urn:mrn system: the condition is ambiguous.
	wantStatus(t, do(t, srv, http.MethodPost, "/Patient", body, "If-None-Exist", "identifier=urn:mrn|"), http.StatusPreconditionFailed)
	wantStatus(t, do(t, srv, http.MethodPost, "/Patient", body, "If-None-Exist", "bogus=1"), http.StatusBadRequest)
}

func TestUpdate(t *testing.T) {
	srv, clock := newFixtureServer(t)
	put := func(id, body string, headers ...string) int {
		return do(t, srv, http.MethodPut, "/Patient/"+id, body, headers...).Code
	}
	const p1v2 = `{"resourceType":"Patient","id":"p1","gender":"other"}`
	clock.Advance(time.Minute)
	if got := put("p1", p1v2, "If-Match", `W/"2"`); got != http.StatusPreconditionFailed {
		t.Errorf("a stale If-Match gave %d, want 412", got)
	}
	if got := put("p1", p1v2, "If-Match", `W/"1"`); got != http.StatusOK {
		t.Errorf("a current If-Match gave %d, want 200", got)
	}
	rec := get(t, srv, "/Patient/p1")
	if rec.Header().Get("ETag") != `W/"2"` {
		t.Errorf("after an update ETag is %q, want W/\"2\"", rec.Header().Get("ETag"))
	}
	if got := matchRefs(t, searchAll(t, srv, "/Patient?gender=other")); len(got) != 1 {
		t.Errorf("the search index did not follow the update: %v", got)
	}
	if got := matchRefs(t, searchAll(t, srv, "/Patient?gender=female")); len(got) != 0 {
		t.Errorf("the old version is still indexed: %v", got)
	}
	if got := put("p1", p1v2); got != http.StatusOK {
		t.Errorf("an unconditional update gave %d", got)
	}
	if got := put("new", `{"resourceType":"Patient","id":"new"}`); got != http.StatusCreated {
		t.Errorf("update as create gave %d, want 201", got)
	}
	if got := put("absent", `{"resourceType":"Patient","id":"absent"}`, "If-Match", `W/"1"`); got != http.StatusPreconditionFailed {
		t.Errorf("If-Match on an absent resource gave %d, want 412", got)
	}
	if got := put("p1", `{"resourceType":"Patient","id":"p2"}`); got != http.StatusBadRequest {
		t.Errorf("an id that differs from the URL gave %d, want 400", got)
	}
	if got := put("p1", `{"resourceType":"Patient"}`); got != http.StatusBadRequest {
		t.Errorf("a body without id gave %d, want 400", got)
	}
	if got := put("p1", `{"resourceType":"Patient","id":"p1",`); got != http.StatusUnprocessableEntity {
		t.Errorf("a broken body gave %d, want 422", got)
	}
	// A changed subject moves an Observation to another compartment.
	wantStatus(t, do(t, srv, http.MethodPut, "/Observation/o1", obs("o1", "p2", "laboratory", "2024-01-15")), http.StatusOK)
	for _, q := range []struct {
		target string
		want   int
	}{{"/Observation?patient=p1&category=laboratory", 1}, {"/Observation?patient=p2&category=laboratory", 2}} {
		if got := len(matchRefs(t, searchAll(t, srv, q.target))); got != q.want {
			t.Errorf("%s: %d matches, want %d", q.target, got, q.want)
		}
	}
}

func TestMethodsAndPaths(t *testing.T) {
	srv, _ := newFixtureServer(t)
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{http.MethodDelete, "/Patient/p1", http.StatusMethodNotAllowed},
		{http.MethodPatch, "/Patient/p1", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/Patient", http.StatusMethodNotAllowed},
		{http.MethodPut, "/Patient/_search", http.StatusMethodNotAllowed},
		{http.MethodPost, "/metadata", http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/patient", http.StatusNotFound},
		{http.MethodGet, "/Patient/p1/extra", http.StatusNotFound},
		{http.MethodGet, "/Unknown", http.StatusNotFound},
		{http.MethodGet, "/Patient/p1/$everything", http.StatusNotFound},
	} {
		rec := do(t, srv, tc.method, tc.target, "")
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, rec.Code, tc.want)
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.target)
		}
	}
}

func TestLoad(t *testing.T) {
	srv, _ := newFixtureServer(t)
	t.Run("all or nothing", func(t *testing.T) {
		err := srv.Load(json.RawMessage(`{"resourceType":"Patient","id":"fine"}`), json.RawMessage(`{"resourceType":"Patient","id":"bad id!"}`))
		if err == nil {
			t.Fatal("a bad id loaded")
		}
		wantStatus(t, get(t, srv, "/Patient/fine"), http.StatusNotFound)
	})
	t.Run("keeps meta it is given", func(t *testing.T) {
		err := srv.Load(json.RawMessage(`{"resourceType":"Patient","id":"m","meta":{"versionId":"4","lastUpdated":"2020-05-06T07:08:09Z"}}`))
		if err != nil {
			t.Fatal(err)
		}
		rec := get(t, srv, "/Patient/m")
		if rec.Header().Get("ETag") != `W/"4"` {
			t.Errorf("ETag %q, want the loaded version 4", rec.Header().Get("ETag"))
		}
		if got := matchRefs(t, searchAll(t, srv, "/Patient?_lastUpdated=2020-05-06")); len(got) != 1 {
			t.Errorf("_lastUpdated does not use the loaded lastUpdated: %v", got)
		}
	})
	t.Run("reload makes a new version", func(t *testing.T) {
		if err := srv.Load(json.RawMessage(fixture[0]), json.RawMessage(fixture[0])); err != nil {
			t.Fatal(err)
		}
		if got := get(t, srv, "/Patient/p1").Header().Get("ETag"); got != `W/"3"` {
			t.Errorf("after loading p1 twice more ETag is %q, want W/\"3\"", got)
		}
	})
	t.Run("assigns missing ids", func(t *testing.T) {
		if err := srv.Load(json.RawMessage(`{"resourceType":"Basic","code":{"text":"x"}}`)); err != nil {
			t.Fatal(err)
		}
		if got := matchRefs(t, searchAll(t, srv, "/Basic")); len(got) != 1 {
			t.Errorf("the loaded Basic is not found: %v", got)
		}
	})
	t.Run("bad files", func(t *testing.T) {
		if err := srv.LoadBundle([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","link":[{"other":{"reference":"urn:uuid:2"}}]},"request":{"method":"POST","url":"Patient"}}]}`)); err == nil {
			t.Error("a bundle with a dangling urn:uuid loaded")
		}
		if err := srv.LoadFile("/nonexistent/file.json"); err == nil {
			t.Error("a missing file loaded")
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		nd := `{"resourceType":"Patient","id":"nd1"}` + "\n\n" + `{"resourceType":"Observation","id":"nd2","subject":{"reference":"Patient/nd1"},"status":"final","code":{"text":"x"}}` + "\n"
		if err := srv.LoadNDJSON(strings.NewReader(nd)); err != nil {
			t.Fatal(err)
		}
		if got := matchRefs(t, searchAll(t, srv, "/Observation?patient=nd1")); len(got) != 1 {
			t.Errorf("NDJSON resources not indexed: %v", got)
		}
	})
}

func TestLoadSharedFiles(t *testing.T) {
	srv := loadedServer(t) // loaded with LoadFile
	o := loadOracle(t)
	counts := map[string]int{}
	unique := map[string]bool{} // Synthea bundles share some Organizations and Practitioners
	for _, r := range o.resources {
		if ref := r.typ + "/" + r.id; !unique[ref] {
			unique[ref] = true
			counts[r.typ]++
		}
	}
	for typ, want := range counts {
		b := parseBundle(t, get(t, srv, "/"+typ+"?_summary=count"))
		if b.Total == nil || *b.Total != want {
			t.Errorf("%s: total %d, want %d", typ, *b.Total, want)
		}
	}
}
