package idp_test

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
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/gateway/sandbox/idp"
)

const (
	mountPath    = "/sandbox/idp"
	clientID     = "portal"
	clientSecret = "portal-sandbox-secret"
	callbackPath = "/auth/callback"
	signedOut    = "/signed-out"
)

var (
	alex = idp.User{
		Subject: "alex-rivera", Username: "alex", Password: "alex-sandbox",
		Given: "Alex", Family: "Rivera", Email: "alex@example.org", BirthDate: "1983-05-02",
	}
	casey = idp.User{
		Subject: "casey-morgan", Username: "casey", Password: "casey-sandbox",
		Given: "Casey", Family: "Morgan", Email: "casey@example.org",
		AMR: []string{"pwd", "otp"}, ACR: "urn:sandbox:loa:2",
	}
)

// fakeClock starts at the wall clock: the library stamps iat and exp from
// time.Now, so the provider's clock must not drift far from it.
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

// fixture is the provider mounted under /sandbox/idp of a test server, as
// the sandbox mounts it, plus a relying party built on go-oidc and oauth2.
type fixture struct {
	clock  *fakeClock
	server *httptest.Server
	idp    *idp.Provider
	issuer string
	ctx    context.Context
}

func newFixture(t *testing.T, mutate ...func(*idp.Config)) *fixture {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	clock := &fakeClock{now: time.Now()}
	cfg := idp.Config{
		Issuer: srv.URL + mountPath,
		Users:  []idp.User{alex, casey},
		Clients: []idp.Client{{
			ID:                     clientID,
			Secret:                 clientSecret,
			RedirectURIs:           []string{srv.URL + callbackPath},
			PostLogoutRedirectURIs: []string{srv.URL + signedOut},
			Scopes:                 []string{"openid", "profile", "email"},
		}},
		Now: clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := idp.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux.Handle(mountPath+"/", http.StripPrefix(mountPath, p.Handler()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &fixture{clock: clock, server: srv, idp: p, issuer: cfg.Issuer, ctx: ctx}
}

// rp discovers the provider afresh, as a relying party starting up would.
func (f *fixture) rp(t *testing.T) (*oidc.Provider, oauth2.Config) {
	t.Helper()
	provider, err := oidc.NewProvider(f.ctx, f.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := provider.Endpoint()
	// Fixed, because oauth2's auto-detection retries a refused request with
	// the other style, and the retry then meets a used-up code.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return provider, oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint:     endpoint,
		RedirectURL:  f.server.URL + callbackPath,
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// browser follows redirects until they leave for the relying party.
func (f *fixture) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == callbackPath || req.URL.Path == signedOut {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// attempt is one authorization request's secrets on the relying party side.
type attempt struct {
	state, nonce, verifier string
}

func newAttempt() attempt {
	return attempt{state: oauth2.GenerateVerifier(), nonce: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
}

func (a attempt) authURL(cfg oauth2.Config) string {
	return cfg.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(a.nonce))
}

// page is a fetched HTML response.
type page struct {
	resp *http.Response
	body string
}

func get(t *testing.T, c *http.Client, rawURL string) page {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return page{resp: resp, body: string(b)}
}

// htmlForm is a form found in a page.
type htmlForm struct {
	action *url.URL
	method string
	fields url.Values
}

// findForm parses the first form of p, resolving its action against the
// page's URL as a browser would.
func findForm(t *testing.T, p page) htmlForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(p.body))
	if err != nil {
		t.Fatalf("parsing page: %v", err)
	}
	var form *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" {
			form = n
			break
		}
	}
	if form == nil {
		t.Fatalf("no form in page (status %d):\n%s", p.resp.StatusCode, p.body)
	}
	action, err := p.resp.Request.URL.Parse(attr(form, "action"))
	if err != nil {
		t.Fatalf("form action: %v", err)
	}
	fields := url.Values{}
	for n := range form.Descendants() {
		if n.Type == html.ElementNode && n.Data == "input" {
			fields.Set(attr(n, "name"), attr(n, "value"))
		}
	}
	return htmlForm{action: action, method: strings.ToUpper(attr(form, "method")), fields: fields}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// submit posts the form with username and password filled in.
func submit(t *testing.T, c *http.Client, form htmlForm, username, password string) page {
	t.Helper()
	if form.method != http.MethodPost {
		t.Fatalf("form method %q, want POST", form.method)
	}
	fields := url.Values{}
	for k, v := range form.fields {
		fields[k] = v
	}
	fields.Set("username", username)
	fields.Set("password", password)
	resp, err := c.PostForm(form.action.String(), fields)
	if err != nil {
		t.Fatalf("POST %s: %v", form.action, err)
	}
	return read(t, resp)
}

// callback returns the query the provider sent the browser back with.
func callback(t *testing.T, p page) url.Values {
	t.Helper()
	if p.resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want a redirect to the relying party:\n%s", p.resp.StatusCode, p.body)
	}
	loc, err := url.Parse(p.resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	if loc.Path != callbackPath {
		t.Fatalf("redirected to %s, want %s", loc, callbackPath)
	}
	return loc.Query()
}

// signIn runs the browser part of the flow and returns the code.
func (f *fixture) signIn(t *testing.T, cfg oauth2.Config, a attempt, user idp.User) string {
	t.Helper()
	c := f.browser(t)
	login := get(t, c, a.authURL(cfg))
	if login.resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: status %d:\n%s", login.resp.StatusCode, login.body)
	}
	q := callback(t, submit(t, c, findForm(t, login), user.Username, user.Password))
	if got := q.Get("state"); got != a.state {
		t.Fatalf("state %q, want %q", got, a.state)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in callback: %v", q)
	}
	return q.Get("code")
}

// tokens signs user in and redeems the code.
func (f *fixture) tokens(t *testing.T, user idp.User) (*oauth2.Token, attempt) {
	t.Helper()
	_, cfg := f.rp(t)
	a := newAttempt()
	code := f.signIn(t, cfg, a, user)
	tok, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok, a
}

func rawIDToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("token response has no id_token")
	}
	return raw
}

func keyID(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing ID token: %v", err)
	}
	return jws.Signatures[0].Header.KeyID
}

// oauthError returns the OAuth error code of a failed token request.
func oauthError(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an OAuth error response", err)
	}
	return re.ErrorCode
}

func getJSON(t *testing.T, rawURL string, into any) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
}

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
