package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/tenants"
)

// independentOP is the example OpenID provider of github.com/zitadel/oidc,
// served in-process, with a record of the authorization requests it got.
type independentOP struct {
	url string

	mu        sync.Mutex
	authorize []url.Values
}

// startIndependentOP serves zitadel's example provider with the given users
// and one confidential web client whose only redirect URI is redirectURI.
func startIndependentOP(t *testing.T, users []storage.User, clientID, clientSecret, redirectURI string) *independentOP {
	t.Helper()
	byID := map[string]storage.User{}
	for _, u := range users {
		byID[u.ID] = u
	}
	raw, err := json.Marshal(byID)
	if err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(usersFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	userStore, err := storage.StoreFromFile(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	// A client map of our own, not storage.RegisterClients: that one fills a
	// package-level map shared by every provider in the process.
	clients := map[string]*storage.Client{clientID: storage.WebClient(clientID, clientSecret, redirectURI)}

	srv := httptest.NewUnstartedServer(nil)
	op := &independentOP{url: "http://" + srv.Listener.Addr().String()}
	router := exampleop.SetupServer(op.url, storage.NewStorageWithClients(userStore, clients),
		slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" { // the example's authorization endpoint
			op.mu.Lock()
			op.authorize = append(op.authorize, r.URL.Query())
			op.mu.Unlock()
		}
		router.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return op
}

// authorizeRequests returns the query of every authorization request so far.
func (op *independentOP) authorizeRequests() []url.Values {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]url.Values(nil), op.authorize...)
}

// Sign-in, enrollment, audit, logout and CSRF defence, end to end, against
// an OpenID provider written elsewhere, so that nothing passes only because
// the sandbox's own provider is lenient.
func TestSignInAgainstAnIndependentProvider(t *testing.T) {
	const (
		network       = "independent"
		org           = "independent-hospital"
		person        = "river-stone"
		patient       = "patient-4711"
		clientID      = "portalgate"
		clientSecret  = "independent-client-secret"
		operatorToken = "operator-token-of-at-least-thirty-two-characters"
	)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The gateway's address goes into the provider's client and the
	// network's redirectURL before the gateway can be assembled.
	gw := httptest.NewUnstartedServer(nil)
	t.Cleanup(gw.Close)
	gwURL := "http://" + gw.Listener.Addr().String()

	river := storage.User{ID: "op-user-river", Username: "river", Password: "river-password", FirstName: "River", LastName: "Stone",
		Email: "river@example.org", EmailVerified: true, PreferredLanguage: language.English}
	sam := storage.User{ID: "op-user-sam", Username: "sam", Password: "sam-password", FirstName: "Sam", LastName: "Other",
		Email: "sam@example.org", EmailVerified: true, PreferredLanguage: language.English}
	op := startIndependentOP(t, []storage.User{river, sam}, clientID, clientSecret, gwURL+"/auth/callback")

	cfg, err := tenants.Load("independent.yaml", []byte(`version: 1
networks:
  - id: `+network+`
    name: Independent Health
    accountModel: network
    identity:
      issuer: `+op.url+`
      clientID: `+clientID+`
      clientSecret: `+clientSecret+`
      redirectURL: `+gwURL+`/auth/callback
    orgs:
      - id: `+org+`
        name: Independent Hospital
        membership: affiliated
        endpoints:
          - platform: cerner
            fhirBaseURL: https://fhir.example.org/r4
            auth:
              kind: backend-services
              clientID: portalgate
              scopes: [system/*.read]
              clientSecret: secret-for-tests-only
`), tenants.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(boltstore.Options{Path: filepath.Join(t.TempDir(), "portalgate.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, _, err := assembleGateway(cfg, st, gatewayOptions{Logger: logger, Source: "test", OperatorToken: operatorToken, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	gw.Config.Handler = srv.Handler()
	gw.Start()

	loginURL := gwURL + "/auth/login?network=" + network + "&returnTo=/api/v1/me"
	// signIn signs a new browser in at the provider and returns it with the
	// /api/v1/me it lands on.
	signIn := func(u storage.User) (*browser, gateway.Me) {
		t.Helper()
		b := newBrowser(t)
		resp := b.signIn(loginURL, u.Username, u.Password)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != gwURL+"/api/v1/me" {
			t.Fatalf("signing in as %s ended at %s with %d: %.300s", u.Username, resp.Request.URL, resp.StatusCode, raw)
		}
		var me gateway.Me
		if err := json.Unmarshal(raw, &me); err != nil {
			t.Fatalf("the page signing in lands on: %v in %s", err, raw)
		}
		return b, me
	}
	meOf := func(b *browser) gateway.Me {
		t.Helper()
		var me gateway.Me
		if status := b.getJSON(gwURL+"/api/v1/me", &me); status != http.StatusOK {
			t.Fatalf("GET /api/v1/me: %d", status)
		}
		return me
	}
	wantRecord := []gateway.MeRecord{{Org: org, OrgName: "Independent Hospital", Patient: patient}}
	sameOrigin := []string{"Origin", gwURL}

	// 1. No session, no access, and the refusal is problem details.
	status, body, hdr := newBrowser(t).do(http.MethodGet, gwURL+"/api/v1/me", nil)
	if status != http.StatusUnauthorized || !isProblem(hdr, body, http.StatusUnauthorized) {
		t.Fatalf("/api/v1/me without a session: %d %s %s, want 401 problem details", status, hdr.Get("Content-Type"), body)
	}

	// 2. Signing in at the provider lands on /api/v1/me, not enrolled yet.
	riverBrowser, landed := signIn(river)
	if landed.Enrolled || landed.Network != network || len(landed.Records) != 0 || landed.Next == "" {
		t.Fatalf("after the first sign-in me = %+v, want a session of %s not enrolled yet", landed, network)
	}
	// The gateway sent PKCE (S256) and a nonce, and the provider, which
	// checks the verifier at its token endpoint, let the sign-in through.
	requests := op.authorizeRequests()
	if len(requests) != 1 {
		t.Fatalf("the provider got %d authorization requests, want 1", len(requests))
	}
	if q := requests[0]; q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" ||
		q.Get("client_id") != clientID || q.Get("redirect_uri") != gwURL+"/auth/callback" {
		t.Errorf("authorization request %v lacks PKCE S256, a nonce or the gateway's client", q)
	}

	// 3. The operator registers the person and issues an activation code.
	operator := newBrowser(t)
	bearer := []string{"Authorization", "Bearer " + operatorToken}
	codes := gwURL + "/operator/v1/networks/" + network + "/activation-codes"
	codeRequest := map[string]string{"person": person, "org": org, "kind": "activation"}
	for name, header := range map[string][]string{"no token": nil, "a wrong token": {"Authorization", "Bearer not-the-operator-token"}} {
		if status, body, _ := operator.do(http.MethodPost, codes, codeRequest, header...); status != http.StatusUnauthorized {
			t.Errorf("issuing a code with %s: %d %s, want 401", name, status, body)
		}
	}
	status, body, _ = operator.do(http.MethodPut, gwURL+"/operator/v1/networks/"+network+"/people/"+person, map[string]any{
		"given": "River", "family": "Stone", "gender": "female", "birthDate": "1984-07-02",
		"records": []map[string]string{{"org": org, "patient": patient}}, "shareAcrossNetwork": true,
	}, bearer...)
	if status != http.StatusOK {
		t.Fatalf("registering the person: %d %s", status, body)
	}
	status, body, _ = operator.do(http.MethodPost, codes, codeRequest, bearer...)
	if status != http.StatusCreated {
		t.Fatalf("issuing a code: %d %s", status, body)
	}
	var issued gateway.CodeIssued
	if err := json.Unmarshal(body, &issued); err != nil {
		t.Fatal(err)
	}
	if issued.Code == "" || issued.Person != person || issued.Org != org || !issued.Expires.After(time.Now()) {
		t.Fatalf("issued %+v", issued)
	}

	enroll := func(b *browser) (int, []byte, http.Header) {
		return b.do(http.MethodPost, gwURL+"/api/v1/enrollment", map[string]string{"code": issued.Code}, sameOrigin...)
	}
	status, body, _ = enroll(riverBrowser)
	if status != http.StatusOK {
		t.Fatalf("enrolling: %d %s", status, body)
	}
	var enrolled gateway.Me
	if err := json.Unmarshal(body, &enrolled); err != nil {
		t.Fatal(err)
	}
	if !enrolled.Enrolled || enrolled.Person == nil || enrolled.Person.ID != person || !slices.Equal(enrolled.Records, wantRecord) {
		t.Fatalf("after enrollment me = %+v, want %s enrolled with %v", enrolled, person, wantRecord)
	}

	// The code is spent: another login of the provider cannot use it.
	samBrowser, _ := signIn(sam)
	status, body, hdr = enroll(samBrowser)
	if status != http.StatusBadRequest || !isProblem(hdr, body, http.StatusBadRequest) {
		t.Fatalf("a used code from another login: %d %s, want 400 problem details", status, body)
	}
	if got := meOf(samBrowser); got.Enrolled {
		t.Fatalf("a used code enrolled another login: %+v", got)
	}
	if got := meOf(riverBrowser); !got.Enrolled || got.Person == nil || got.Person.ID != person || !slices.Equal(got.Records, wantRecord) {
		t.Fatalf("the enrolled session's me = %+v", got)
	}

	// 4. Signing in again, the provider's subject is recognised at once; the
	// person's log shows that sign-in and the redemption. Sign-ins before
	// enrollment were nobody's: they are in the network's log only.
	riverAgain, landed := signIn(river)
	if !landed.Enrolled || landed.Person == nil || landed.Person.ID != person {
		t.Fatalf("signing in again: me = %+v, want %s enrolled", landed, person)
	}
	mine := countKinds(auditEntries(t, riverAgain, gwURL+"/api/v1/audit"), person)
	if mine[audit.SignIn] != 1 || mine[audit.CodeRedeemed] != 1 {
		t.Errorf("the person's audit log by kind: %v, want one sign-in and one code redemption by %s", mine, person)
	}
	all := countKinds(auditEntries(t, operator, gwURL+"/operator/v1/networks/"+network+"/audit", bearer...), "")
	if all[audit.SignIn] != 3 || all[audit.CodeRedeemed] != 1 || all[audit.CodeRejected] != 1 {
		t.Errorf("the network's audit log by kind: %v, want 3 sign-ins, 1 redemption, 1 rejected code", all)
	}

	// 5. Logging out, with the portal's own Origin, ends that session only,
	// and points at the provider to end the session there too.
	status, body, _ = riverBrowser.do(http.MethodPost, gwURL+"/auth/logout", nil, sameOrigin...)
	var out struct {
		SignedOut     bool   `json:"signedOut"`
		EndSessionURL string `json:"endSessionUrl"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil || !out.SignedOut {
		t.Fatalf("logout: %d %s", status, body)
	}
	if !strings.HasPrefix(out.EndSessionURL, op.url+"/") {
		t.Errorf("endSessionUrl %q is not at the provider %s", out.EndSessionURL, op.url)
	}
	if status := riverBrowser.getJSON(gwURL+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("/api/v1/me after logout: %d, want 401", status)
	}
	if status, body, _ := samBrowser.do(http.MethodPost, gwURL+"/auth/logout", nil); status != http.StatusOK {
		t.Errorf("logout without an Origin: %d %s, want 200", status, body)
	}

	// 6. Cookie-authenticated writes from another site are refused and
	// change nothing.
	consents := func() []byte {
		t.Helper()
		status, body, _ := riverAgain.do(http.MethodGet, gwURL+"/api/v1/consents", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /api/v1/consents: %d %s", status, body)
		}
		return body
	}
	consentBefore := consents()
	crossSite := map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"an Origin of another host": {"Origin", "https://portal.attacker.example"},
	}
	for name, header := range crossSite {
		writes := []struct {
			method, path string
			body         any
		}{
			{http.MethodPut, "/api/v1/consents", map[string]bool{"shareAcrossNetwork": false}},
			{http.MethodPost, "/api/v1/enrollment", map[string]string{"code": issued.Code}},
			{http.MethodPost, "/auth/logout", nil},
		}
		for _, w := range writes {
			status, body, hdr := riverAgain.do(w.method, gwURL+w.path, w.body, header...)
			if status != http.StatusForbidden || !isProblem(hdr, body, http.StatusForbidden) {
				t.Errorf("%s %s with %s: %d %s, want 403 problem details", w.method, w.path, name, status, body)
			}
		}
	}
	if after := consents(); !bytes.Equal(after, consentBefore) {
		t.Errorf("refused writes changed the consent: %s, was %s", after, consentBefore)
	}
	if got := meOf(riverAgain); !got.Enrolled || !slices.Equal(got.Records, wantRecord) {
		t.Errorf("refused writes changed the session: me = %+v", got)
	}
	if got := countKinds(auditEntries(t, riverAgain, gwURL+"/api/v1/audit"), person); got[audit.ConsentChanged] != 0 || got[audit.SignOut] != 1 {
		t.Errorf("audit log after the refused writes: %v, want no consent change and only the one logout", got)
	}
}

// isProblem reports whether a response is RFC 9457 problem details with status.
func isProblem(hdr http.Header, body []byte, status int) bool {
	var p gateway.Problem
	return strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") &&
		json.Unmarshal(body, &p) == nil && p.Status == status && p.Title != ""
}
