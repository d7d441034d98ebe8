// Package identity owns the gateway's side of patient sign-in: it is the
// OpenID Connect relying party of each network's identity provider.
//
// StartLogin sends the browser to the provider with the authorization code
// flow, PKCE (S256), a state and a nonce; the pending login waits on the
// storage port, under a hash of its state, for ten minutes. FinishLogin
// takes it back exactly once, exchanges the code, verifies the ID token
// (signature against the provider's rotating key set, issuer, audience,
// expiry on the injected clock, nonce) and the network's two-step
// verification rule (amr/acr), and returns who signed in. The gateway never
// sees a password. AbandonLogin takes a login back unfinished, when the
// provider reports an error instead of a code. Once a state has named a
// login, failures are a *LoginError naming the login's network, so that
// they can be audited there whatever the client sends.
//
// A login is bound to the browser that started it: StartLogin returns a
// random binding that the caller keeps in a short-lived cookie (HttpOnly,
// SameSite=Lax so it survives the redirect back from the provider) and
// hands back to FinishLogin. A stolen or forced callback URL is useless in
// another browser.
//
// Providers are discovered lazily, at first use, and cached: the sandbox's
// own provider is served by the same process and is not listening yet when
// the gateway is built. A failed discovery is retried on the next call.
package identity

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// Errors of the sign-in flow. They are wrapped with the reason, which is
// safe to show: it never holds a code, a token or a binding.
var (
	// ErrUnknownNetwork: no network has the given id.
	ErrUnknownNetwork = errors.New("identity: unknown network")
	// ErrInvalidReturnTo: the page to return to is not a path on this site.
	ErrInvalidReturnTo = errors.New("identity: invalid return address")
	// ErrLoginExpired: the state names no pending login: it is unknown,
	// already used or older than the login lifetime. The user starts over.
	ErrLoginExpired = errors.New("identity: login expired or already used")
	// ErrBindingMismatch: the callback came to a browser other than the one
	// that started the login.
	ErrBindingMismatch = errors.New("identity: login was started in another browser")
	// ErrProviderUnavailable: the provider could not be reached or answered
	// with a server error; it wraps the cause. Retrying later may help.
	ErrProviderUnavailable = errors.New("identity: identity provider unavailable")
	// ErrTokenRejected: the provider refused the code, or its ID token failed
	// verification (signature, issuer, audience, expiry, nonce).
	ErrTokenRejected = errors.New("identity: sign-in rejected")
	// ErrAuthContext: the sign-in is valid but weaker than the network
	// requires (its amr/acr rule, such as two-step verification).
	ErrAuthContext = errors.New("identity: sign-in does not meet the network's requirements")
)

// Defaults for Options.
const (
	DefaultLoginTTL    = 10 * time.Minute
	DefaultCallTimeout = 10 * time.Second
)

// Options configures a Service.
type Options struct {
	// Lookup finds a network by id; (*tenants.Config).Network fits. Required.
	Lookup func(networkID string) (*tenants.Network, bool)
	// Store keeps pending logins. Required.
	Store store.KV
	// HTTPClient calls the providers; nil means a new client. A client
	// without a Timeout is copied with CallTimeout as its Timeout, because
	// go-oidc fetches rotated signing keys on a context stripped of
	// deadlines.
	HTTPClient *http.Client
	// CallTimeout bounds each call to a provider (discovery, code exchange,
	// key set); 0 means DefaultCallTimeout.
	CallTimeout time.Duration
	// LoginTTL is how long a started login may be finished; 0 means
	// DefaultLoginTTL.
	LoginTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service signs patients in at their network's provider. It is safe for
// concurrent use, also across replicas sharing one store.
type Service struct {
	lookup      func(string) (*tenants.Network, bool)
	kv          store.KV
	client      *http.Client
	callTimeout time.Duration
	loginTTL    time.Duration
	now         func() time.Time
	providers   providerCache
}

// NewService returns a Service. It makes no network call.
func NewService(opts Options) (*Service, error) {
	if opts.Lookup == nil {
		return nil, errors.New("identity: a network lookup is required")
	}
	if opts.Store == nil {
		return nil, errors.New("identity: a store is required")
	}
	if opts.CallTimeout < 0 || opts.LoginTTL < 0 {
		return nil, fmt.Errorf("identity: negative timeout (call %v, login %v)", opts.CallTimeout, opts.LoginTTL)
	}
	s := &Service{
		lookup:      opts.Lookup,
		kv:          opts.Store,
		callTimeout: cmp.Or(opts.CallTimeout, DefaultCallTimeout),
		loginTTL:    cmp.Or(opts.LoginTTL, DefaultLoginTTL),
		now:         opts.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	client := http.Client{}
	if opts.HTTPClient != nil {
		client = *opts.HTTPClient
	}
	if client.Timeout == 0 {
		client.Timeout = s.callTimeout
	}
	s.client = &client
	s.providers = providerCache{client: s.client, timeout: s.callTimeout}
	return s, nil
}

// Login is a started sign-in.
type Login struct {
	// AuthURL is the provider's authorization URL to redirect the browser to.
	AuthURL string
	// Binding is a secret the caller keeps in a short-lived HttpOnly cookie
	// and passes to FinishLogin: it ties the login to this browser.
	Binding string
	// Expires is when the login can no longer be finished; a fitting expiry
	// for the binding cookie.
	Expires time.Time
}

// Identity is a verified sign-in.
type Identity struct {
	Network string
	// Issuer and Subject name the person at the provider: together they are
	// the account's key.
	Issuer  string
	Subject string
	Name    string
	Email   string
	// EmailVerified is the provider's word that the person controls Email;
	// never match people by an unverified address.
	EmailVerified bool
	// AMR and ACR say how the person authenticated (amr: "pwd", "otp", ...).
	AMR []string
	ACR string
	// AuthTime is when the person last authenticated at the provider; zero
	// when the token does not say.
	AuthTime time.Time
	// IDToken is the raw ID token, kept only as the id_token_hint of a later
	// logout. It carries personal data: never log it.
	IDToken string
	// ReturnTo is the path given to StartLogin ("/" when none): where the
	// browser goes once signed in.
	ReturnTo string
}

// LogValue keeps the ID token and personal data out of logs.
func (id *Identity) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("network", id.Network),
		slog.String("issuer", id.Issuer),
		slog.Any("amr", id.AMR),
		slog.String("acr", id.ACR),
	)
}

func (s *Service) network(id string) (*tenants.Network, error) {
	n, ok := s.lookup(id)
	if !ok || n == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownNetwork, id)
	}
	return n, nil
}
