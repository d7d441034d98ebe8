package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// provider is a discovered OpenID provider.
type provider struct {
	issuer   string
	endpoint oauth2.Endpoint
	keys     *keySet
	// algs are the ID token signing algorithms both sides support.
	algs []string
	// endSession is the RP-initiated logout endpoint, or "".
	endSession string
	// authStyle is how the provider wants the client secret at its token
	// endpoint; fixed here so the code exchange never tries twice.
	authStyle oauth2.AuthStyle
}

// verifier returns an ID token verifier for one client of the provider.
func (p *provider) verifier(clientID string, now func() time.Time) *oidc.IDTokenVerifier {
	return oidc.NewVerifier(p.issuer, p.keys, &oidc.Config{ClientID: clientID, SupportedSigningAlgs: p.algs, Now: now})
}

// discoveryExtras are the discovery fields go-oidc keeps to itself.
type discoveryExtras struct {
	JWKSURI          string   `json:"jwks_uri"`
	Algs             []string `json:"id_token_signing_alg_values_supported"`
	EndSession       string   `json:"end_session_endpoint"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	ChallengeMethods []string `json:"code_challenge_methods_supported"`
}

// supportedAlgs are the signing algorithms go-oidc verifies; "none" and
// the HMAC ones are never accepted.
var supportedAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// providerCache discovers each issuer when it is first needed and keeps the
// result; failures are not kept, so the next call tries again.
type providerCache struct {
	client  *http.Client
	timeout time.Duration

	mu    sync.Mutex
	slots map[string]*providerSlot
}

type providerSlot struct {
	ready atomic.Pointer[provider]
	// turn is held by the one caller discovering, so that a burst of logins
	// against a cold provider makes one request; the others wait for it, or
	// for their own context.
	turn chan struct{}
}

func (c *providerCache) slot(issuer string) *providerSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		c.slots = map[string]*providerSlot{}
	}
	s, ok := c.slots[issuer]
	if !ok {
		s = &providerSlot{turn: make(chan struct{}, 1)}
		c.slots[issuer] = s
	}
	return s
}

// get returns the provider at issuer, discovering it if needed.
func (c *providerCache) get(ctx context.Context, issuer string) (*provider, error) {
	s := c.slot(issuer)
	if p := s.ready.Load(); p != nil {
		return p, nil
	}
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for discovery of %s: %w", ErrProviderUnavailable, issuer, ctx.Err())
	}
	if p := s.ready.Load(); p != nil {
		return p, nil // discovered while we waited
	}
	p, err := c.discover(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery of %s: %w", ErrProviderUnavailable, issuer, err)
	}
	s.ready.Store(p)
	return p, nil
}

func (c *providerCache) discover(ctx context.Context, issuer string) (*provider, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// go-oidc checks that the document names this very issuer.
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, c.client), issuer)
	if err != nil {
		return nil, err
	}
	var extras discoveryExtras
	if err := op.Claims(&extras); err != nil {
		return nil, err
	}
	endpoint := op.Endpoint()
	switch {
	case endpoint.AuthURL == "" || endpoint.TokenURL == "" || extras.JWKSURI == "":
		return nil, errors.New("the discovery document lacks an authorization, token or jwks_uri endpoint")
	case len(extras.ChallengeMethods) > 0 && !slices.Contains(extras.ChallengeMethods, "S256"):
		return nil, fmt.Errorf("the provider does not support PKCE with S256 (it lists %v)", extras.ChallengeMethods)
	}
	// The key set outlives this call: go-oidc drops the context's deadline
	// and relies on the client's Timeout when it refetches rotated keys.
	keys := &keySet{remote: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.client), extras.JWKSURI)}
	return &provider{
		issuer:     issuer,
		endpoint:   endpoint,
		keys:       keys,
		algs:       slices.DeleteFunc(extras.Algs, func(a string) bool { return !slices.Contains(supportedAlgs, a) }),
		endSession: extras.EndSession,
		authStyle:  authStyle(extras.TokenAuthMethods),
	}, nil
}

// authStyle picks how to send the client secret. Discovery's default when
// the provider lists nothing is client_secret_basic.
func authStyle(methods []string) oauth2.AuthStyle {
	if !slices.Contains(methods, "client_secret_basic") && slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// keySet is go-oidc's remote key set, which refetches the provider's JWKS
// when a token names a key it does not hold (key rotation). It tells a key
// set that cannot be fetched (the provider is down) from a signature that
// does not verify (a forged or foreign token): go-oidc's verifier flattens
// both into one error string, so the cause goes back through the context.
type keySet struct {
	remote *oidc.RemoteKeySet
}

// fetchFailure receives why the key set could not be fetched.
type fetchFailure struct{ err error }

type fetchFailureKey struct{}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	// RemoteKeySet wraps fetch errors and returns a bare error for a bad
	// signature; a done context also means the fetch did not finish.
	if err != nil && (errors.Unwrap(err) != nil || ctx.Err() != nil) {
		if f, ok := ctx.Value(fetchFailureKey{}).(*fetchFailure); ok {
			f.err = err
		}
	}
	return payload, err
}
