package smartauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Why a token, code or sign-in request was not accepted.
var (
	errUnknown = errors.New("not issued by this server")
	errExpired = errors.New("expired")
	errRevoked = errors.New("revoked")
	errReused  = errors.New("already used; everything issued from it is revoked")
)

// sweepInterval bounds how often expired entries are dropped.
const sweepInterval = time.Minute

// digest is the SHA-256 of a secret (token, code or sign-in request id): the
// store keeps only digests, so what it holds cannot be replayed.
type digest [sha256.Size]byte

func digestOf(secret string) digest { return sha256.Sum256([]byte(secret)) }

// newSecret returns 256 random bits, base64url-encoded.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// grant is one authorization: what a sign-in or a client_credentials
// request allowed. Every token issued from it dies with it. Only revoked
// changes after creation, always under store.mu.
type grant struct {
	clientID string
	subject  string
	patient  string
	scopes   []string // the most a refresh may ask for
	revoked  bool
}

type tokenKind uint8

const (
	kindAccess tokenKind = iota + 1
	kindRefresh
)

type issuedToken struct {
	kind    tokenKind
	grant   *grant
	scopes  []string
	issued  time.Time
	expires time.Time
	rotated bool // a refresh token already exchanged: presenting it again is reuse
}

// tokenInfo is a snapshot of a live token, safe to read without the lock.
type tokenInfo struct {
	kind     tokenKind
	clientID string
	subject  string
	patient  string
	scopes   []string
	issued   time.Time
	expires  time.Time
}

func (t *issuedToken) info() tokenInfo {
	return tokenInfo{
		kind:     t.kind,
		clientID: t.grant.clientID,
		subject:  t.grant.subject,
		patient:  t.grant.patient,
		scopes:   append([]string(nil), t.scopes...),
		issued:   t.issued,
		expires:  t.expires,
	}
}

// authCode is an authorization code waiting for its exchange. Its grant is
// prepared when the user signs in and goes live when the code is redeemed.
type authCode struct {
	redirectURI string
	challenge   string
	grant       *grant
	expires     time.Time
	presented   bool
}

type pendingSignIn struct {
	request *authRequest
	expires time.Time
}

type assertionKey struct{ clientID, jti string }

// store holds everything issued, concurrent-safe.
type store struct {
	mu         sync.Mutex
	tokens     map[digest]*issuedToken
	codes      map[digest]*authCode
	pending    map[digest]*pendingSignIn
	assertions map[assertionKey]time.Time // jti seen → the assertion's exp
	nextSweep  time.Time
}

func newStore() *store {
	return &store{
		tokens:     make(map[digest]*issuedToken),
		codes:      make(map[digest]*authCode),
		pending:    make(map[digest]*pendingSignIn),
		assertions: make(map[assertionKey]time.Time),
	}
}

// issue mints a token of grant g.
func (s *store) issue(g *grant, kind tokenKind, scopes []string, now time.Time, lifetime time.Duration) (secret string, expires time.Time) {
	secret = newSecret()
	expires = now.Add(lifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.tokens[digestOf(secret)] = &issuedToken{kind: kind, grant: g, scopes: scopes, issued: now, expires: expires}
	return secret, expires
}

// live returns the token if it is usable now: not expired, not revoked and,
// for a refresh token, not yet rotated.
func (s *store) live(secret string, now time.Time) (tokenInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[digestOf(secret)]
	switch {
	case t == nil:
		return tokenInfo{}, errUnknown
	case t.grant.revoked:
		return tokenInfo{}, errRevoked
	case !now.Before(t.expires):
		return tokenInfo{}, errExpired
	case t.rotated:
		return tokenInfo{}, errReused
	}
	return t.info(), nil
}

// addCode stores a code for a prepared grant and returns the code.
func (s *store) addCode(c *authCode, now time.Time) string {
	code := newSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.codes[digestOf(code)] = c
	return code
}

// redeemCode consumes a code. check runs under the lock and may refuse the
// exchange; a code is consumed by its first presentation whatever the
// outcome, and a second presentation revokes what the first was issued.
func (s *store) redeemCode(code string, now time.Time, check func(*authCode) error) (*grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.codes[digestOf(code)]
	switch {
	case c == nil:
		return nil, errUnknown
	case c.presented:
		c.grant.revoked = true
		return nil, errReused
	case c.grant.revoked:
		return nil, errRevoked
	case !now.Before(c.expires):
		return nil, errExpired
	}
	c.presented = true
	if err := check(c); err != nil {
		// The grant never went live; revoking it keeps a later reuse
		// from resurrecting anything.
		c.grant.revoked = true
		return nil, err
	}
	return c.grant, nil
}

// rotateRefresh consumes a refresh token. check runs under the lock on a
// live token and may refuse without consuming it. Presenting a rotated
// token again revokes the whole grant: either the client or a thief holds
// a copy it should not.
func (s *store) rotateRefresh(secret string, now time.Time, check func(tokenInfo) error) (*grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[digestOf(secret)]
	switch {
	case t == nil || t.kind != kindRefresh:
		return nil, errUnknown
	case t.grant.revoked:
		return nil, errRevoked
	case !now.Before(t.expires):
		return nil, errExpired
	case t.rotated:
		t.grant.revoked = true
		return nil, errReused
	}
	if err := check(t.info()); err != nil {
		return nil, err
	}
	t.rotated = true
	return t.grant, nil
}

// errOtherClient refuses to let one client revoke another's token.
var errOtherClient = errors.New("token was issued to another client")

// revoke revokes the grant of a token issued to clientID. Tokens this
// server does not know are not an error (RFC 7009 §2.2).
func (s *store) revoke(secret, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[digestOf(secret)]
	if t == nil {
		return nil
	}
	if t.grant.clientID != clientID {
		return errOtherClient
	}
	t.grant.revoked = true
	return nil
}

// revokeGrants revokes every grant that match selects, including those of
// codes not yet exchanged, and returns how many it revoked.
func (s *store) revokeGrants(match func(*grant) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	revoked := make(map[*grant]bool)
	mark := func(g *grant) {
		if !g.revoked && match(g) {
			g.revoked = true
			revoked[g] = true
		}
	}
	for _, t := range s.tokens {
		mark(t.grant)
	}
	for _, c := range s.codes {
		mark(c.grant)
	}
	return len(revoked)
}

// addPending keeps an authorization request while the user signs in and
// returns its id.
func (s *store) addPending(req *authRequest, now time.Time, lifetime time.Duration) string {
	id := newSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.pending[digestOf(id)] = &pendingSignIn{request: req, expires: now.Add(lifetime)}
	return id
}

// pendingRequest returns a sign-in request still waiting; take removes it,
// so only one sign-in completes it.
func (s *store) pendingRequest(id string, now time.Time, take bool) (*authRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := digestOf(id)
	p := s.pending[d]
	if p == nil || !now.Before(p.expires) {
		return nil, false
	}
	if take {
		delete(s.pending, d)
	}
	return p.request, true
}

// rememberAssertion records a client assertion's jti until its exp and
// reports false if it was already seen: an assertion is good for one use.
func (s *store) rememberAssertion(clientID, jti string, exp, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	key := assertionKey{clientID, jti}
	if until, seen := s.assertions[key]; seen && !now.After(until) {
		return false
	}
	s.assertions[key] = exp
	return true
}

// sweep drops what has expired, at most once per sweepInterval. Rotated
// refresh tokens and presented codes stay until they expire so that their
// reuse is still recognized. Callers hold s.mu.
func (s *store) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(sweepInterval)
	for d, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, d)
		}
	}
	for d, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, d)
		}
	}
	for d, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, d)
		}
	}
	for k, exp := range s.assertions {
		if now.After(exp) {
			delete(s.assertions, k)
		}
	}
}
