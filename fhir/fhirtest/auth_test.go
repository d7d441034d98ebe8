package fhirtest

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

const labScope = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"

func newGuardedServer(t *testing.T) (*Server, *fakeAuth) {
	t.Helper()
	auth := &fakeAuth{tokens: map[string]Access{
		"sys":      {Subject: "backend", ClientID: "backend"},
		"p1":       {Subject: "ana", ClientID: "app", Patient: "p1"},
		"p1-lab":   {Patient: "p1", Scopes: []string{"openid", "launch/patient", labScope, "patient/Patient.read"}},
		"p1-cond":  {Patient: "p1", Scopes: []string{"patient/Condition.read"}},
		"p1-write": {Patient: "p1", Scopes: []string{"patient/Observation.cruds", "patient/Patient.rs"}},
		"p1-v1":    {Patient: "p1", Scopes: []string{"patient/*.read"}},
	}}
	srv, _ := newFixtureServer(t, WithAuthorizer(auth), WithPlatform(fhir.Platform{Name: "x", Everything: true}))
	return srv, auth
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAuthRequiresToken(t *testing.T) {
	srv, auth := newGuardedServer(t)
	for _, headers := range [][]string{nil, bearer("forged"), {"Authorization", "Basic eDp5"}} {
		rec := get(t, srv, "/Patient/p1", headers...)
		wantStatus(t, rec, http.StatusUnauthorized)
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a Bearer challenge")
		}
		if _, err := fhir.ParseOutcome(rec.Body.Bytes()); err != nil {
			t.Errorf("401 body: %v", err)
		}
	}
	wantStatus(t, get(t, srv, "/metadata"), http.StatusOK)
	for _, path := range []string{"/auth/authorize?client_id=x", "/auth/token", "/.well-known/smart-configuration"} {
		rec := get(t, srv, path)
		wantStatus(t, rec, http.StatusOK)
		if !strings.Contains(rec.Body.String(), `"served"`) {
			t.Errorf("%s did not reach the Authorizer", path)
		}
	}
	if got := auth.base(); got != "http://example.com" {
		t.Errorf("the Authorizer saw base URL %q", got)
	}
	wantStatus(t, get(t, srv, "/Patient/p1", bearer("sys")...), http.StatusOK)

	plain, _ := newFixtureServer(t)
	wantStatus(t, get(t, plain, "/auth/authorize"), http.StatusNotFound)
	wantStatus(t, get(t, plain, "/.well-known/smart-configuration"), http.StatusNotFound)
}

type brokenAuth struct{ fakeAuth }

func (*brokenAuth) Authenticate(*http.Request) (Access, error) {
	return Access{}, errors.New("store down")
}

func TestAuthFailureIsNotUnauthorized(t *testing.T) {
	srv := New(WithAuthorizer(&brokenAuth{}))
	wantStatus(t, get(t, srv, "/Patient/p1"), http.StatusInternalServerError)
}

func TestPatientAccess(t *testing.T) {
	srv, _ := newGuardedServer(t)
	for _, tc := range []struct {
		token, target string
		want          int
	}{
		{"p1", "/Patient/p1", http.StatusOK},
		{"p1", "/Patient/p2", http.StatusForbidden},
		{"p1", "/Observation/o1", http.StatusOK},
		{"p1", "/Observation/o4", http.StatusForbidden},
		{"p1", "/Practitioner/dr", http.StatusOK},
		{"p1", "/Observation?patient=p2", http.StatusForbidden},
		{"p1", "/Observation?patient=p1,p2", http.StatusForbidden},
		{"p1", "/Observation?subject=Patient/p2", http.StatusForbidden},
		{"p1", "/Patient?_id=p2", http.StatusForbidden},
		{"p1", "/Patient/p2/$everything", http.StatusForbidden},
		{"p1", "/Patient/p1/$everything", http.StatusOK},
		{"sys", "/Patient/p2", http.StatusOK},
		{"sys", "/Observation?patient=p2", http.StatusOK},
		{"p1-lab", "/Observation/o1", http.StatusOK},
		{"p1-lab", "/Observation/o3", http.StatusForbidden},
		{"p1-lab", "/Patient/p1", http.StatusOK},
		{"p1-lab", "/Condition?patient=p1", http.StatusForbidden},
		{"p1-cond", "/Observation?patient=p1", http.StatusForbidden},
		{"p1-cond", "/Condition?patient=p1", http.StatusOK},
		{"p1-v1", "/Observation?patient=p1", http.StatusOK},
		{"p1-v1", "/Observation/o3", http.StatusOK},
	} {
		t.Run(tc.token+" "+tc.target, func(t *testing.T) {
			wantStatus(t, get(t, srv, tc.target, bearer(tc.token)...), tc.want)
		})
	}

	for _, tc := range []struct {
		token, target string
		want          []string
	}{
		{"p1", "/Observation", refs("Observation", "o1", "o2", "o3", "o5")},
		{"p1", "/Observation?category=laboratory", refs("Observation", "o1", "o2")},
		{"p1", "/Patient", refs("Patient", "p1")},
		{"p1", "/Patient?name=nunn", nil},
		{"p1-lab", "/Observation?patient=p1", refs("Observation", "o1", "o2")},
		{"sys", "/Observation?category=laboratory", refs("Observation", "o1", "o2", "o4")},
	} {
		got := matchRefs(t, searchAll(t, srv, tc.target, bearer(tc.token)...))
		if !sameSet(got, tc.want) {
			t.Errorf("%s %s: got %v, want %v", tc.token, tc.target, got, tc.want)
		}
	}

	// Includes follow references only where the token may read.
	b := parseBundle(t, get(t, srv, "/Observation?patient=p1&_include=Observation:performer&_include=Observation:patient", bearer("p1-lab")...))
	var included []string
	for _, e := range entriesWithMode(b, "include") {
		included = append(included, entryRef(t, e))
	}
	if !sameSet(included, []string{"Patient/p1"}) {
		t.Errorf("p1-lab includes %v, want only Patient/p1 (no Practitioner scope)", included)
	}

	// A patient cannot page through another's search.
	sysPage := parseBundle(t, get(t, srv, "/Observation?_count=1", bearer("sys")...))
	next := localTarget(t, sysPage.LinkURL("next"))
	wantStatus(t, get(t, srv, next, bearer("p1")...), http.StatusForbidden)
	wantStatus(t, get(t, srv, next, bearer("sys")...), http.StatusOK)
}

func TestPatientWrites(t *testing.T) {
	srv, _ := newGuardedServer(t)
	own := `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"},"code":{"text":"steps"}}`
	other := strings.Replace(own, "Patient/p1", "Patient/p2", 1)
	for _, tc := range []struct {
		token, method, target, body string
		want                        int
	}{
		{"p1-write", http.MethodPost, "/Observation", own, http.StatusCreated},
		{"p1-write", http.MethodPost, "/Observation", other, http.StatusForbidden},
		{"p1-write", http.MethodPut, "/Observation/o4", obs("o4", "p1", "laboratory", "2024-01-01"), http.StatusForbidden},
		{"p1-write", http.MethodPut, "/Observation/o1", obs("o1", "p2", "laboratory", "2024-01-01"), http.StatusForbidden},
		{"p1-write", http.MethodPut, "/Observation/o1", obs("o1", "p1", "laboratory", "2024-01-02"), http.StatusOK},
		{"p1-write", http.MethodPost, "/Patient", `{"resourceType":"Patient"}`, http.StatusForbidden},
		{"p1-cond", http.MethodPost, "/Observation", own, http.StatusForbidden},
		{"p1-v1", http.MethodPost, "/Observation", own, http.StatusForbidden},
		{"sys", http.MethodPost, "/Observation", other, http.StatusCreated},
	} {
		t.Run(tc.token+" "+tc.method+" "+tc.target, func(t *testing.T) {
			wantStatus(t, do(t, srv, tc.method, tc.target, tc.body, bearer(tc.token)...), tc.want)
		})
	}
}

func TestParseResourceScope(t *testing.T) {
	for _, tc := range []struct {
		scope string
		ok    bool
		typ   string
		ops   string
	}{
		{"patient/Observation.read", true, "Observation", "rs"},
		{"user/*.write", true, "*", "cud"},
		{"system/Patient.*", true, "Patient", "cruds"},
		{"patient/Condition.rs", true, "Condition", "rs"},
		{"patient/Condition.cruds", true, "Condition", "cruds"},
		{"patient/Condition.sr", false, "", ""},
		{"patient/Condition.", false, "", ""},
		{"patient/condition.read", false, "", ""},
		{"openid", false, "", ""},
		{"launch/patient", false, "", ""},
		{"admin/Patient.read", false, "", ""},
		{labScope, true, "Observation", "rs"},
		{"patient/Observation.rs?", false, "", ""},
		{"patient/Observation.rs?%zz", false, "", ""},
	} {
		rs, ok := parseResourceScope(tc.scope)
		if ok != tc.ok || rs.typ != tc.typ || rs.ops != tc.ops {
			t.Errorf("%q: got %+v %v, want %s %s %v", tc.scope, rs, ok, tc.typ, tc.ops, tc.ok)
		}
	}
	// A filter that does not parse as a search grants nothing.
	g := newGrant(Access{Scopes: []string{"patient/Observation.rs?nonsense=1"}})
	if g.rule("Observation", opSearch).allowed {
		t.Error("an unparseable scope filter granted access")
	}
}

func TestBaseURL(t *testing.T) {
	patientFullURL := func(h http.Handler, target string, headers ...string) string {
		t.Helper()
		b := parseBundle(t, get(t, h, target, headers...))
		if len(b.Entry) != 1 {
			t.Fatalf("%d entries", len(b.Entry))
		}
		return b.Entry[0].FullURL
	}
	srv, _ := newFixtureServer(t)
	if got := patientFullURL(srv, "/Patient?_id=p1", "X-Forwarded-Proto", "https"); got != "https://example.com/Patient/p1" {
		t.Errorf("X-Forwarded-Proto: %s", got)
	}
	mounted := http.StripPrefix("/sandbox/epic/fhir", srv)
	if got := patientFullURL(mounted, "/sandbox/epic/fhir/Patient?_id=p1"); got != "http://example.com/sandbox/epic/fhir/Patient/p1" {
		t.Errorf("behind StripPrefix: %s", got)
	}
	prefixed, _ := newFixtureServer(t, WithPathPrefix("/x/fhir/"))
	if got := patientFullURL(prefixed, "/Patient?_id=p1"); got != "http://example.com/x/fhir/Patient/p1" {
		t.Errorf("WithPathPrefix: %s", got)
	}
	public, _ := newFixtureServer(t, WithPublicBaseURL("https://ehr.example/r4/"))
	if got := patientFullURL(public, "/Patient?_id=p1", "X-Forwarded-Proto", "http"); got != "https://ehr.example/r4/Patient/p1" {
		t.Errorf("WithPublicBaseURL: %s", got)
	}
}

func TestCORS(t *testing.T) {
	srv, _ := newGuardedServer(t)
	rec := do(t, srv, http.MethodOptions, "/Observation", "", "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	wantStatus(t, rec, http.StatusNoContent)
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight headers %v", rec.Header())
	}
	rec = get(t, srv, "/metadata", "Origin", "https://app.example")
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("metadata is not shared with browser apps")
	}
}
