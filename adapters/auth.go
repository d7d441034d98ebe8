package adapters

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	// assertionLifetime keeps a client assertion's exp under the five
	// minutes SMART Backend Services allow, with room for clock skew.
	assertionLifetime = 4 * time.Minute
	// refreshEarly is how long before its expiry a token is replaced, so
	// that no request leaves with a token about to die.
	refreshEarly = time.Minute
	// unknownLifetime is assumed for a token whose response gives no
	// expires_in (SMART requires it; five minutes is its recommendation).
	unknownLifetime   = 5 * time.Minute
	maxDiscoveryBytes = 1 << 20
	assertionType     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// AuthError reports that no token could be had for the endpoint.
type AuthError struct {
	Endpoint string
	Err      error
	// transient says whether trying again later may succeed: the token
	// endpoint was unreachable or failing, rather than refusing the client.
	transient bool
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("adapters: %s: getting a token: %v", e.Endpoint, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// tokenSource hands out the bearer tokens of one endpoint.
type tokenSource interface {
	Token(ctx context.Context) (*oauth2.Token, error)
	// invalidate drops tok if it is still the one handed out, after the
	// server refused it.
	invalidate(tok *oauth2.Token)
	// renewable reports whether invalidate leads to a new token.
	renewable() bool
}

// newTokenSource returns how the adapter authorizes to the endpoint named
// name, or nil when it does not: the caller's token source if given, else
// backend services with the endpoint's client secret when it has one
// (client_secret_basic), else with assertions signed by its private key.
func newTokenSource(name string, endpoint Endpoint, opts Options) (tokenSource, error) {
	if opts.TokenSource != nil {
		return passedSource{endpoint: name, ts: opts.TokenSource}, nil
	}
	auth := endpoint.Auth
	switch auth.Kind {
	case AuthNone:
		return nil, nil
	case AuthTokenSource:
		return nil, errors.New("the endpoint takes its tokens from Options.TokenSource, which is not set")
	case AuthBackendServices:
	default:
		return nil, fmt.Errorf("unknown auth kind %q", auth.Kind)
	}
	if auth.ClientID == "" {
		return nil, errors.New("backend services need a client id")
	}
	b := &backendServices{
		endpoint: name,
		clientID: auth.ClientID,
		secret:   auth.ClientSecret,
		scopes:   auth.Scopes,
		tokenURL: auth.TokenURL,
		fhirBase: strings.TrimRight(endpoint.BaseURL, "/"),
		http:     opts.HTTPClient,
		now:      opts.Now,
	}
	if auth.ClientSecret == "" {
		var err error
		if b.signer, err = newAssertionSigner(auth, endpoint.Platform.Auth.BackendAssertionAlg); err != nil {
			return nil, err
		}
	}
	return newTokenCache(b.fetch, opts.Now), nil
}

// passedSource adapts a caller's oauth2.TokenSource, which renews its tokens
// by itself.
type passedSource struct {
	endpoint string
	ts       oauth2.TokenSource
}

func (p passedSource) Token(context.Context) (*oauth2.Token, error) {
	tok, err := p.ts.Token()
	if err != nil {
		return nil, authFailure(p.endpoint, err)
	}
	return tok, nil
}

func (passedSource) invalidate(*oauth2.Token) {}
func (passedSource) renewable() bool          { return false }

// tokenCache keeps one token until shortly before it expires. When it must
// fetch, one caller does while the others wait for its token, each only as
// long as its own context allows.
type tokenCache struct {
	fetch func(context.Context) (*oauth2.Token, time.Duration, error)
	now   func() time.Time
	lock  chan struct{} // held while fetching

	mu      sync.Mutex
	tok     *oauth2.Token
	renewAt time.Time
}

func newTokenCache(fetch func(context.Context) (*oauth2.Token, time.Duration, error), now func() time.Time) *tokenCache {
	return &tokenCache{fetch: fetch, now: now, lock: make(chan struct{}, 1)}
}

func (c *tokenCache) cached() *oauth2.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.now().Before(c.renewAt) {
		return c.tok
	}
	return nil
}

// Token returns the cached token or fetches a new one.
func (c *tokenCache) Token(ctx context.Context) (*oauth2.Token, error) {
	if tok := c.cached(); tok != nil {
		return tok, nil
	}
	select {
	case c.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.lock }()
	if tok := c.cached(); tok != nil {
		return tok, nil // fetched while this caller waited
	}
	start := c.now()
	tok, lifetime, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tok, c.renewAt = tok, start.Add(lifetime-min(refreshEarly, lifetime/2))
	c.mu.Unlock()
	return tok, nil
}

func (c *tokenCache) invalidate(tok *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = nil
	}
}

func (c *tokenCache) renewable() bool { return true }

// backendServices gets tokens by SMART Backend Services: client_credentials,
// the client authenticated by a private_key_jwt assertion or, where the
// platform wants it, a client secret in HTTP Basic.
type backendServices struct {
	endpoint string
	clientID string
	secret   string
	signer   *assertionSigner // nil when secret is used
	scopes   []string
	fhirBase string
	http     *http.Client
	now      func() time.Time

	// tokenURL is configured or discovered on first use; only the one
	// caller fetching under tokenCache.lock reads and writes it.
	tokenURL string
}

// fetch gets a new token and says how long it lives.
func (b *backendServices) fetch(ctx context.Context) (*oauth2.Token, time.Duration, error) {
	if b.tokenURL == "" {
		u, err := discoverTokenURL(ctx, b.http, b.fhirBase)
		if err != nil {
			return nil, 0, authFailure(b.endpoint, err)
		}
		b.tokenURL = u
	}
	cfg := &clientcredentials.Config{
		ClientID: b.clientID,
		TokenURL: b.tokenURL,
		Scopes:   b.scopes,
	}
	if b.signer != nil {
		assertion, err := b.signer.sign(b.clientID, b.tokenURL, b.now())
		if err != nil {
			return nil, 0, &AuthError{Endpoint: b.endpoint, Err: err}
		}
		cfg.AuthStyle = oauth2.AuthStyleInParams
		cfg.EndpointParams = url.Values{
			"client_assertion_type": {assertionType},
			"client_assertion":      {assertion},
		}
	} else {
		cfg.ClientSecret = b.secret
		cfg.AuthStyle = oauth2.AuthStyleInHeader
	}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, b.http))
	if err != nil {
		return nil, 0, authFailure(b.endpoint, err)
	}
	return tok, tokenLifetime(tok), nil
}

// authFailure wraps a failure to get a token, saying whether it may pass:
// the token endpoint was unreachable or in trouble, rather than refusing.
func authFailure(endpoint string, err error) error {
	transient := false
	var re *oauth2.RetrieveError
	var ne net.Error
	var se statusError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &re):
		transient = re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests)
	case errors.As(err, &se):
		transient = se >= 500 || se == http.StatusTooManyRequests
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF):
		transient = true
	}
	return &AuthError{Endpoint: endpoint, Err: err, transient: transient}
}

// tokenLifetime reads expires_in from the token response. oauth2 turns it
// into an Expiry on the wall clock; the adapter's clock may be another.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	var secs int64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = int64(v)
	case json.Number:
		secs, _ = v.Int64()
	case string:
		secs, _ = strconv.ParseInt(v, 10, 64)
	}
	if secs <= 0 {
		return unknownLifetime
	}
	return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
}

// statusError is a discovery document answered with an HTTP error.
type statusError int

func (s statusError) Error() string { return fmt.Sprintf("status %d", int(s)) }

// discoverTokenURL reads token_endpoint from the server's
// .well-known/smart-configuration.
func discoverTokenURL(ctx context.Context, hc *http.Client, fhirBase string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fhirBase+"/.well-known/smart-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: %w", statusError(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if len(body) > maxDiscoveryBytes {
		return "", fmt.Errorf("discovery: document larger than %d bytes", maxDiscoveryBytes)
	}
	return parseSMARTConfiguration(body)
}

// parseSMARTConfiguration returns the token endpoint a SMART configuration
// names. It must be https, or http on a loopback host (test servers): client
// credentials are sent there.
func parseSMARTConfiguration(body []byte) (string, error) {
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery: decoding smart-configuration: %w", err)
	}
	if doc.TokenEndpoint == "" {
		return "", errors.New("discovery: smart-configuration names no token_endpoint")
	}
	u, err := url.Parse(doc.TokenEndpoint)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", errors.New("discovery: token_endpoint is not an absolute URL")
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname())) {
		return "", errors.New("discovery: token_endpoint must be https")
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// assertionSigner signs private_key_jwt client assertions.
type assertionSigner struct {
	signer jose.Signer
}

// newAssertionSigner loads the endpoint's private key (a JWK or a PEM file)
// and picks its algorithm: the key's own, else the platform's when the key
// can sign it, else RS384 for RSA and ES256/384/512 by curve.
func newAssertionSigner(auth Auth, platformAlg string) (*assertionSigner, error) {
	var key jose.JSONWebKey
	switch {
	case auth.Key != nil:
		key = *auth.Key // a copy: the key id may be filled in below
	case auth.PrivateKeyFile != "":
		k, err := readPrivateKey(auth.PrivateKeyFile)
		if err != nil {
			return nil, err
		}
		key = jose.JSONWebKey{Key: k}
	default:
		return nil, errors.New("backend services need a client secret, a key or a private key file")
	}
	if key.IsPublic() {
		return nil, errors.New("the key is a public key; client assertions need the private key")
	}
	alg, err := signingAlg(&key, platformAlg)
	if err != nil {
		return nil, err
	}
	if key.KeyID == "" {
		// The JWKS registered with the server must name the key the same way.
		thumb, err := key.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("key thumbprint: %w", err)
		}
		key.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: &key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("client assertion signer: %w", err)
	}
	return &assertionSigner{signer: signer}, nil
}

func signingAlg(key *jose.JSONWebKey, platformAlg string) (jose.SignatureAlgorithm, error) {
	if key.Algorithm != "" {
		return jose.SignatureAlgorithm(key.Algorithm), nil
	}
	switch k := key.Key.(type) {
	case *rsa.PrivateKey:
		if strings.HasPrefix(platformAlg, "RS") || strings.HasPrefix(platformAlg, "PS") {
			return jose.SignatureAlgorithm(platformAlg), nil
		}
		return jose.RS384, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	}
	return "", fmt.Errorf("a %T cannot sign client assertions; use an RSA or ECDSA (P-256, P-384, P-521) key", key.Key)
}

// readPrivateKey reads a PEM private key: PKCS #8, PKCS #1 (RSA) or SEC 1 (EC).
func readPrivateKey(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return parsePrivateKey(data)
}

func parsePrivateKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("private key: no PEM block found")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("private key: unsupported PEM block %q", block.Type)
}

// sign returns a client assertion (RFC 7523, SMART Backend Services):
// iss = sub = the client, aud = the token endpoint, a random jti, and exp
// under five minutes away.
func (s *assertionSigner) sign(clientID, tokenURL string, now time.Time) (string, error) {
	claims := jwt.Claims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: jwt.Audience{tokenURL},
		ID:       rand.Text(),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	assertion, err := jwt.Signed(s.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return assertion, nil
}

// bearerTransport adds the endpoint's token to every request and drops a
// token the server refuses, so that the next request gets a new one.
type bearerTransport struct {
	tokens tokenSource
	base   http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.tokens.Token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	tok.SetAuthHeader(r)
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.tokens.invalidate(tok)
	}
	return resp, err
}
