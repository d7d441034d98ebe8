package smartauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// Registered test parties.
const (
	publicClient    = "patient-app"
	secretClient    = "portal"
	clientSecret    = "s3cret: with / odd + chars"
	asymmetricApp   = "signed-app"
	backendRSA      = "backend-rs384"
	backendEC       = "backend-es384"
	backendByURL    = "backend-jwks-url"
	backendSecret   = "backend-secret"
	narrowClient    = "labs-only"
	fhirPrefix      = "/fhir"
	testUser        = "amy"
	testPassword    = "correct horse"
	testPatient     = "pat-123"
	otherUser       = "bob"
	otherPassword   = "battery staple"
	otherPatient    = "pat-456"
	patientScopes   = "launch/patient patient/*.rs offline_access"
	keyIDRSA        = "rsa-1"
	keyIDEC         = "ec-1"
	callbackPath    = "/callback"
	testTokenLife   = time.Hour
	testCodeLife    = time.Minute
	testRefreshLife = 24 * time.Hour
)

// fakeClock is the server's clock; tests move it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is one simulated EHR's authorization server on a real listener,
// a protected FHIR endpoint, and an app's redirect target.
type harness struct {
	t          *testing.T
	clock      *fakeClock
	auth       *Server
	ehr        *httptest.Server
	base       string
	app        *httptest.Server
	appHits    atomic.Int32
	redirect   string
	rsaKey     *rsa.PrivateKey
	ecKey      *ecdsa.PrivateKey
	jwksHits   atomic.Int32
	jwksDown   atomic.Bool
	jwksServer *httptest.Server
}

// Keys are slow to generate; every harness shares one pair.
var (
	keysOnce  sync.Once
	sharedRSA *rsa.PrivateKey
	sharedEC  *ecdsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if sharedRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if sharedEC, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return sharedRSA, sharedEC
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}}
	h.rsaKey, h.ecKey = testKeys(t)

	h.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.appHits.Add(1)
		io.WriteString(w, "app callback")
	}))
	t.Cleanup(h.app.Close)
	h.redirect = h.app.URL + callbackPath

	h.jwksServer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.jwksHits.Add(1)
		if h.jwksDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(h.publicKeys(keyIDRSA))
	}))
	t.Cleanup(h.jwksServer.Close)

	h.auth = New(Config{
		Clients: []Client{
			{ID: publicClient, Name: "Health Tracker", Public: true, RedirectURIs: []string{h.redirect}},
			{ID: secretClient, Secret: clientSecret, RedirectURIs: []string{h.redirect}},
			{ID: asymmetricApp, JWKS: h.publicKeys(keyIDRSA), RedirectURIs: []string{h.redirect}},
			{ID: narrowClient, Public: true, RedirectURIs: []string{h.redirect},
				Scopes: []string{"launch/patient", "patient/Observation.rs?category=laboratory"}},
			{ID: backendRSA, Backend: true, JWKS: h.publicKeys(keyIDRSA), Scopes: []string{"system/*.rs"}},
			{ID: backendEC, Backend: true, JWKS: h.publicKeys(keyIDEC)},
			{ID: backendByURL, Backend: true, JWKSURL: h.jwksServer.URL},
			{ID: backendSecret, Backend: true, Secret: clientSecret, Scopes: []string{"system/*.read"}},
		},
		Users: []User{
			{Username: testUser, Password: testPassword, Patient: testPatient, Name: "Amy Shaw"},
			{Username: otherUser, Password: otherPassword, Patient: otherPatient, Name: "Bob Lee"},
		},
		Clock:           h.clock.Now,
		TokenLifetime:   testTokenLife,
		CodeLifetime:    testCodeLife,
		RefreshLifetime: testRefreshLife,
	})
	h.ehr = httptest.NewServer(ehrHost{auth: h.auth})
	t.Cleanup(h.ehr.Close)
	h.base = h.ehr.URL + fhirPrefix
	return h
}

// publicKeys returns the JWKS with the test key named kid.
func (h *harness) publicKeys(kid string) *jose.JSONWebKeySet {
	var key any = &h.rsaKey.PublicKey
	if kid == keyIDEC {
		key = &h.ecKey.PublicKey
	}
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: kid, Use: "sig"}}}
}

// ehrHost stands in for fhirtest.Server: it mounts the authorizer below
// /fhir, as the real server does, and guards one FHIR endpoint.
type ehrHost struct{ auth fhirtest.Authorizer }

func (e ehrHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, fhirPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	r = r.Clone(fhirtest.WithBaseURL(r.Context(), "http://"+r.Host+fhirPrefix))
	r.URL.Path = rel
	if rel == "/.well-known/smart-configuration" || strings.HasPrefix(rel, "/auth/") {
		e.auth.ServeAuth(w, r)
		return
	}
	access, err := e.auth.Authenticate(r)
	if err != nil {
		if !errors.Is(err, fhirtest.ErrUnauthorized) {
			http.Error(w, "authenticate did not wrap ErrUnauthorized: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(access)
}

// browser is a cookie-keeping client that follows redirects, as a user's
// browser would.
func (h *harness) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// ctx carries the HTTP client golang.org/x/oauth2 should use.
func (h *harness) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, h.ehr.Client())
}

// discover reads the SMART configuration as a client would.
func (h *harness) discover() smartConfiguration {
	h.t.Helper()
	resp, err := h.ehr.Client().Get(h.base + "/.well-known/smart-configuration")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg smartConfiguration
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		h.t.Fatal(err)
	}
	return cfg
}

func (h *harness) oauthConfig(clientID, scope string) *oauth2.Config {
	cfg := h.discover()
	return &oauth2.Config{
		ClientID:    clientID,
		RedirectURL: h.redirect,
		Scopes:      strings.Fields(scope),
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.AuthorizationEndpoint,
			TokenURL:  cfg.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// authURL is a standalone launch request for conf with PKCE S256.
func (h *harness) authURL(conf *oauth2.Config, state, verifier string, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("aud", h.base)}, opts...)
	return conf.AuthCodeURL(state, opts...)
}

// launch runs a whole sign-in for user and returns the code the app got.
func (h *harness) launch(conf *oauth2.Config, verifier, username, password string) string {
	h.t.Helper()
	const state = "st-42"
	browser := h.browser()
	page := h.get(browser, h.authURL(conf, state, verifier))
	if page.status != http.StatusOK {
		h.t.Fatalf("authorize: status %d: %s", page.status, page.body)
	}
	done := h.signIn(browser, page, username, password)
	q := done.url.Query()
	if done.url.Path != callbackPath || q.Get("state") != state || q.Get("code") == "" {
		h.t.Fatalf("sign-in ended at %s (status %d), want the app's callback with code and state", done.url, done.status)
	}
	return q.Get("code")
}

// page is a fetched response, read fully.
type page struct {
	status int
	url    *url.URL // where redirects ended
	header http.Header
	body   string
}

func (h *harness) get(c *http.Client, u string) page {
	h.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	return readPage(h.t, resp)
}

func readPage(t testing.TB, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(b)}
}

// signIn fills the sign-in form found on p like a user and submits it.
func (h *harness) signIn(c *http.Client, p page, username, password string) page {
	h.t.Helper()
	return h.submit(c, p, url.Values{"username": {username}, "password": {password}})
}

// submit posts the page's form with its hidden fields plus fields.
func (h *harness) submit(c *http.Client, p page, fields url.Values) page {
	h.t.Helper()
	action, form := parseForm(h.t, p.body)
	target, err := p.url.Parse(action)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range fields {
		form[k] = v
	}
	resp, err := c.PostForm(target.String(), form)
	if err != nil {
		h.t.Fatal(err)
	}
	return readPage(h.t, resp)
}

// parseForm returns the first form's action and its hidden fields, and
// checks that every visible input has a label.
func parseForm(t testing.TB, body string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var action string
	hidden := url.Values{}
	labelled := map[string]bool{}
	var inputs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if action == "" {
					action = attr(n, "action")
				}
			case "label":
				labelled[attr(n, "for")] = true
			case "input":
				if attr(n, "type") == "hidden" {
					hidden.Set(attr(n, "name"), attr(n, "value"))
				} else {
					inputs = append(inputs, attr(n, "id"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action == "" {
		t.Fatalf("no form on page:\n%s", body)
	}
	for _, id := range inputs {
		if id == "" || !labelled[id] {
			t.Errorf("input %q has no label", id)
		}
	}
	return action, hidden
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// tokenReply is a token endpoint answer, success or error.
type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenReply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// post sends form to an endpoint below the base URL; edit may set
// headers such as Basic credentials.
func (h *harness) post(path string, form url.Values, edit ...func(*http.Request)) tokenReply {
	h.t.Helper()
	reply, err := h.tryPost(path, form, edit...)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply
}

// tryPost is post for goroutines other than the test's.
func (h *harness) tryPost(path string, form url.Values, edit ...func(*http.Request)) (tokenReply, error) {
	req, err := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenReply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, e := range edit {
		e(req)
	}
	return doJSON(h.ehr.Client(), req)
}

// doJSON sends req and decodes a JSON reply, if any.
func doJSON(c *http.Client, req *http.Request) (tokenReply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return tokenReply{}, err
	}
	defer resp.Body.Close()
	reply := tokenReply{status: resp.StatusCode, header: resp.Header}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &reply.body); err != nil {
			return reply, fmt.Errorf("%s %s: status %d, body not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, b)
		}
	}
	return reply, nil
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

// fhirGet calls the protected endpoint with a bearer token.
func (h *harness) fhirGet(accessToken string) (int, fhirtest.Access) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+"/Patient", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := h.ehr.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var access fhirtest.Access
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&access); err != nil {
			h.t.Fatal(err)
		}
	}
	return resp.StatusCode, access
}

// exchange redeems code as the public client, by hand.
func (h *harness) exchange(code, verifier string) tokenReply {
	h.t.Helper()
	return h.post(pathToken, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.redirect},
		"client_id": {publicClient}, "code_verifier": {verifier},
	})
}

// patientTokens runs a launch for the public client and redeems the code.
func (h *harness) patientTokens(scope string) tokenReply {
	h.t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := h.launch(h.oauthConfig(publicClient, scope), verifier, testUser, testPassword)
	reply := h.exchange(code, verifier)
	if reply.status != http.StatusOK {
		h.t.Fatalf("exchange: %d %v", reply.status, reply.body)
	}
	return reply
}

// assertion builds SMART Backend Services client assertion claims for
// client, valid now for four minutes.
func (h *harness) assertion(client string) jwt.Claims {
	now := h.clock.Now()
	return jwt.Claims{
		Issuer:   client,
		Subject:  client,
		Audience: jwt.Audience{h.base + pathToken},
		Expiry:   jwt.NewNumericDate(now.Add(4 * time.Minute)),
		IssuedAt: jwt.NewNumericDate(now),
		ID:       newSecret(),
	}
}

// sign signs claims with the test key named kid.
func (h *harness) sign(kid string, claims any) string {
	h.t.Helper()
	alg, key := jose.RS384, any(h.rsaKey)
	if kid == keyIDEC {
		alg, key = jose.ES384, h.ecKey
	}
	return signWith(h.t, alg, jose.JSONWebKey{Key: key, KeyID: kid}, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func backendForm(client, assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {"system/Patient.rs system/Observation.rs"},
		"client_assertion_type": {assertionTypeJWTBearer},
		"client_assertion":      {assertion},
	}
}

// wantError checks an RFC 6749 §5.2 error reply.
func wantError(t testing.TB, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Errorf("got %d %v, want %d %s", r.status, r.body, status, code)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("error reply Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
}
