package idp

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Lifetimes of what the provider hands out, measured on Config.Now.
const (
	// CodeLifetime is how long an authorization code may be redeemed.
	CodeLifetime = 60 * time.Second
	// AccessTokenLifetime is how long an access token is honoured at
	// userinfo and introspection.
	AccessTokenLifetime = time.Hour
	// IDTokenLifetime is the validity written into ID tokens. The library
	// stamps iat and exp from the wall clock, so Config.Now should track it.
	IDTokenLifetime = time.Hour
	// LoginLifetime is how long a person has to sign in once an
	// authorization request arrives.
	LoginLifetime = 10 * time.Minute
)

// supportedClaims are the claims ID tokens and userinfo can carry.
var supportedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "client_id",
	"at_hash", "c_hash", "name", "given_name", "family_name", "preferred_username", "birthdate",
	"email", "email_verified",
}

// Config configures a Provider.
type Config struct {
	// Issuer is the provider's absolute issuer URL, path included, such as
	// "http://127.0.0.1:8080/sandbox/idp". Discovery reports it verbatim,
	// whatever prefix the handler is mounted under. It must be https, or
	// http on a loopback host.
	Issuer  string
	Users   []User
	Clients []Client
	// Now is the clock for code, token, sign-in and key lifetimes
	// (default time.Now).
	Now func() time.Time
	// Logger receives the provider's logs (default: discarded). They carry
	// no passwords, codes, tokens or usernames.
	Logger *slog.Logger
}

// User is a person who can sign in.
type User struct {
	// Subject is the stable "sub" claim, such as the sandbox person id.
	Subject  string
	Username string
	Password string
	Given    string
	Family   string
	Email    string
	// BirthDate is "YYYY-MM-DD", or empty.
	BirthDate string
	// AMR lists the authentication methods the ID token reports (default
	// ["pwd"]); ["pwd", "otp"] stands for a person with two-step
	// verification.
	AMR []string
	// ACR is the ID token's authentication context class, or empty.
	ACR string
}

// Client is a confidential relying party. It authenticates at the token
// endpoint with client_secret_basic or client_secret_post.
type Client struct {
	ID     string
	Secret string
	// RedirectURIs and PostLogoutRedirectURIs must match exactly.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes the client may obtain; others it requests are dropped.
	// Default: openid, profile, email. It must include openid.
	Scopes []string
}

// Provider is the sandbox OpenID provider.
type Provider struct {
	issuer  string
	handler http.Handler
	users   *directory
	keys    *keyring
}

// New builds a provider with fresh signing and sealing keys.
func New(cfg Config) (*Provider, error) {
	issuerURL, err := checkIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	clients := make(map[string]*client, len(cfg.Clients))
	for i, c := range cfg.Clients {
		cl, err := newClient(c)
		if err != nil {
			return nil, fmt.Errorf("idp: clients[%d]: %w", i, err)
		}
		if _, dup := clients[cl.id]; dup {
			return nil, fmt.Errorf("idp: clients[%d]: client id %q is registered twice", i, cl.id)
		}
		clients[cl.id] = cl
	}
	users := newDirectory()
	for i, u := range cfg.Users {
		if err := users.add(u); err != nil {
			return nil, fmt.Errorf("idp: users[%d]: %w", i, err)
		}
	}
	keys, err := newKeyring(cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	sealer, err := newSealer()
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}

	// Where the provider sends browsers; a trailing slash on the issuer
	// must not double the one each path starts with.
	base := strings.TrimSuffix(cfg.Issuer, "/")
	for _, c := range clients {
		c.loginURL = base + pathLogin + "?" + fieldRequest + "="
	}
	store := newStorage(cfg.Now, clients, users, keys)

	opConfig := &op.Config{
		// Unused, as WithCrypto replaces the cipher it keys; random anyway.
		CryptoKey:                randomKey(),
		DefaultLogoutRedirectURI: base + pathLoggedOut,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          defaultClientScopes,
		SupportedClaims:          supportedClaims,
	}
	logger := cfg.Logger.With("component", "sandbox-idp")
	opts := []op.Option{
		op.WithCrypto(sealer),
		op.WithLogger(logger),
		// Relying parties call from servers; no browser needs CORS here.
		op.WithCORSOptions(nil),
	}
	if issuerURL.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	oidcProvider, err := op.NewProvider(opConfig, store, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("idp: starting the OpenID provider: %w", err)
	}

	pages := &loginPages{
		store:       store,
		users:       users,
		logger:      logger,
		formAction:  strings.TrimSuffix(issuerURL.Path, "/") + pathLogin,
		callbackURL: authCallbackURL(oidcProvider, cfg.Issuer),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathLogin, pages.showLogin)
	mux.HandleFunc("POST "+pathLogin, pages.submitLogin)
	mux.HandleFunc("GET "+pathLoggedOut, pages.showLoggedOut)
	mux.Handle("/", oidcProvider)

	return &Provider{issuer: cfg.Issuer, handler: mux, users: users, keys: keys}, nil
}

// Handler serves the provider with its issuer's path stripped: discovery
// arrives as "/.well-known/openid-configuration", sign-in as "/login".
func (p *Provider) Handler() http.Handler { return p.handler }

// Issuer is the issuer URL exactly as configured.
func (p *Provider) Issuer() string { return p.issuer }

// AddUser registers another person who can sign in from now on.
func (p *Provider) AddUser(u User) error {
	if err := p.users.add(u); err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	return nil
}

// RotateKeys makes a new RS256 key the signing key. The previous public key
// stays in the JWKS for IDTokenLifetime, so tokens it signed still verify.
func (p *Provider) RotateKeys() error {
	if err := p.keys.rotate(); err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	return nil
}

// authCallbackURL is where a completed sign-in returns to the library, which
// then answers the relying party with a code.
func authCallbackURL(o op.OpenIDProvider, issuer string) func(requestID string) string {
	callback := op.AuthCallbackURL(o)
	ctx := op.ContextWithIssuer(context.Background(), issuer)
	return func(requestID string) string { return callback(ctx, url.QueryEscape(requestID)) }
}

func checkIssuer(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("idp: issuer %q is not an absolute URL", raw)
	}
	switch {
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return nil, fmt.Errorf("idp: issuer %q must not carry credentials, a query or a fragment", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("idp: issuer %q must be https (http only on a loopback host)", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func randomKey() [32]byte {
	var k [32]byte
	rand.Read(k[:]) // never fails: crypto/rand.Read crashes the program instead
	return k
}
