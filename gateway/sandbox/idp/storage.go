package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// sweepInterval spaces out the removal of expired state.
const sweepInterval = time.Minute

var (
	errRequestUnknown = errors.New("authorization request is unknown or has expired")
	errTokenInvalid   = errors.New("access token is unknown, revoked or expired")
	errNotSupported   = errors.New("JWT client authentication and JWT bearer grants are not supported")
)

// codeHash keys codes by their SHA-256: no code is kept in the clear.
type codeHash [sha256.Size]byte

// accessToken is what an opaque access token stands for.
type accessToken struct {
	clientID string
	subject  string
	scopes   []string
	expires  time.Time
}

// storage is the provider's op.Storage: authorization requests, codes and
// access tokens in memory, behind one mutex.
type storage struct {
	now     func() time.Time
	clients map[string]*client // read-only after New
	users   *directory
	keys    *keyring

	mu        sync.Mutex
	requests  map[string]*authRequest
	codes     map[codeHash]string // → request id
	tokens    map[string]*accessToken
	lastSweep time.Time
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(now func() time.Time, clients map[string]*client, users *directory, keys *keyring) *storage {
	return &storage{
		now:      now,
		clients:  clients,
		users:    users,
		keys:     keys,
		requests: map[string]*authRequest{},
		codes:    map[codeHash]string{},
		tokens:   map[string]*accessToken{},
	}
}

// CreateAuthRequest stores a request the library has checked against the
// client (redirect URI, response type) after the checks this provider adds:
// PKCE S256, query response mode, and scopes the client is registered for.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("this provider keeps no sign-in session, so prompt=none cannot succeed")
	}
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 || !validChallenge(req.CodeChallenge) {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send a code_challenge with code_challenge_method=S256")
	}
	scopes := c.grantedScopes(req.Scopes)
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	now := s.now()
	a := &authRequest{
		id:            rand.Text(),
		created:       now,
		clientID:      c.id,
		redirectURI:   req.RedirectURI,
		state:         req.State,
		nonce:         req.Nonce,
		scopes:        scopes,
		responseType:  req.ResponseType,
		codeChallenge: req.CodeChallenge,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.requests[a.id] = a
	return a.snapshot(), nil
}

// validChallenge checks an S256 code_challenge: 43 base64url characters
// encoding 32 bytes.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(c) == 43 && len(b) == sha256.Size
}

// AuthRequestByID is how the library resumes a request after sign-in.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	a, err := s.pendingRequest(id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// pendingRequest returns a copy of a request that has not expired.
func (s *storage) pendingRequest(id string) (*authRequest, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || a.expired(now) {
		return nil, errRequestUnknown
	}
	return a.snapshot(), nil
}

// completeLogin records that the person behind acct signed in for request
// id. A request whose code was already issued cannot be signed in again.
func (s *storage) completeLogin(id string, acct *account) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok || a.expired(now) || !a.codeIssued.IsZero() {
		return errRequestUnknown
	}
	a.done = true
	a.subject = acct.Subject
	a.authTime = now
	a.amr = acct.AMR
	a.acr = acct.ACR
	return nil
}

// SaveAuthCode binds the one code the library issues for a signed-in
// request; the code lives CodeLifetime from now.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	switch {
	case !ok || a.expired(now):
		return oidc.ErrInvalidRequest().WithDescription("%s", errRequestUnknown)
	case !a.done:
		return oidc.ErrInteractionRequired().WithDescription("the person has not signed in")
	case !a.codeIssued.IsZero():
		return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this authorization request")
	}
	a.codeHash = sha256.Sum256([]byte(code))
	a.codeIssued = now
	s.codes[a.codeHash] = id
	return nil
}

// AuthRequestByCode redeems a code: it is consumed here, before the library
// checks PKCE and the client, so that even concurrent token requests
// redeem it at most once.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	now := s.now()
	h := codeHash(sha256.Sum256([]byte(code)))
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[h]
	if !ok {
		return nil, errors.New("code is unknown or was already used")
	}
	a := s.requests[id]
	s.deleteRequestLocked(id)
	if a == nil || a.expired(now) {
		return nil, errors.New("code has expired")
	}
	return a.snapshot(), nil
}

// DeleteAuthRequest forgets a request once its tokens are issued.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteRequestLocked(id)
	return nil
}

func (s *storage) deleteRequestLocked(id string) {
	if a, ok := s.requests[id]; ok {
		delete(s.codes, a.codeHash)
		delete(s.requests, id)
	}
}

// CreateAccessToken records an access token for a redeemed code; the
// library seals its id and subject into the opaque token.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("only the authorization code grant is supported")
	}
	now := s.now()
	id := rand.Text()
	t := &accessToken{clientID: a.clientID, subject: a.subject, scopes: a.scopes, expires: now.Add(AccessTokenLifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	s.tokens[id] = t
	return id, t.expires, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the
// refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, oidc.ErrInvalidGrant().WithDescription("refresh tokens are not issued")
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession revokes the person's access tokens at the client on
// RP-initiated logout.
func (s *storage) TerminateSession(_ context.Context, subject, clientID string) error {
	if subject == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == subject && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

// RevokeToken revokes an access token held by clientID; unknown tokens
// count as revoked (RFC 7009).
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("client %q is not registered", id)
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	if !ok || !c.secretMatches(secret) {
		return errors.New("client id or secret is wrong")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the library in favour of
// SetUserinfoFromRequest, which fills the ID token's claims.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.fillUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers userinfo for a live access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	return s.fillUserinfo(info, t.subject, t.scopes)
}

// SetIntrospectionFromToken answers introspection by the client the token
// was issued to; the library reports active=false on any error.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(tokenID, subject)
	if err != nil {
		return err
	}
	if t.clientID != clientID {
		return errors.New("token was not issued to this client")
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(info, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// liveToken returns a copy of an unexpired token. The subject sealed in
// the access token must be the one it was issued for.
func (s *storage) liveToken(tokenID, subject string) (accessToken, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || t.subject != subject || !now.Before(t.expires) {
		return accessToken{}, errTokenInvalid
	}
	return *t, nil
}

// fillUserinfo sets the standard claims the scopes grant.
func (s *storage) fillUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	acct, ok := s.users.bySubjectID(subject)
	if !ok {
		return errors.New("the signed-in person no longer exists")
	}
	info.Subject = acct.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = acct.Username
		info.GivenName = acct.Given
		info.FamilyName = acct.Family
		info.Name = strings.TrimSpace(acct.Given + " " + acct.Family)
		info.Birthdate = acct.BirthDate
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && acct.Email != "" {
		info.Email = acct.Email
		// Sandbox addresses are assigned, not claimed by the person.
		info.EmailVerified = true
	}
	return nil
}

// GetPrivateClaimsFromScopes adds nothing: access tokens are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotSupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotSupported
}

func (s *storage) Health(context.Context) error { return nil }

// sweepLocked drops expired requests and tokens, at most once per
// sweepInterval, so memory stays bounded without a background goroutine.
func (s *storage) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < sweepInterval {
		return
	}
	s.lastSweep = now
	for id, a := range s.requests {
		if a.expired(now) {
			s.deleteRequestLocked(id)
		}
	}
	for id, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// expired reports whether a request can no longer be used: its code's
// lifetime is over, or, before a code, the sign-in window is.
func (a *authRequest) expired(now time.Time) bool {
	if !a.codeIssued.IsZero() {
		return !now.Before(a.codeIssued.Add(CodeLifetime))
	}
	return !now.Before(a.created.Add(LoginLifetime))
}

// snapshot copies a request for the library; the slices it shares are
// never modified.
func (a *authRequest) snapshot() *authRequest {
	c := *a
	return &c
}
