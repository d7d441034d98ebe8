// Package upstreams owns the gateway's connections to the EHRs of its networks: one adapter
// per configured org endpoint, built from the tenants configuration, and one record service
// per network on top of them.
//
// It is the only place where the configuration (tenants) meets the adapters, which know
// nothing of it. Orgs whose endpoint needs the patient's own login (standalone launch, the
// health systems a patient links) get no adapter here: their tokens belong to each link.
package upstreams

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/portalgate/portalgate/adapters"
	_ "github.com/portalgate/portalgate/adapters/all" // the code of every platform the configuration may name
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/records"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// Options configure a Set.
type Options struct {
	// HTTPClient carries every upstream request; nil means the adapters' shared transport.
	HTTPClient *http.Client
	// Cache holds upstream answers, encrypted under CacheKeys; nil turns caching off.
	Cache     store.KV
	CacheKeys [][]byte
	// CacheTTL and Deadline tune every network's record service (records.Options).
	CacheTTL time.Duration
	Deadline time.Duration
	// Adapter tunes every adapter; its HTTPClient and Now are taken from here.
	Adapter adapters.Options
	// Now is the clock of token expiry, circuit breakers and the cache; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Set holds the adapters and record services of every configured network.
type Set struct {
	services map[string]*records.Service
	adapters map[string]map[string]*adapters.Adapter // network → org → adapter
}

// New builds an adapter for the primary endpoint of every org the gateway reads with its own
// credentials, and a record service per network.
func New(cfg *tenants.Config, opts Options) (*Set, error) {
	s := &Set{services: map[string]*records.Service{}, adapters: map[string]map[string]*adapters.Adapter{}}
	adapterOpts := opts.Adapter
	adapterOpts.HTTPClient = opts.HTTPClient
	adapterOpts.Now = opts.Now
	for _, n := range cfg.Networks {
		byOrg := map[string]*adapters.Adapter{}
		var orgs []fhir.SourceOrg
		for _, o := range n.Orgs {
			e := o.Primary()
			if e == nil {
				continue
			}
			orgs = append(orgs, fhir.SourceOrg{ID: o.ID, Name: o.Name, Source: e.FHIRBaseURL})
			if e.Auth.Kind == tenants.AuthStandalone {
				continue
			}
			a, err := adapters.New(Endpoint(o.ID, e), adapterOpts)
			if err != nil {
				return nil, fmt.Errorf("upstreams: network %s: %w", n.ID, err)
			}
			byOrg[o.ID] = a
		}
		if len(orgs) == 0 {
			continue
		}
		svc, err := records.NewService(records.Options{
			Sources: func(org string) (records.Source, bool) {
				a, ok := byOrg[org]
				return a, ok
			},
			Orgs: orgs, Cache: opts.Cache, CacheKeys: opts.CacheKeys, CacheTTL: opts.CacheTTL,
			Deadline: opts.Deadline, Now: opts.Now, Logger: opts.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("upstreams: network %s: %w", n.ID, err)
		}
		s.services[n.ID] = svc
		s.adapters[n.ID] = byOrg
	}
	if len(s.services) == 0 {
		return nil, errors.New("upstreams: no network has an org with an endpoint")
	}
	return s, nil
}

// Records returns the record service of a network.
func (s *Set) Records(network string) (*records.Service, bool) {
	svc, ok := s.services[network]
	return svc, ok
}

// Adapter returns the adapter of an org of a network, when the gateway reads it with its own
// credentials.
func (s *Set) Adapter(network, org string) (*adapters.Adapter, bool) {
	a, ok := s.adapters[network][org]
	return a, ok
}

// Close waits for the record services' cache writes.
func (s *Set) Close() {
	for _, svc := range s.services {
		svc.Close()
	}
}

// authKinds maps the configuration's auth kinds onto the adapters'.
var authKinds = map[tenants.AuthKind]adapters.AuthKind{
	tenants.AuthBackendServices: adapters.AuthBackendServices,
	tenants.AuthStandalone:      adapters.AuthTokenSource, // the patient's tokens, in Options.TokenSource
	tenants.AuthNone:            adapters.AuthNone,
}

// Endpoint describes a configured endpoint to the adapters.
func Endpoint(name string, e *tenants.Endpoint) adapters.Endpoint {
	return adapters.Endpoint{
		Name:     name,
		BaseURL:  e.FHIRBaseURL,
		Platform: e.Quirks(),
		Auth: adapters.Auth{
			Kind:           authKinds[e.Auth.Kind],
			ClientID:       e.Auth.ClientID,
			ClientSecret:   e.Auth.ClientSecret.Reveal(),
			Key:            e.Auth.JWK.Key(),
			PrivateKeyFile: e.Auth.PrivateKeyFile,
			Scopes:         e.Auth.Scopes,
			TokenURL:       e.Auth.TokenURL,
		},
	}
}
