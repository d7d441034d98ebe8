package adapters

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
)

// t0 is when every test starts on its fake clock.
var t0 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

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

// fakeSleeper records the waits asked of it and returns at once. onSleep,
// when set, runs at each wait, so that a test can change the upstream
// between attempts.
type fakeSleeper struct {
	mu      sync.Mutex
	waits   []time.Duration
	onSleep func()
}

func (s *fakeSleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	hook := s.onSleep
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (s *fakeSleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

var (
	testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	testECKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

const (
	testKeyID    = "test-key"
	testClientID = "portalgate-test"
	testSecret   = "s3cret-for-tests-only"
)

// privateJWK returns key as a JSON Web Key named testKeyID.
func privateJWK(key any) *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: key, KeyID: testKeyID, Use: "sig"}
}

// publicJWKS returns the public half of key as a key set, as a client
// registers it.
func publicJWKS(key any, kid string) *jose.JSONWebKeySet {
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	}
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Use: "sig"}}}
}

// dataOnly stands in for the platforms' code in this package's tests: the
// platform packages import this one, so its tests cannot link them, and
// test the data's rules alone (the platform packages test their code).
const dataOnly = "data-only"

func init() { Register(dataOnly, passThrough{}) }

type passThrough struct{}

func (passThrough) Search(ctx context.Context, _ fhir.Platform, typ string, params url.Values, next Searcher) (*fhir.SearchResult, error) {
	return next(ctx, typ, params)
}

// platform reads the shipped quirk file of the named platform, with the
// data-only stand-in as its adapter.
func platform(t testing.TB, name string) fhir.Platform {
	t.Helper()
	p := fixture.Platform(t, name)
	p.Adapter = dataOnly
	return p
}

// upstream is a simulated EHR guarded by a SMART authorization server,
// both on the test's fake clock.
type upstream struct {
	*fhirtest.TestServer
	auth  *smartauth.Server
	clock *fakeClock
	// sent logs what the adapters made by adapterFor send.
	sent *fixture.Recorder
}

type upstreamConfig struct {
	platform string
	// clients registered with the authorization server; by default one
	// backend client with the RSA test key.
	clients       []smartauth.Client
	tokenLifetime time.Duration
	open          bool // no authorization at all
}

func newUpstream(t testing.TB, cfg upstreamConfig) *upstream {
	t.Helper()
	clock := newFakeClock()
	opts := []fhirtest.Option{fhirtest.WithPlatform(platform(t, cfg.platform)), fhirtest.WithClock(clock.Now)}
	var auth *smartauth.Server
	if !cfg.open {
		clients := cfg.clients
		if clients == nil {
			clients = []smartauth.Client{{ID: testClientID, Backend: true, JWKS: publicJWKS(testRSAKey(), testKeyID)}}
		}
		auth = smartauth.New(smartauth.Config{Clients: clients, Clock: clock.Now, TokenLifetime: cfg.tokenLifetime})
		opts = append(opts, fhirtest.WithAuthorizer(auth))
	}
	ts := fhirtest.NewTestServer(opts...)
	t.Cleanup(ts.Close)
	return &upstream{TestServer: ts, auth: auth, clock: clock, sent: fixture.Record(ts)}
}

// endpoint returns a backend-services endpoint of the upstream signing with
// the RSA test key.
func (u *upstream) endpoint() Endpoint {
	return Endpoint{
		BaseURL:  u.URL,
		Platform: u.Platform(),
		Auth: Auth{
			Kind:     AuthBackendServices,
			ClientID: testClientID,
			Scopes:   []string{"system/*.read", "system/*.write"},
			Key:      privateJWK(testRSAKey()),
		},
	}
}

// endpointAt is an endpoint of the named platform without authorization.
func endpointAt(t testing.TB, base, platformName string) Endpoint {
	t.Helper()
	return Endpoint{BaseURL: base, Platform: platform(t, platformName), Auth: Auth{Kind: AuthNone}}
}

// adapterFor returns an adapter on the upstream's clock with a fake sleeper
// and a fixed jitter draw of one half.
func (u *upstream) adapterFor(t testing.TB, endpoint Endpoint, opts Options) (*Adapter, *fakeSleeper) {
	t.Helper()
	sleeper := &fakeSleeper{}
	if opts.HTTPClient == nil {
		opts.HTTPClient = u.sent.Client()
	}
	if opts.Now == nil {
		opts.Now = u.clock.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleeper.Sleep
	}
	if opts.Rand == nil {
		opts.Rand = func() float64 { return 0.5 }
	}
	if opts.Retry.BaseDelay == 0 {
		opts.Retry.BaseDelay = 100 * time.Millisecond
	}
	a, err := New(endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a, sleeper
}

// requests returns the requests sent to path, or every one for "".
func (u *upstream) requests(path string) []fhirtest.Request { return u.sent.Requests(path) }

func (u *upstream) load(t testing.TB, resources ...string) {
	t.Helper()
	fixture.Load(t, u.TestServer, resources...)
}

var (
	patient     = fixture.Patient
	observation = fixture.Observation
	values      = fixture.Values
)
