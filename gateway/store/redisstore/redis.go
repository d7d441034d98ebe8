// Package redisstore is the shared engine of the storage port (package store): Redis, single,
// Sentinel or Cluster, behind go-redis's UniversalClient, so any number of gateway replicas
// share sessions, logs and invalidations.
//
// Every key lives under a namespace, so several stores (or test runs) share one server safely:
// NAMESPACE:k:KEY for key/value, NAMESPACE:l:LOG for logs (Redis Streams) and NAMESPACE:c:NAME
// for pub/sub channels. Each operation touches one key, so all of them work on Cluster; Scan
// walks every master.
//
// Entry IDs are Redis stream IDs written as two zero-padded 20-digit numbers ("ms-seq"), so
// that they compare in log order as plain strings, as the port promises.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// DefaultNamespace is used when Options.Namespace is empty.
const DefaultNamespace = "portalgate"

// Options configure New and Open.
type Options struct {
	// Namespace prefixes every key and channel; it follows the port's key rules.
	// Empty means DefaultNamespace.
	Namespace string
}

// Store is the Redis engine. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient

	kvPrefix      string
	logPrefix     string
	channelPrefix string

	mu        sync.Mutex
	subs      map[*subscription]struct{}
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// New returns a store on client and takes ownership of it: Close closes it. For contexts to
// bound network waits, the client needs ContextTimeoutEnabled (Open sets it). A Ring client is
// refused: Scan could not see every shard.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: %w: nil client", store.ErrInvalid)
	}
	if _, ok := client.(*redis.Ring); ok {
		return nil, fmt.Errorf("redisstore: %w: Ring clients are not supported; use Cluster", store.ErrInvalid)
	}
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if err := check.Name("namespace", ns); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return &Store{
		client:        client,
		kvPrefix:      ns + ":k:",
		logPrefix:     ns + ":l:",
		channelPrefix: ns + ":c:",
		subs:          make(map[*subscription]struct{}),
		closing:       make(chan struct{}),
	}, nil
}

// Open connects to the Redis named by rawURL (see ParseURL), checks that it answers within
// ctx, and returns a store on it.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	client := cfg.NewClient()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redisstore: open %s: %w", cfg.Redacted, err)
	}
	s, err := New(client, opts)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("ping", err)
	}
	return s.fail("ping", s.client.Ping(ctx).Err())
}

// Close ends every subscription and closes the client.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.mu.Lock()
		subs := s.subs
		s.subs = nil
		s.mu.Unlock()
		for sub := range subs {
			_ = sub.close()
		}
		if err := s.client.Close(); err != nil {
			s.closeErr = fmt.Errorf("redisstore: close: %w", err)
		}
	})
	return s.closeErr
}

// begin is the guard at the top of every call: a closed store or a done context fails it.
func (s *Store) begin(ctx context.Context) error {
	if s.closed() {
		return store.ErrClosed
	}
	return ctx.Err()
}

func (s *Store) closed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// fail wraps err with the operation. Any failure after Close, such as a blocked read whose
// connection was torn down, is reported as store.ErrClosed.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.ErrClosed) || (s.closed() && !errors.Is(err, store.ErrClosed)) {
		err = store.ErrClosed
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// redisErrorIs reports whether err is a Redis error reply with the given code, such as
// "NOGROUP" or "BUSYGROUP".
func redisErrorIs(err error, code string) bool {
	var reply redis.Error
	return errors.As(err, &reply) && strings.HasPrefix(reply.Error(), code+" ")
}
