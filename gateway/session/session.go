// Package session owns the gateway's signed-in sessions: the opaque token a
// patient's browser or mobile app presents after login, what it stands for
// (network, account, the provider's issuer and subject) and when it ends.
//
// Tokens are 32 random bytes, base64url-encoded. The storage port holds only
// their SHA-256, so a copy of the store cannot be replayed as sessions. A
// session ends after the network's idle timeout without use and, however
// busy, at its absolute lifetime (tenants.SessionPolicy), both measured with
// the injected clock. Login always issues a new token (Rotate), so a token
// planted before sign-in is never promoted to a signed-in session.
//
// Browsers carry the token in an HttpOnly cookie (Cookie); mobile apps send
// the same token as "Authorization: Bearer" (TokenFromRequest).
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// ErrNoSession means the token names no live session: it is malformed,
// unknown, signed out, idle for too long or past its absolute lifetime. The
// HTTP layer answers 401 and asks the user to sign in again.
var ErrNoSession = errors.New("session: no such session")

// DefaultTouchInterval is how stale the recorded last activity may grow
// before Lookup writes it again.
const DefaultTouchInterval = time.Minute

// keyPrefix starts every session key; the rest is the token's SHA-256 in hex.
const keyPrefix = "session/"

// tokenBytes is the entropy of a session token.
const tokenBytes = 32

// Data is what a new session stands for.
type Data struct {
	Network string
	// Account is the gateway account signed in; empty until enrollment ties
	// the provider's subject to an account (see Bind).
	Account string
	Issuer  string
	Subject string
	// IDTokenHint is the raw ID token of the login, kept only to send back to
	// the provider as id_token_hint at logout.
	IDTokenHint string
}

// Session is a live session.
type Session struct {
	// ID is the hex SHA-256 of the token: it names the session in logs and
	// audit events and cannot be used to authenticate.
	ID          string
	Network     string
	Account     string
	Issuer      string
	Subject     string
	IDTokenHint string
	Created     time.Time
	// LastActive is the last recorded activity; it lags real activity by
	// less than the touch interval (see Manager.Lookup).
	LastActive time.Time
	// ExpiresAt is when the session ends unless it is used again: the earlier
	// of idle and absolute expiry.
	ExpiresAt time.Time
}

// LogValue keeps the ID token hint and the token's hash out of logs.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("network", s.Network),
		slog.String("account", s.Account),
		slog.Time("created", s.Created),
	)
}

// record is the stored form of a session.
type record struct {
	Network     string    `json:"network"`
	Account     string    `json:"account,omitempty"`
	Issuer      string    `json:"issuer"`
	Subject     string    `json:"subject"`
	IDTokenHint string    `json:"idTokenHint,omitempty"`
	Created     time.Time `json:"created"`
	LastActive  time.Time `json:"lastActive"`
}

// Options configures a Manager.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Policy returns a network's session policy; PolicyFromNetworks adapts a
	// network lookup. nil applies the seed preset to every network. A session
	// of a network the lookup no longer knows is treated as ended.
	Policy func(networkID string) (tenants.SessionPolicy, bool)
	// TouchInterval is how stale LastActive may grow before Lookup writes it
	// again; 0 means DefaultTouchInterval.
	TouchInterval time.Duration
}

// PolicyFromNetworks returns the session policy lookup for a network lookup
// such as (*tenants.Config).Network.
func PolicyFromNetworks(lookup func(networkID string) (*tenants.Network, bool)) func(string) (tenants.SessionPolicy, bool) {
	return func(networkID string) (tenants.SessionPolicy, bool) {
		n, ok := lookup(networkID)
		if !ok || n == nil {
			return tenants.SessionPolicy{}, false
		}
		return n.Policy.Session, true
	}
}

// Manager creates, finds and ends sessions on a key/value store. It is safe
// for concurrent use, also across gateway replicas sharing one store.
type Manager struct {
	kv            store.KV
	now           func() time.Time
	policy        func(string) (tenants.SessionPolicy, bool)
	touchInterval time.Duration
}

// NewManager returns a Manager keeping sessions in kv.
func NewManager(kv store.KV, opts Options) (*Manager, error) {
	if kv == nil {
		return nil, errors.New("session: a store is required")
	}
	if opts.TouchInterval < 0 {
		return nil, fmt.Errorf("session: negative touch interval %v", opts.TouchInterval)
	}
	m := &Manager{kv: kv, now: opts.Now, policy: opts.Policy, touchInterval: opts.TouchInterval}
	if m.now == nil {
		m.now = time.Now
	}
	if m.policy == nil {
		seed, _ := tenants.Preset(tenants.PresetSeed)
		m.policy = func(string) (tenants.SessionPolicy, bool) { return seed.Session, true }
	}
	if m.touchInterval == 0 {
		m.touchInterval = DefaultTouchInterval
	}
	return m, nil
}

// Create starts a session for d and returns its token, which the caller
// hands to the client and never stores.
func (m *Manager) Create(ctx context.Context, d Data) (string, *Session, error) {
	if d.Network == "" || d.Issuer == "" || d.Subject == "" {
		return "", nil, errors.New("session: create: network, issuer and subject are required")
	}
	policy, ok := m.policy(d.Network)
	if !ok {
		return "", nil, fmt.Errorf("session: create: unknown network %q", d.Network)
	}
	if policy.IdleTimeout <= 0 || policy.MaxLifetime <= 0 {
		return "", nil, fmt.Errorf("session: create: network %q has no positive idle timeout and lifetime", d.Network)
	}
	token, err := newToken()
	if err != nil {
		return "", nil, fmt.Errorf("session: create: %w", err)
	}
	now := m.now()
	rec := record{
		Network: d.Network, Account: d.Account, Issuer: d.Issuer, Subject: d.Subject,
		IDTokenHint: d.IDTokenHint, Created: now, LastActive: now,
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return "", nil, fmt.Errorf("session: create: %w", err)
	}
	id := hashToken(token)
	// Create, not Put: a colliding key (2^-256) must not hand over a session.
	if err := m.kv.Create(ctx, keyPrefix+id, value, ttl(policy, rec, now)); err != nil {
		return "", nil, fmt.Errorf("session: create: %w", err)
	}
	return token, rec.session(id, policy), nil
}

// Lookup returns the live session a token names, or ErrNoSession.
//
// Each Lookup counts as activity, but to keep this hot path to one read the
// recorded LastActive is rewritten only once it is TouchInterval old (one
// write per session per minute by default). The idle timeout is measured
// from the recorded value, so a session may end up to TouchInterval early,
// never late. The write is a compare-and-swap, so it never revives a session
// that was signed out meanwhile.
func (m *Manager) Lookup(ctx context.Context, token string) (*Session, error) {
	id, ok := tokenID(token)
	if !ok {
		return nil, ErrNoSession
	}
	key := keyPrefix + id
	// Two rounds: if another request touched or bound the session between
	// our read and our write, the second read returns its newer state.
	for range 2 {
		raw, rec, policy, err := m.load(ctx, key)
		if err != nil {
			return nil, err
		}
		now := m.now()
		if now.Sub(rec.LastActive) < m.touchInterval {
			return rec.session(id, policy), nil
		}
		rec.LastActive = now
		switch err := m.swap(ctx, key, raw, rec, policy, now); {
		case err == nil:
			return rec.session(id, policy), nil
		case errors.Is(err, store.ErrNotFound):
			return nil, ErrNoSession
		case !errors.Is(err, store.ErrConflict):
			return nil, fmt.Errorf("session: lookup: %w", err)
		}
	}
	// Still conflicting: others are writing it right now, so it is alive.
	_, rec, policy, err := m.load(ctx, key)
	if err != nil {
		return nil, err
	}
	return rec.session(id, policy), nil
}

// Bind ties a live session to an account, once enrollment has created or
// found it. It fails with ErrNoSession when the session has ended.
func (m *Manager) Bind(ctx context.Context, token, accountID string) error {
	if accountID == "" {
		return errors.New("session: bind: an account id is required")
	}
	id, ok := tokenID(token)
	if !ok {
		return ErrNoSession
	}
	key := keyPrefix + id
	const attempts = 5
	for range attempts {
		raw, rec, policy, err := m.load(ctx, key)
		if err != nil {
			return err
		}
		now := m.now()
		rec.Account = accountID
		rec.LastActive = now
		switch err := m.swap(ctx, key, raw, rec, policy, now); {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrNotFound):
			return ErrNoSession
		case !errors.Is(err, store.ErrConflict):
			return fmt.Errorf("session: bind: %w", err)
		}
	}
	return fmt.Errorf("session: bind: %w after %d attempts", store.ErrConflict, attempts)
}

// Delete ends the session a token names (logout). Ending an unknown or
// malformed token is not an error.
func (m *Manager) Delete(ctx context.Context, token string) error {
	id, ok := tokenID(token)
	if !ok {
		return nil
	}
	if err := m.kv.Delete(ctx, keyPrefix+id); err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// Rotate ends the session oldToken names, if any, and creates a new one for
// d. Every login goes through Rotate, so a session token planted in the
// browser before sign-in (session fixation) never becomes a signed-in one.
func (m *Manager) Rotate(ctx context.Context, oldToken string, d Data) (string, *Session, error) {
	// The old session goes first: if that fails, no second session exists.
	if err := m.Delete(ctx, oldToken); err != nil {
		return "", nil, fmt.Errorf("session: rotate: %w", err)
	}
	return m.Create(ctx, d)
}

// load reads and checks a session, mapping every kind of "gone" to
// ErrNoSession.
func (m *Manager) load(ctx context.Context, key string) ([]byte, record, tenants.SessionPolicy, error) {
	raw, err := m.kv.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, record{}, tenants.SessionPolicy{}, ErrNoSession
	}
	if err != nil {
		return nil, record{}, tenants.SessionPolicy{}, fmt.Errorf("session: lookup: %w", err)
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, record{}, tenants.SessionPolicy{}, fmt.Errorf("session: lookup: stored session is unreadable: %w", err)
	}
	policy, ok := m.policy(rec.Network)
	if !ok || policy.Expired(rec.Created, rec.LastActive, m.now()) {
		// The store's TTL would remove it soon anyway; deleting now only
		// spares the space, so a failure here changes nothing.
		_ = m.kv.Delete(ctx, key)
		return nil, record{}, tenants.SessionPolicy{}, ErrNoSession
	}
	return raw, rec, policy, nil
}

// swap writes rec over old with a TTL reaching the session's new expiry.
func (m *Manager) swap(ctx context.Context, key string, old []byte, rec record, policy tenants.SessionPolicy, now time.Time) error {
	value, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return m.kv.CompareAndSwap(ctx, key, old, value, ttl(policy, rec, now))
}

// ttl lets the store drop a session when it would end: abandoned sessions
// (and their ID token hints) leave the store after the idle timeout instead
// of lingering for the whole absolute lifetime. It is never below a
// millisecond, because 0 would mean "never expires".
func ttl(policy tenants.SessionPolicy, rec record, now time.Time) time.Duration {
	return max(policy.ExpiresAt(rec.Created, rec.LastActive).Sub(now), time.Millisecond)
}

func (r record) session(id string, policy tenants.SessionPolicy) *Session {
	return &Session{
		ID: id, Network: r.Network, Account: r.Account, Issuer: r.Issuer, Subject: r.Subject,
		IDTokenHint: r.IDTokenHint, Created: r.Created, LastActive: r.LastActive,
		ExpiresAt: policy.ExpiresAt(r.Created, r.LastActive),
	}
}

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenID returns the session ID of a well-formed token; anything else is
// refused before it costs a store round trip.
func tokenID(token string) (string, bool) {
	if base64.RawURLEncoding.EncodedLen(tokenBytes) != len(token) {
		return "", false
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != tokenBytes {
		return "", false
	}
	return hashToken(token), true
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
