package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/records"
	"github.com/portalgate/portalgate/gateway/session"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/upstreams"
	"github.com/portalgate/portalgate/tenants"
)

// services are the domain services of a running gateway, wired on one store.
type services struct {
	accounts  *accounts.Service
	upstreams *upstreams.Set
	portal    gateway.Portal
}

// serviceOptions configure newServices.
type serviceOptions struct {
	// Source names this gateway as the observer in audit events.
	Source        string
	OperatorToken string
	// CacheKeys encrypt the record cache (records.Options.CacheKeys); nil means one random
	// key, so that nothing this process caches is readable by another.
	CacheKeys [][]byte
	// Now is the clock of every service (nil: time.Now).
	Now func() time.Time
}

// newServices builds the domain services for the networks of cfg.
func newServices(cfg *tenants.Config, st store.Store, opts serviceOptions) (*services, error) {
	lookup := cfg.Network
	login, err := identity.NewService(identity.Options{Lookup: lookup, Store: st, HTTPClient: &http.Client{}, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	sessions, err := session.NewManager(st, session.Options{Policy: session.PolicyFromNetworks(lookup), Now: opts.Now})
	if err != nil {
		return nil, err
	}
	accts, err := accounts.NewService(st, accounts.Options{Networks: lookup, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	trail, err := audit.NewLog(st, audit.Options{Source: opts.Source, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	decider, err := access.NewDecider(access.Options{Networks: cfg, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	cacheKeys := opts.CacheKeys
	if cacheKeys == nil {
		key := make([]byte, records.CacheKeySize)
		rand.Read(key)
		cacheKeys = [][]byte{key}
	}
	ups, err := upstreams.New(cfg, upstreams.Options{Cache: st, CacheKeys: cacheKeys, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	return &services{
		accounts:  accts,
		upstreams: ups,
		portal: gateway.Portal{
			Networks: lookup, Login: login, Sessions: sessions, Accounts: accts, Audit: trail,
			Idempotency: st, OperatorToken: opts.OperatorToken,
			Records: func(network string) (gateway.RecordSearcher, bool) {
				svc, ok := ups.Records(network)
				return svc, ok
			},
			Access: decider,
		},
	}, nil
}

// operatorToken reads the operator API's token from a file (empty: the
// operator API is off). A file keeps the token out of the process list.
func operatorToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("operator token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 32 {
		return "", fmt.Errorf("operator token in %s: at least 32 characters, please", path)
	}
	return token, nil
}

// readCacheKeys reads the record cache's keys: hex, one per line, blank lines and lines
// starting with # ignored. Empty path: none (newServices then makes a random one).
func readCacheKeys(path string) ([][]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cache keys: %w", err)
	}
	var keys [][]byte
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := hex.DecodeString(line)
		if err != nil || len(key) != records.CacheKeySize {
			return nil, fmt.Errorf("cache keys in %s, line %d: want %d bytes in hex", path, i+1, records.CacheKeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("cache keys: %s holds no key", path)
	}
	return keys, nil
}
