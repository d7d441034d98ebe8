package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/sandbox"
)

// fixedNow keeps the generated records identical from run to run.
var fixedNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// startSandbox serves a sandbox on a loopback listener, the way the
// sandbox command does.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	opts.BaseURL = base
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv, err := gateway.New(gateway.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sb.Register(srv)
	srv.SetReady(true)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return sb, base
}

func getIndex(t *testing.T, base string) sandbox.Index {
	t.Helper()
	var idx sandbox.Index
	getJSON(t, base+"/sandbox", http.StatusOK, &idx)
	return idx
}

func getJSON(t *testing.T, url string, wantStatus int, v any) http.Header {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, wantStatus, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp.Header
}

func TestIndexListsOrgsPlatformsPeopleAndClients(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	getJSON(t, base+"/readyz", http.StatusOK, nil)
	idx := getIndex(t, base)
	if len(idx.Networks) != 1 {
		t.Fatalf("networks = %d, want 1", len(idx.Networks))
	}
	orgs := idx.Networks[0].Orgs
	platforms := map[string]bool{}
	for _, o := range orgs {
		platforms[o.Platform] = true
		if !strings.HasPrefix(o.FHIRBase, base+"/sandbox/"+o.ID+"/fhir") {
			t.Errorf("org %s: FHIR base %s", o.ID, o.FHIRBase)
		}
		if o.SMART.ClientID == "" || o.SMART.RedirectURI == "" {
			t.Errorf("org %s: no script client: %+v", o.ID, o.SMART)
		}
	}
	if len(orgs) < 3 || len(platforms) < 2 {
		t.Fatalf("want ≥3 orgs on ≥2 platforms, got %d orgs on %v", len(orgs), platforms)
	}
	if len(idx.People) == 0 {
		t.Fatal("no sandbox people")
	}
	for _, p := range idx.People {
		if len(p.Records) == 0 {
			t.Errorf("%s holds no record", p.ID)
		}
		for _, r := range p.Records {
			if r.Patient == "" {
				t.Errorf("%s: no patient id at %s", p.ID, r.Org)
			}
		}
	}
}

func TestEveryOrgServesACapabilityStatement(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	for _, o := range getIndex(t, base).Networks[0].Orgs {
		var cs struct {
			ResourceType string `json:"resourceType"`
			FHIRVersion  string `json:"fhirVersion"`
		}
		h := getJSON(t, o.Metadata, http.StatusOK, &cs)
		if cs.ResourceType != "CapabilityStatement" || !strings.HasPrefix(cs.FHIRVersion, "4.0") {
			t.Errorf("%s metadata: %+v", o.ID, cs)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s metadata: Cache-Control %q", o.ID, h.Get("Cache-Control"))
		}
		var smart struct {
			Authorize string `json:"authorization_endpoint"`
		}
		getJSON(t, o.SMART.Configuration, http.StatusOK, &smart)
		if smart.Authorize != o.SMART.Authorize {
			t.Errorf("%s: smart-configuration authorize %q, index says %q", o.ID, smart.Authorize, o.SMART.Authorize)
		}
	}
}

// person returns the first sandbox person with a sign-in and a record at org.
func person(t *testing.T, idx sandbox.Index, org string) (sandbox.IndexPerson, string) {
	t.Helper()
	for _, p := range idx.People {
		for _, r := range p.Records {
			if r.Org == org && p.Username != "" {
				return p, r.Patient
			}
		}
	}
	t.Fatalf("no sandbox person who can sign in holds a record at %s", org)
	return sandbox.IndexPerson{}, ""
}

func org(t *testing.T, idx sandbox.Index, platform string) sandbox.IndexOrg {
	t.Helper()
	for _, o := range idx.Networks[0].Orgs {
		if o.Platform == platform {
			return o
		}
	}
	t.Fatalf("no %s org in the sandbox", platform)
	return sandbox.IndexOrg{}
}

// launch runs a SMART standalone patient launch with the org's script
// client, signing in on the EHR's form as a script would, and returns an
// HTTP client carrying the access token and the token's patient.
func launch(t *testing.T, o sandbox.IndexOrg, username, password string) (*http.Client, string) {
	t.Helper()
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID:    o.SMART.ClientID,
		RedirectURL: o.SMART.RedirectURI,
		Scopes:      []string{"launch/patient", "patient/*.read", "offline_access"},
		Endpoint:    oauth2.Endpoint{AuthURL: o.SMART.Authorize, TokenURL: o.SMART.Token, AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	state := "st-" + username
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", o.FHIRBase))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), o.SMART.RedirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	action, fields := parseForm(t, resp)
	fields.Set("username", username)
	fields.Set("password", password)
	fields.Set("decision", "allow")
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = browser.PostForm(target.String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("sign-in answered %d without a redirect", resp.StatusCode)
	}
	if got := loc.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q", got, state)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	patient, _ := tok.Extra("patient").(string)
	return conf.Client(ctx, tok), patient
}

// parseForm reads the first form of an HTML page: its action and inputs.
func parseForm(t *testing.T, resp *http.Response) (string, url.Values) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize page: %d %s", resp.StatusCode, body)
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var action string
	fields := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				if action == "" {
					action = attr["action"]
				}
			case "input":
				if attr["name"] != "" {
					fields.Set(attr["name"], attr["value"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action == "" {
		t.Fatal("authorize page has no form")
	}
	return action, fields
}

func TestLaboratorySearchPagesThroughEveryResult(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	idx := getIndex(t, base)
	for _, o := range idx.Networks[0].Orgs {
		t.Run(o.ID, func(t *testing.T) {
			p, patientID := person(t, idx, o.ID)
			httpClient, tokenPatient := launch(t, o, p.Username, p.Password)
			if tokenPatient != patientID {
				t.Fatalf("token patient %q, index says %q", tokenPatient, patientID)
			}
			client, err := fhir.NewClient(o.FHIRBase, fhir.WithHTTPClient(httpClient))
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"patient": {patientID}, "category": {"laboratory"}, "_count": {"5"}}
			res, err := client.Search(context.Background(), "Observation", q)
			if err != nil {
				t.Fatalf("search: %v", err)
			}
			if res.Pages < 2 {
				t.Fatalf("%d results came in %d page(s); want paging", len(res.Matches), res.Pages)
			}
			if res.Total != nil && *res.Total != len(res.Matches) {
				t.Errorf("paged through %d results, total says %d", len(res.Matches), *res.Total)
			}
			seen := map[string]bool{}
			for _, e := range res.Matches {
				var obs struct {
					ID       string                     `json:"id"`
					Subject  struct{ Reference string } `json:"subject"`
					Category []struct {
						Coding []fhir.Coding `json:"coding"`
					} `json:"category"`
				}
				if err := json.Unmarshal(e.Resource, &obs); err != nil {
					t.Fatal(err)
				}
				if seen[obs.ID] {
					t.Errorf("Observation/%s came twice", obs.ID)
				}
				seen[obs.ID] = true
				if obs.Subject.Reference != "Patient/"+patientID {
					t.Errorf("Observation/%s is about %s", obs.ID, obs.Subject.Reference)
				}
				if !hasCode(obs.Category, "laboratory") {
					t.Errorf("Observation/%s is not a laboratory result", obs.ID)
				}
			}
			// Another patient's results are not this token's to read.
			other := url.Values{"patient": {"someone-else"}, "category": {"laboratory"}}
			if _, err := client.Search(context.Background(), "Observation", other); !errors.Is(err, fhir.ErrForbidden) && !errors.Is(err, fhir.ErrNotFound) {
				t.Errorf("searching another patient: %v, want forbidden", err)
			}
		})
	}
}

func hasCode(concepts []struct {
	Coding []fhir.Coding `json:"coding"`
}, code string) bool {
	for _, c := range concepts {
		for _, cd := range c.Coding {
			if cd.Code == code {
				return true
			}
		}
	}
	return false
}

func TestEpicLikeOrgRefusesObservationSearchWithoutCategory(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	idx := getIndex(t, base)
	o := org(t, idx, "epic")
	p, patientID := person(t, idx, o.ID)
	httpClient, _ := launch(t, o, p.Username, p.Password)
	resp, err := httpClient.Get(o.FHIRBase + "/Observation?patient=" + patientID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", resp.StatusCode, body)
	}
	oo, err := fhir.ParseOutcome(body)
	if err != nil || len(oo.Issue) == 0 || !strings.Contains(oo.Summary(), "category") {
		t.Fatalf("want an OperationOutcome naming category, got %s (%v)", body, err)
	}
}

// A script gets a token for a sandbox person with one POST, and the token
// reads that person's record only.
func TestScriptTokenForASandboxPerson(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	idx := getIndex(t, base)
	o := org(t, idx, "epic")
	p, patientID := person(t, idx, o.ID)
	post := func(body string) (*http.Response, []byte) {
		resp, err := http.Post(o.Token, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, raw
	}
	resp, raw := post(`{"username":"` + p.Username + `","password":"` + p.Password + `"}`)
	var tok struct {
		AccessToken string `json:"access_token"`
		Patient     string `json:"patient"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &tok) != nil || tok.Patient != patientID {
		t.Fatalf("token: %d %s", resp.StatusCode, raw)
	}
	read := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, o.FHIRBase+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := read("/Observation?category=laboratory&patient=" + patientID); got != http.StatusOK {
		t.Errorf("own laboratory results: %d", got)
	}
	if got := read("/Observation?patient=" + patientID); got != http.StatusBadRequest {
		t.Errorf("Epic-like search without category: %d, want 400", got)
	}
	if got := read("/Patient/someone-else"); got != http.StatusForbidden && got != http.StatusNotFound {
		t.Errorf("another patient: %d, want 403 or 404", got)
	}
	if resp, _ := post(`{"username":"` + p.Username + `","password":"wrong"}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	if resp, _ := post(`{"user":"x"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %d, want 400", resp.StatusCode)
	}
}

func TestFaultKnobsChangeBehaviourUntilReset(t *testing.T) {
	_, base := startSandbox(t, sandbox.Options{})
	o := org(t, getIndex(t, base), "cerner")
	put := func(body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, o.Faults, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	metadata := func() (*http.Response, error) { return http.Get(o.Metadata) }

	cases := []struct {
		faults string
		check  func(t *testing.T, resp *http.Response, err error)
	}{
		{`{"errorRate": 1}`, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("errorRate 1: %v %v, want 500", status(resp), err)
			}
		}},
		{`{"rateLimitRate": 1, "retryAfter": 7}`, func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "7" {
				t.Errorf("rateLimitRate 1: %v %v, want 429 with Retry-After 7", status(resp), err)
			}
		}},
		{`{"down": true}`, func(t *testing.T, resp *http.Response, err error) {
			if err == nil && resp.StatusCode < 500 {
				t.Errorf("down: got %d, want no answer or 5xx", resp.StatusCode)
			}
		}},
		{`{"malformed": true}`, func(t *testing.T, resp *http.Response, err error) {
			if err != nil {
				t.Fatalf("malformed: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if json.Valid(body) {
				t.Errorf("malformed: body is valid JSON: %.80s", body)
			}
		}},
	}
	for _, c := range cases {
		if resp := put(c.faults); resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %d", c.faults, resp.StatusCode)
		}
		resp, err := metadata()
		c.check(t, resp, err)
		if resp != nil {
			resp.Body.Close()
		}
		req, _ := http.NewRequest(http.MethodDelete, o.Faults, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("reset: %v %v", status(resp), err)
		}
		if resp, err := metadata(); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("after reset: %v %v", status(resp), err)
		}
	}

	var got map[string]any
	put(`{"latencyMs": 25}`)
	getJSON(t, o.Faults, http.StatusOK, &got)
	if got["latencyMs"] != float64(25) {
		t.Errorf("GET faults = %v", got)
	}
}

func TestFaultKnobsRefuseBadInput(t *testing.T) {
	sb, base := startSandbox(t, sandbox.Options{})
	o := org(t, getIndex(t, base), "epic")
	for _, body := range []string{``, `{`, `[]`, `{"latencyMs": -1}`, `{"errorRate": 1.5}`, `{"bogus": 1}`, `{"down": true} {}`} {
		req, _ := http.NewRequest(http.MethodPut, o.Faults, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("PUT %q: %d %s, want 400 problem details", body, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	ehr, _ := sb.EHR(o.ID)
	if f := ehr.FHIR.Faults(); f != (fhirtest.Faults{}) {
		t.Errorf("bad input changed the faults: %+v", f)
	}
}

func status(resp *http.Response) any {
	if resp == nil {
		return "no response"
	}
	return resp.StatusCode
}

func TestSharedPatientsLoadWhenPresent(t *testing.T) {
	dir := fhirtest.SharedData(t)
	_, base := startSandbox(t, sandbox.Options{FHIRData: dir})
	idx := getIndex(t, base)
	if len(idx.SharedPatients) < 14 {
		t.Fatalf("loaded %d shared patients, want the 14 Synthea ones and more", len(idx.SharedPatients))
	}
	sp := idx.SharedPatients[0]
	var o sandbox.IndexOrg
	for _, cand := range idx.Networks[0].Orgs {
		if cand.ID == sp.Org {
			o = cand
		}
	}
	httpClient, patient := launch(t, o, sp.Username, sp.Password)
	if patient != sp.Patient {
		t.Fatalf("token patient %q, want %q", patient, sp.Patient)
	}
	resp, err := httpClient.Get(o.FHIRBase + "/Patient/" + sp.Patient)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the shared patient: %v %v", status(resp), err)
	}
	resp.Body.Close()
}
