// Package platformtest runs platform adapters for real in their tests: a
// fhirtest server imitating a shipped platform, and an adapter in front of
// it, made by adapters.New as the gateway makes them.
package platformtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// Upstream is a fhirtest server imitating a shipped platform, with an
// adapter in front of it.
type Upstream struct {
	*fhirtest.TestServer
	Adapter *adapters.Adapter
	// Sent logs what the adapter sent.
	Sent *fixture.Recorder
}

// Open starts a fhirtest server imitating the shipped platform, holding
// resources, with an adapter in front of it. The platform's adapter must be
// registered: a platform package's own tests register it.
func Open(t testing.TB, platform string, resources ...string) *Upstream {
	t.Helper()
	ts := fhirtest.NewTestServer(fhirtest.WithPlatform(fixture.Platform(t, platform)))
	t.Cleanup(ts.Close)
	fixture.Load(t, ts, resources...)
	sent := fixture.Record(ts)
	return &Upstream{TestServer: ts, Adapter: NewAdapter(t, ts.URL, sent.Client(), ts.Platform()), Sent: sent}
}

// NewAdapter returns an adapter of the platform for the server at base,
// without authorization: that, retries and the circuit breaker are package
// adapters' and tested there. A retry fails the test, since a platform's
// tests inject no faults.
func NewAdapter(t testing.TB, base string, hc *http.Client, p fhir.Platform) *adapters.Adapter {
	t.Helper()
	a, err := adapters.New(
		adapters.Endpoint{Name: p.Name + "-test", BaseURL: base, Platform: p, Auth: adapters.Auth{Kind: adapters.AuthNone}},
		adapters.Options{HTTPClient: hc, Sleep: func(ctx context.Context, d time.Duration) error {
			t.Errorf("%s: a search was retried after %v", p.Name, d)
			return ctx.Err()
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
