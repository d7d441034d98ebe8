package session_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/gateway/store/redisstore"
	"github.com/portalgate/portalgate/tenants"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testPolicy is short enough to walk through by hand.
var testPolicy = tenants.SessionPolicy{
	IdleTimeout: tenants.Duration(20 * time.Minute),
	MaxLifetime: tenants.Duration(time.Hour),
}

func fixedPolicy(p tenants.SessionPolicy) func(string) (tenants.SessionPolicy, bool) {
	return func(network string) (tenants.SessionPolicy, bool) { return p, network == "lakeside" }
}

// openBolt returns a bbolt store on the fake clock, so its TTLs expire with
// the clock the manager reads.
func openBolt(t testing.TB, c *clock) store.Store {
	t.Helper()
	s, err := boltstore.Open(boltstore.Options{Path: filepath.Join(t.TempDir(), "gate.db"), Now: c.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openRedis returns a Redis store in a namespace of its own, or skips the
// test when no server answers at PORTALGATE_REDIS_URL (or the local default).
func openRedis(t *testing.T) store.Store {
	t.Helper()
	url := os.Getenv("PORTALGATE_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ns := make([]byte, 8)
	_, _ = rand.Read(ns)
	s, err := redisstore.Open(ctx, url, redisstore.Options{Namespace: "pgtest-session-" + hex.EncodeToString(ns)})
	if err != nil {
		if os.Getenv("PORTALGATE_REQUIRE_REDIS") == "1" {
			t.Fatalf("%v (PORTALGATE_REQUIRE_REDIS=1)", err)
		}
		t.Skipf("no Redis (set PORTALGATE_REDIS_URL to test on one): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var keys []string
		_ = s.Scan(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
		for _, k := range keys {
			_ = s.Delete(ctx, k)
		}
		_ = s.Close()
	})
	return s
}

// engines runs fn on each storage engine: bbolt always, Redis when one
// answers.
func engines(t *testing.T, fn func(t *testing.T, kv store.KV, c *clock)) {
	t.Run("bolt", func(t *testing.T) {
		c := newClock()
		fn(t, openBolt(t, c), c)
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, openRedis(t), newClock())
	})
}

// countingKV counts the calls a manager makes and can run a hook before a
// compare-and-swap, to stage races deterministically.
type countingKV struct {
	store.KV
	gets, swaps, swapped atomic.Int64
	beforeSwap           func(key string)
}

func (c *countingKV) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.KV.Get(ctx, key)
}

func (c *countingKV) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	c.swaps.Add(1)
	if c.beforeSwap != nil {
		c.beforeSwap(key)
	}
	err := c.KV.CompareAndSwap(ctx, key, old, value, ttl)
	if err == nil {
		c.swapped.Add(1)
	}
	return err
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
