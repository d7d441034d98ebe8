// Package store is the gateway's one storage port: the narrow set of operations that sessions,
// accounts, links, grants, consents, one-time codes, audit, the outbox and the cache are built on.
//
// The port offers key/value with TTL (including create-if-absent and compare-and-swap), ordered
// prefix scans, ordered append logs with consumer groups (so background work is taken by exactly
// one replica) and publish/subscribe (so invalidation reaches every replica). Domain repositories
// are written once against these interfaces; the engines live in sub-packages:
//
//   - boltstore: one bbolt file, the embedded default for one machine;
//   - redisstore: Redis (single, Sentinel or Cluster), shared by any number of replicas.
//
// Package conformance holds the suite every engine passes, and storeurl picks an engine from one
// setting.
//
// # Keys and names
//
// Keys, log names, group names, consumer names and channel names are 1 to MaxKeyLen bytes of
// printable ASCII without space (0x21 to 0x7E). Keys sort by their bytes in every engine. Build
// keys from a fixed domain prefix and a separator, such as "session:" or "link/": Scan finds
// them by prefix. Error messages never include keys, but engines may hold them in plain text:
// hash secrets (session tokens, one-time codes) before using them in a key.
//
// # Errors
//
// Engines wrap the sentinel errors below with context; test them with errors.Is. A cancelled or
// expired context makes a call fail with an error that wraps ctx.Err().
package store

import (
	"context"
	"time"
)

// Store is the whole storage port. Repositories should accept the narrowest of KV, Log, Groups
// and PubSub that they need; Store is what the binary wires up.
type Store interface {
	KV
	Log
	Groups
	PubSub

	// Ping reports whether the engine can serve requests, for readiness checks.
	Ping(ctx context.Context) error
	// Close releases the engine's resources and ends every Subscription. Calls made after
	// Close fail with ErrClosed; closing twice is harmless.
	Close() error
}

// KV is key/value storage with expiry.
//
// A ttl of 0 means the key never expires; a negative ttl is ErrInvalid. A key written with a
// ttl of d is gone once d has passed: Get no longer finds it, Scan skips it and Create may take
// it again. Values are arbitrary bytes, empty included; values returned belong to the caller.
type KV interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put sets key to value, replacing any value and any expiry it had.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Create sets key to value only if key is absent (or expired); otherwise it fails with
	// ErrExists and changes nothing. Of concurrent Creates of one key, exactly one succeeds.
	Create(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// CompareAndSwap sets key to value, with a new expiry, only if its current value equals
	// old. It fails with ErrNotFound when key is absent and with ErrConflict when the value
	// differs, changing nothing in either case.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Scan calls fn for every live key that starts with prefix ("" for all), in ascending
	// byte order, and stops at the first error fn returns, returning it unwrapped. fn may
	// call the store. Keys written or deleted during a Scan may or may not be visited; keys
	// left untouched are visited exactly once. Scan walks every matching key, so keep it
	// for listings and maintenance, not for hot paths.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

// Log is a set of named, ordered, append-only logs.
//
// Entry IDs are opaque but ordered: within one log, a later entry's ID is greater under plain
// string comparison, and IDs are never reused, not even after Trim. A log that was never
// appended to reads as empty.
type Log interface {
	// Append adds value at the end of log and returns its ID.
	Append(ctx context.Context, log string, value []byte) (id string, err error)
	// Range returns up to limit (> 0) entries of log with IDs after the given one ("" for
	// the start), oldest first. Pass the last ID returned to read the next page.
	Range(ctx context.Context, log, after string, limit int) ([]Entry, error)
	// Trim drops the oldest entries of log so that at most maxLen (>= 0) remain.
	Trim(ctx context.Context, log string, maxLen int) error
}

// Groups hands out the entries of a log to consumers, so that each entry is taken by one
// consumer of a group, and re-taken only when its consumer stops without acknowledging it.
// Delivery is at least once: a consumer acknowledges an entry when it is done with it.
type Groups interface {
	// ReadGroup returns up to count (> 0) entries of log that were never delivered to group,
	// oldest first, and records them as pending for consumer. It creates the group at the
	// start of the log when it is missing, so a new group sees every entry still in the log.
	// When there are none it waits up to block for an Append; block 0 returns at once.
	// Waiting out block is not an error: it returns no entries.
	ReadGroup(ctx context.Context, log, group, consumer string, count int, block time.Duration) ([]Entry, error)
	// Ack marks entries of group as done, so they are never claimed. Unknown IDs are ignored.
	Ack(ctx context.Context, log, group string, ids ...string) error
	// Claim gives consumer up to count (> 0) pending entries of group that were delivered at
	// least minIdle ago and never acknowledged, oldest first, and restarts their idle time.
	// It is how a live consumer takes over the work of a dead one. Entries trimmed from the
	// log are dropped from the pending set instead of being returned.
	Claim(ctx context.Context, log, group, consumer string, minIdle time.Duration, count int) ([]Entry, error)
}

// PubSub broadcasts short messages to every current subscriber of a channel, in every replica.
// Delivery is at most once: a subscriber that is not yet subscribed, falls far behind, or is
// cut off from the engine misses messages. Use it for hints such as cache invalidation, with
// expiry as the backstop, never as the only copy of anything.
type PubSub interface {
	// Publish sends msg to the current subscribers of channel; having none is not an error.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe starts receiving channel. Messages published after it returns are
	// delivered. ctx bounds only the call; the subscription lasts until it is closed.
	Subscribe(ctx context.Context, channel string) (Subscription, error)
}

// Subscription receives the messages of one channel.
type Subscription interface {
	// C delivers messages in the order they were published; it is closed after Close.
	C() <-chan []byte
	// Close ends the subscription: once it returns, C is closed and delivers nothing more.
	// Closing twice is harmless.
	Close() error
}

// Entry is one element of a log.
type Entry struct {
	ID    string
	Value []byte
}
