package session_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
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

// engines runs fn on each storage engine: bbolt always, Redis when one
// answers.
func engines(t *testing.T, fn func(t *testing.T, kv store.KV, c *clock)) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			c := newClock()
			fn(t, eng.Open(t, c.Now), c)
		})
	}
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
