package identity_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

// t0 is the fake clock's start, on a whole second as JWT times are.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a gateway's identity service wired to a fake provider, serving
// three networks: lakeside (no rule on how people sign in), northwind
// (two-step verification: amr otp or mfa) and harbor (acr urn:loa:2).
type env struct {
	t        *testing.T
	op       *fakeOP
	clock    *clock
	kv       store.KV
	svc      *identity.Service
	networks map[string]*tenants.Network
}

func newEnv(t *testing.T) *env {
	c := &clock{now: t0}
	return newEnvOn(t, storetest.Bolt(t, c.Now), c)
}

func newEnvOn(t *testing.T, kv store.KV, c *clock) *env {
	t.Helper()
	e := &env{t: t, op: newFakeOP(t, c.Now), clock: c, kv: kv, networks: map[string]*tenants.Network{}}
	for _, n := range []*tenants.Network{
		testNetwork("lakeside", e.op.issuer),
		testNetwork("northwind", e.op.issuer, func(idp *tenants.IdentityProvider) { idp.RequireAMR = []string{"otp", "mfa"} }),
		testNetwork("harbor", e.op.issuer, func(idp *tenants.IdentityProvider) { idp.RequireACR = []string{"urn:loa:2"} }),
	} {
		e.networks[n.ID] = n
		e.op.clients[n.Identity.ClientID] = n.Identity.ClientSecret.Reveal()
	}
	e.svc = e.newService(identity.Options{})
	return e
}

// newService builds a service on the env's networks, store and clock, with
// opts' other fields.
func (e *env) newService(opts identity.Options) *identity.Service {
	e.t.Helper()
	opts.Lookup = func(id string) (*tenants.Network, bool) { n, ok := e.networks[id]; return n, ok }
	opts.Store = e.kv
	opts.Now = e.clock.Now
	svc, err := identity.NewService(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func testNetwork(id, issuer string, edits ...func(*tenants.IdentityProvider)) *tenants.Network {
	n := &tenants.Network{ID: id, AccountModel: tenants.AccountModelConsent, Identity: tenants.IdentityProvider{
		Issuer:       issuer,
		ClientID:     "portalgate-" + id,
		ClientSecret: tenants.Secret(id + "-oidc-secret"),
		Scopes:       []string{"openid", "profile", "email"},
		RedirectURL:  "https://gateway.example/auth/callback",
	}}
	for _, edit := range edits {
		edit(&n.Identity)
	}
	return n
}

// noRedirects is a client that stops at the first redirect.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// start starts a login at network and lets the provider sign the patient
// in, returning the login and the callback's state and code.
func (e *env) start(network string) (identity.Login, string, string) {
	e.t.Helper()
	login, err := e.svc.StartLogin(e.t.Context(), network, "/records")
	if err != nil {
		e.t.Fatalf("StartLogin(%s): %v", network, err)
	}
	state, code := e.authorize(login)
	return login, state, code
}

// authorize follows AuthURL to the provider and reads the callback it
// redirects to.
func (e *env) authorize(login identity.Login) (state, code string) {
	e.t.Helper()
	resp, err := noRedirects.Get(login.AuthURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorization answered %s", resp.Status)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return back.Query().Get("state"), back.Query().Get("code")
}
