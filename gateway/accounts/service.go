package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// Storage is the part of the storage port the service uses; a store.Store is one.
type Storage interface {
	store.KV
	store.Log
}

// Options configure NewService.
type Options struct {
	// Networks finds a network by id, such as (*tenants.Config).Network. Required.
	Networks func(id string) (*tenants.Network, bool)
	// Now is the clock for expiries, lockouts and ages; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each call's work on the store; 0 means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds the store work of one call when Options.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// Service keeps people, accounts, proxy grants, codes and consents. It is safe for
// concurrent use, also by several replicas sharing one store.
type Service struct {
	kv       store.KV
	log      store.Log
	networks func(string) (*tenants.Network, bool)
	now      func() time.Time
	timeout  time.Duration
}

// NewService returns a service on st.
func NewService(st Storage, opts Options) (*Service, error) {
	if st == nil {
		return nil, invalidf("a store is required")
	}
	if opts.Networks == nil {
		return nil, invalidf("Options.Networks is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Service{kv: st, log: st, networks: opts.Networks, now: opts.Now, timeout: opts.Timeout}, nil
}

// begin bounds a call's store work and finds its network.
func (s *Service) begin(ctx context.Context, networkID string) (context.Context, context.CancelFunc, *tenants.Network, error) {
	network, ok := s.networks(networkID)
	if !ok || network == nil {
		return nil, nil, nil, ErrUnknownNetwork
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	return ctx, cancel, network, nil
}

// Store keys. Every id in a key has passed validateFHIRID or is a hex hash, so '/' separates
// parts unambiguously; secrets and subjects appear only hashed.
const keyPrefix = "accounts/"

func personKey(network, person string) string { return keyPrefix + "person/" + network + "/" + person }
func accountKey(network, id string) string    { return keyPrefix + "account/" + network + "/" + id }
func proxyPrefix(network, actor string) string {
	return keyPrefix + "proxy/" + network + "/" + actor + "/"
}
func codeKey(network, hash string) string { return keyPrefix + "code/" + network + "/" + hash }
func consentKey(network, person string) string {
	return keyPrefix + "consent/" + network + "/" + person
}
func consentLog(network, person string) string {
	return keyPrefix + "consent-history/" + network + "/" + person
}
func accountAttemptsKey(network, accountID string) string {
	return keyPrefix + "attempts/account/" + network + "/" + accountID
}
func addressAttemptsKey(network, clientIP string) string {
	return keyPrefix + "attempts/address/" + network + "/" + hashHex(attemptSource(clientIP))
}

// attemptSource is what the per-address limit counts against: an IPv4 address, or the /64
// network of an IPv6 address, since one host commonly holds a whole /64 and could otherwise
// rotate through it. What does not parse as an address is counted as given.
func attemptSource(clientIP string) string {
	addr, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// hashHex returns the SHA-256 of the parts, each length-prefixed so that no two lists of
// parts hash alike, in hex.
func hashHex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// getJSON reads the JSON value at key into v, returning the raw bytes for CompareAndSwap.
func getJSON(ctx context.Context, kv store.KV, key string, v any) ([]byte, error) {
	raw, err := kv.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("accounts: decoding a stored value: %w", err)
	}
	return raw, nil
}

// expirySlack keeps a code or an attempt counter in the store a little past the end of its
// life, so that the service's rules, on the service's clock, decide every boundary, and the
// store's expiry, on its own clock, only reclaims the space.
const expirySlack = time.Minute

// maxCASRetries bounds a compare-and-swap loop; more conflicts than this mean a hot key.
const maxCASRetries = 64

// update changes the JSON value at key atomically. It reads the current value (nil when
// absent), calls change for the next value and its time to live, and writes it with Create or
// CompareAndSwap, starting over when another writer got there first. change may run several
// times; returning a nil value leaves the key as it is.
func update[T any](ctx context.Context, kv store.KV, key string, change func(cur *T) (next *T, ttl time.Duration, err error)) error {
	for range maxCASRetries {
		var cur *T
		var v T
		raw, err := getJSON(ctx, kv, key, &v)
		switch {
		case err == nil:
			cur = &v
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		next, ttl, err := change(cur)
		if err != nil || next == nil {
			return err
		}
		value, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("accounts: encoding a value: %w", err)
		}
		if cur == nil {
			err = kv.Create(ctx, key, value, ttl)
		} else {
			err = kv.CompareAndSwap(ctx, key, raw, value, ttl)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			continue // another writer won the race: read again
		default:
			return err
		}
	}
	return fmt.Errorf("accounts: %d concurrent changes in a row: %w", maxCASRetries, store.ErrConflict)
}
