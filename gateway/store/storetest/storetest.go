// Package storetest owns the test stores for packages built on the storage port (package
// store): a bbolt store on a temporary file that follows a fake clock, and a Redis store in a
// namespace of its own on the test server, so that a repository's tests run on every engine
// without each package keeping its own copy of the setup.
//
// The Redis server is PORTALGATE_REDIS_URL, or redis://127.0.0.1:6379/0 when that is unset.
// When no server answers, Redis skips the test with a message saying so, unless
// PORTALGATE_REQUIRE_REDIS=1 (as in CI), which makes that a failure.
//
// The engines' own tests cannot use this package: it imports them.
package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/gateway/store/redisstore"
)

// DefaultRedisURL is the test server used when PORTALGATE_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Engine opens a fresh, empty store of one kind for a test.
type Engine struct {
	// Name names the engine, for subtests: "bolt" or "redis".
	Name string
	// Open returns a store closed (and, for Redis, emptied) at cleanup. Engines that keep
	// their own time (Redis) ignore now.
	Open func(tb testing.TB, now func() time.Time) store.Store
}

// Engines lists every engine, the embedded one first, for tests that loop over them with
// t.Run (or b.Run) and give each subtest a clock of its own.
func Engines() []Engine {
	return []Engine{
		{Name: "bolt", Open: Bolt},
		{Name: "redis", Open: func(tb testing.TB, _ func() time.Time) store.Store { tb.Helper(); return Redis(tb) }},
	}
}

// Bolt returns a bbolt store on a file in tb's temporary directory, closed at cleanup. Its
// TTLs expire by now, so a fake clock drives them. The sweeper is off: expired keys are
// invisible without it, and a test has no use for a background goroutine.
func Bolt(tb testing.TB, now func() time.Time) store.Store {
	tb.Helper()
	st, err := boltstore.Open(boltstore.Options{
		Path:          filepath.Join(tb.TempDir(), "store.db"),
		Now:           now,
		SweepInterval: -1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// Redis returns a store on the test server in a fresh random namespace, closed and emptied at
// cleanup. It skips the test when no server answers, unless PORTALGATE_REQUIRE_REDIS=1. Redis
// expires keys by its own clock, so a fake clock cannot drive its TTLs.
func Redis(tb testing.TB) store.Store {
	tb.Helper()
	cfg := redisServer(tb)
	ns := "pgtest-" + rand.Text()[:16]
	st, err := redisstore.New(cfg.NewClient(), redisstore.Options{Namespace: ns})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = st.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := cfg.NewClient()
		defer client.Close()
		if err := dropNamespace(ctx, client, ns); err != nil {
			tb.Errorf("storetest: %v", err)
		}
	})
	return st
}

// redisServer returns the test server's configuration, or skips (or fails) tb without one.
func redisServer(tb testing.TB) redisstore.ClientConfig {
	tb.Helper()
	cfg, err := probeRedis()
	if err != nil {
		if os.Getenv("PORTALGATE_REQUIRE_REDIS") == "1" {
			tb.Fatalf("%v (PORTALGATE_REQUIRE_REDIS=1)", err)
		}
		tb.Skip(err)
	}
	return cfg
}

// probeRedis asks the test server once per test binary, so that a missing server costs one
// timeout rather than one per test.
var probeRedis = sync.OnceValues(func() (redisstore.ClientConfig, error) {
	raw := os.Getenv("PORTALGATE_REDIS_URL")
	if raw == "" {
		raw = DefaultRedisURL
	}
	cfg, err := redisstore.ParseURL(raw)
	if err != nil {
		return cfg, fmt.Errorf("PORTALGATE_REDIS_URL: %w", err)
	}
	client := cfg.NewClient()
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		return cfg, fmt.Errorf("no Redis answers at %s (set PORTALGATE_REDIS_URL to point at one): %w", cfg.Redacted, err)
	}
	return cfg, nil
})

// dropNamespace deletes every key under ns, on every master of a Cluster. ns must hold no glob
// characters; the random namespaces of Redis never do.
func dropNamespace(ctx context.Context, client redis.UniversalClient, ns string) error {
	drop := func(ctx context.Context, node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, ns+":*", 500).Iterator()
		for iter.Next(ctx) {
			// One key per DEL: on a Cluster the keys of a namespace span slots.
			if err := client.Del(ctx, iter.Val()).Err(); err != nil {
				return fmt.Errorf("emptying namespace %s: %w", ns, err)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("emptying namespace %s: %w", ns, err)
		}
		return nil
	}
	if cluster, ok := client.(*redis.ClusterClient); ok {
		return cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return drop(ctx, node) })
	}
	return drop(ctx, client)
}
