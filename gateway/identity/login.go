package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// loginKeyPrefix starts the key of a pending login; the rest is the
// SHA-256 of its state, so the store never holds a usable state.
const loginKeyPrefix = "login/"

// storeSlack keeps a login in the store a little past its expiry: the
// service's clock decides when it expires, and a late callback is still
// reported under the login's network; the store's expiry only reclaims it.
const storeSlack = time.Minute

// pendingLogin is a started login, waiting for its callback. Once taken it
// is replaced by one that keeps only its network and Consumed, so that a
// replayed callback is still reported under the network it belongs to.
type pendingLogin struct {
	Network  string `json:"network"`
	Consumed bool   `json:"consumed,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	Verifier string `json:"verifier,omitempty"`
	// BindingHash is the SHA-256 of the binding, in hex.
	BindingHash string    `json:"bindingHash,omitempty"`
	ReturnTo    string    `json:"returnTo,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
}

// LoginError is how FinishLogin and AbandonLogin fail once the state has
// named a login: it says which network the login was started for, so that
// the failure is filed under the network the gateway chose, not one a
// client claims. errors.Is sees the error it wraps (ErrLoginExpired,
// ErrBindingMismatch, ...). Its message is that error's.
type LoginError struct {
	Network string
	// Issuer and Subject name who signed in when the provider's ID token
	// was verified before the sign-in was refused (ErrAuthContext); they
	// are empty otherwise.
	Issuer  string
	Subject string
	Err     error
}

func (e *LoginError) Error() string { return e.Err.Error() }

// Unwrap returns the reason the login failed.
func (e *LoginError) Unwrap() error { return e.Err }

// StartLogin begins a sign-in at the network's provider. returnTo is the
// path to come back to afterwards; it must be a path on this site (see
// ValidateReturnTo), and "" means "/".
//
// The caller redirects the browser to Login.AuthURL and keeps
// Login.Binding in a cookie until the callback.
func (s *Service) StartLogin(ctx context.Context, networkID, returnTo string) (Login, error) {
	returnTo, err := ValidateReturnTo(returnTo)
	if err != nil {
		return Login{}, err
	}
	n, err := s.network(networkID)
	if err != nil {
		return Login{}, err
	}
	p, err := s.providers.get(ctx, n.Identity.Issuer)
	if err != nil {
		return Login{}, err
	}
	state, err := randomString()
	if err != nil {
		return Login{}, fmt.Errorf("identity: start login: %w", err)
	}
	nonce, err := randomString()
	if err != nil {
		return Login{}, fmt.Errorf("identity: start login: %w", err)
	}
	binding, err := randomString()
	if err != nil {
		return Login{}, fmt.Errorf("identity: start login: %w", err)
	}
	pending := pendingLogin{
		Network:     n.ID,
		Nonce:       nonce,
		Verifier:    oauth2.GenerateVerifier(),
		BindingHash: sha256Hex(binding),
		ReturnTo:    returnTo,
		Expires:     s.now().Add(s.loginTTL),
	}
	value, err := json.Marshal(pending)
	if err != nil {
		return Login{}, fmt.Errorf("identity: start login: %w", err)
	}
	if err := s.kv.Create(ctx, loginKey(state), value, s.loginTTL+storeSlack); err != nil {
		return Login{}, fmt.Errorf("identity: start login: %w", err)
	}
	authURL := oauthConfig(n, p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pending.Verifier))
	return Login{AuthURL: authURL, Binding: binding, Expires: pending.Expires}, nil
}

// FinishLogin completes a sign-in from the provider's callback: its state
// and code query parameters and the binding kept by StartLogin's caller.
//
// The pending login is taken first, atomically, so each state is used at
// most once, even when this call then fails for another reason. Once the
// state has named a login, every error is a *LoginError.
func (s *Service) FinishLogin(ctx context.Context, state, code, binding string) (*Identity, error) {
	pending, err := s.takePending(ctx, state)
	if err != nil {
		return nil, err
	}
	id, err := s.finish(ctx, pending, code, binding)
	if err != nil {
		failed := &LoginError{Network: pending.Network, Err: err}
		if id != nil {
			failed.Issuer, failed.Subject = id.Issuer, id.Subject
		}
		return nil, failed
	}
	return id, nil
}

// AbandonLogin ends the login a state names without finishing it, as when
// the provider reports that it did not sign the person in, and returns the
// network the login was started for. A state that names no pending login
// is ErrLoginExpired: a *LoginError when the login was already taken.
func (s *Service) AbandonLogin(ctx context.Context, state string) (network string, err error) {
	pending, err := s.takePending(ctx, state)
	if err != nil {
		return "", err
	}
	return pending.Network, nil
}

// finish checks a taken login's callback and verifies who signed in. When
// the ID token is valid but weaker than the network requires, it returns
// the identity along with ErrAuthContext.
func (s *Service) finish(ctx context.Context, pending pendingLogin, code, binding string) (*Identity, error) {
	if !s.now().Before(pending.Expires) {
		return nil, fmt.Errorf("%w: it was not finished within %v", ErrLoginExpired, s.loginTTL)
	}
	if subtle.ConstantTimeCompare([]byte(sha256Hex(binding)), []byte(pending.BindingHash)) != 1 {
		return nil, ErrBindingMismatch
	}
	if code == "" {
		return nil, fmt.Errorf("%w: the provider sent no authorization code", ErrTokenRejected)
	}
	n, err := s.network(pending.Network)
	if err != nil {
		return nil, err
	}
	p, err := s.providers.get(ctx, n.Identity.Issuer)
	if err != nil {
		return nil, err
	}
	tok, err := s.exchange(ctx, n, p, code, pending.Verifier)
	if err != nil {
		return nil, err
	}
	id, err := s.verify(ctx, n, p, tok, pending.Nonce)
	if err != nil {
		return nil, err
	}
	if err := checkAuthContext(&n.Identity, id.AMR, id.ACR); err != nil {
		return id, err
	}
	id.ReturnTo = pending.ReturnTo
	return id, nil
}

// takePending reads the login a state names and marks it used. Of
// concurrent callbacks with one state, the compare-and-swap lets exactly
// one through.
func (s *Service) takePending(ctx context.Context, state string) (pendingLogin, error) {
	if state == "" {
		return pendingLogin{}, fmt.Errorf("%w: the callback has no state", ErrLoginExpired)
	}
	key := loginKey(state)
	raw, err := s.kv.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return pendingLogin{}, ErrLoginExpired
	case err != nil:
		return pendingLogin{}, fmt.Errorf("identity: finish login: %w", err)
	}
	var p pendingLogin
	if err := json.Unmarshal(raw, &p); err != nil {
		return pendingLogin{}, fmt.Errorf("identity: finish login: stored login is unreadable: %w", err)
	}
	if p.Consumed {
		return pendingLogin{}, &LoginError{Network: p.Network, Err: ErrLoginExpired}
	}
	consumed, err := json.Marshal(pendingLogin{Network: p.Network, Consumed: true})
	if err != nil {
		return pendingLogin{}, fmt.Errorf("identity: finish login: %w", err)
	}
	switch err := s.kv.CompareAndSwap(ctx, key, raw, consumed, s.loginTTL+storeSlack); {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return pendingLogin{}, &LoginError{Network: p.Network, Err: ErrLoginExpired}
	case err != nil:
		return pendingLogin{}, fmt.Errorf("identity: finish login: %w", err)
	}
	return p, nil
}

// exchange trades the code for tokens, proving with the PKCE verifier that
// this is the client that asked for it.
func (s *Service) exchange(ctx context.Context, n *tenants.Network, p *provider, code, verifier string) (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	tok, err := oauthConfig(n, p).Exchange(oidc.ClientContext(ctx, s.client), code, oauth2.VerifierOption(verifier))
	if err == nil {
		return tok, nil
	}
	// The error's text may quote the provider's reply: keep only its
	// status and error code.
	var refused *oauth2.RetrieveError
	switch {
	case errors.As(err, &refused) && refused.Response != nil && refused.Response.StatusCode < 500:
		return nil, fmt.Errorf("%w: the provider refused the authorization code (%s, %q)", ErrTokenRejected, refused.Response.Status, refused.ErrorCode)
	case errors.As(err, &refused) && refused.Response != nil:
		return nil, fmt.Errorf("%w: code exchange at %s: %s", ErrProviderUnavailable, n.Identity.Issuer, refused.Response.Status)
	default:
		return nil, fmt.Errorf("%w: code exchange at %s: %w", ErrProviderUnavailable, n.Identity.Issuer, err)
	}
}

// idClaims are the ID token claims the gateway reads beyond go-oidc's.
type idClaims struct {
	Name          string          `json:"name"`
	GivenName     string          `json:"given_name"`
	FamilyName    string          `json:"family_name"`
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	AMR           []string        `json:"amr"`
	ACR           string          `json:"acr"`
	AuthTime      float64         `json:"auth_time"`
	AZP           string          `json:"azp"`
}

// verify checks the ID token of a token response (OpenID Connect Core
// §3.1.3.7) and returns who it names.
func (s *Service) verify(ctx context.Context, n *tenants.Network, p *provider, tok *oauth2.Token, nonce string) (*Identity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: the token response holds no ID token", ErrTokenRejected)
	}
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	var fetch fetchFailure
	ctx = context.WithValue(ctx, fetchFailureKey{}, &fetch)
	clientID := n.Identity.ClientID
	idt, err := p.verifier(clientID, s.now).Verify(ctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case fetch.err != nil:
		return nil, fmt.Errorf("%w: fetching the signing keys of %s: %w", ErrProviderUnavailable, p.issuer, fetch.err)
	case errors.As(err, &expired):
		return nil, fmt.Errorf("%w: the ID token expired at %s", ErrTokenRejected, expired.Expiry.UTC().Format(time.RFC3339))
	case err != nil:
		return nil, fmt.Errorf("%w: the ID token failed verification: %w", ErrTokenRejected, err)
	}
	// go-oidc still accepts a token in its exp second; RFC 7519 §4.1.4
	// wants the current time before exp.
	if !s.now().Before(idt.Expiry) {
		return nil, fmt.Errorf("%w: the ID token expired at %s", ErrTokenRejected, idt.Expiry.UTC().Format(time.RFC3339))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: the ID token's nonce does not match this login", ErrTokenRejected)
	}
	if idt.Subject == "" {
		return nil, fmt.Errorf("%w: the ID token names no subject", ErrTokenRejected)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: the ID token does not match the access token: %w", ErrTokenRejected, err)
		}
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: the ID token's claims are malformed: %w", ErrTokenRejected, err)
	}
	if (len(idt.Audience) > 1 && c.AZP == "") || (c.AZP != "" && c.AZP != clientID) {
		return nil, fmt.Errorf("%w: the ID token was issued to another party (azp %q)", ErrTokenRejected, c.AZP)
	}
	id := &Identity{
		Network:       n.ID,
		Issuer:        idt.Issuer,
		Subject:       idt.Subject,
		Name:          c.Name,
		Email:         c.Email,
		EmailVerified: isTrue(c.EmailVerified),
		AMR:           c.AMR,
		ACR:           c.ACR,
		IDToken:       raw,
	}
	if id.Name == "" {
		id.Name = joinNonEmpty(c.GivenName, c.FamilyName)
	}
	if c.AuthTime > 0 {
		id.AuthTime = time.Unix(int64(c.AuthTime), 0).UTC()
	}
	return id, nil
}

// checkAuthContext applies the network's amr/acr rule and, when it fails,
// says which part and what the provider reported.
func checkAuthContext(idp *tenants.IdentityProvider, amr []string, acr string) error {
	if idp.CheckAuthContext(amr, acr) == nil {
		return nil
	}
	amrOnly := tenants.IdentityProvider{RequireAMR: idp.RequireAMR}
	if amrOnly.CheckAuthContext(amr, acr) != nil {
		return fmt.Errorf("%w: this network requires two-step verification (amr one of %v); the provider reported amr %v",
			ErrAuthContext, idp.RequireAMR, amr)
	}
	return fmt.Errorf("%w: this network requires an authentication level (acr) of one of %v; the provider reported acr %q",
		ErrAuthContext, idp.RequireACR, acr)
}

func oauthConfig(n *tenants.Network, p *provider) *oauth2.Config {
	endpoint := p.endpoint
	endpoint.AuthStyle = p.authStyle
	if n.Identity.ClientSecret == "" {
		endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client sends only its id
	}
	scopes := n.Identity.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"} // what tenants fills in when a file names none
	}
	return &oauth2.Config{
		ClientID:     n.Identity.ClientID,
		ClientSecret: n.Identity.ClientSecret.Reveal(),
		Endpoint:     endpoint,
		RedirectURL:  n.Identity.RedirectURL,
		Scopes:       scopes,
	}
}

func loginKey(state string) string { return loginKeyPrefix + sha256Hex(state) }

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// randomString returns 256 random bits, base64url-encoded.
func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// isTrue reads a JSON boolean that some providers send as a string.
func isTrue(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	return s == "true" || s == `"true"`
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}
