package adapters

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

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

// platform reads the shipped quirk file of the named platform.
func platform(t testing.TB, name string) fhir.Platform {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "configs", "platforms", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := fhir.ParsePlatform(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// upstream is a simulated EHR guarded by a SMART authorization server,
// both on the test's fake clock.
type upstream struct {
	*fhirtest.TestServer
	auth  *smartauth.Server
	clock *fakeClock
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
	return &upstream{TestServer: ts, auth: auth, clock: clock}
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
		opts.HTTPClient = u.Client()
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

// requests returns the logged requests whose path is path.
func (u *upstream) requests(path string) []fhirtest.Request {
	var out []fhirtest.Request
	for _, r := range u.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (u *upstream) load(t testing.TB, resources ...string) {
	t.Helper()
	raws := make([]json.RawMessage, len(resources))
	for i, r := range resources {
		raws[i] = json.RawMessage(r)
	}
	if err := u.Load(raws...); err != nil {
		t.Fatal(err)
	}
}

func patient(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"name":[{"family":"Test"}]}`, id)
}

// observation returns an Observation of the patient in the given US Core
// categories.
func observation(id, patient, lastUpdated string, categories ...string) string {
	var cats []string
	for _, c := range categories {
		cats = append(cats, fmt.Sprintf(`{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":%q}]}`, c))
	}
	meta := ""
	if lastUpdated != "" {
		meta = fmt.Sprintf(`"meta":{"versionId":"1","lastUpdated":%q},`, lastUpdated)
	}
	return fmt.Sprintf(`{"resourceType":"Observation","id":%q,%s"status":"final","category":[%s],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/%s"},`+
		`"effectiveDateTime":"2025-06-01T10:00:00Z"}`, id, meta, strings.Join(cats, ","), patient)
}

func medicationRequest(id, patient, intent string) string {
	return fmt.Sprintf(`{"resourceType":"MedicationRequest","id":%q,"status":"active","intent":%q,`+
		`"medicationCodeableConcept":{"text":"aspirin"},"subject":{"reference":"Patient/%s"}}`, id, intent, patient)
}

// ids returns the sorted Type/id of the entries.
func ids(t testing.TB, entries []fhir.BundleEntry) []string {
	t.Helper()
	var out []string
	for _, e := range entries {
		h, err := fhir.ReadHeader(e.Resource)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.Ref())
	}
	slices.Sort(out)
	return out
}

func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
