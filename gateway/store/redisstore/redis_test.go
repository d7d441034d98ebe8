package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/conformance"
)

// The tests run against a real server: PORTALGATE_REDIS_URL, or a local default. Without one
// they skip, unless PORTALGATE_REQUIRE_REDIS=1 (as in CI) makes that a failure.
const defaultTestURL = "redis://127.0.0.1:6379/0"

var probe = sync.OnceValues(func() (ClientConfig, error) {
	raw := os.Getenv("PORTALGATE_REDIS_URL")
	if raw == "" {
		raw = defaultTestURL
	}
	cfg, err := ParseURL(raw)
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

// testServer returns the configuration of the test server, or skips the test without one.
func testServer(tb testing.TB) ClientConfig {
	tb.Helper()
	cfg, err := probe()
	if err != nil {
		if os.Getenv("PORTALGATE_REQUIRE_REDIS") == "1" {
			tb.Fatalf("%v (PORTALGATE_REQUIRE_REDIS=1)", err)
		}
		tb.Skip(err)
	}
	return cfg
}

// newTestStore returns a store in a namespace of its own, removed with all its keys at cleanup.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	return newStoreIn(tb, randomNamespace(tb, "pgtest-"))
}

func newStoreIn(tb testing.TB, ns string) *Store {
	tb.Helper()
	cfg := testServer(tb)
	s, err := New(cfg.NewClient(), Options{Namespace: ns})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = s.Close()
		dropNamespace(tb, cfg, ns)
	})
	return s
}

func randomNamespace(tb testing.TB, prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// dropNamespace deletes every key of a namespace.
func dropNamespace(tb testing.TB, cfg ClientConfig, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := New(cfg.NewClient(), Options{Namespace: ns})
	if err != nil {
		tb.Error(err)
		return
	}
	defer s.Close()
	keys, err := s.scanKeys(ctx, globEscape(ns+":")+"*")
	if err != nil {
		tb.Errorf("cleaning namespace %s: %v", ns, err)
		return
	}
	for _, k := range keys {
		if err := s.client.Del(ctx, k).Err(); err != nil {
			tb.Errorf("cleaning namespace %s: %v", ns, err)
			return
		}
	}
}

func TestConformance(t *testing.T) {
	testServer(t)
	conformance.Run(t, func(tb testing.TB) store.Store { return newTestStore(tb) }, conformance.Options{})
}

func BenchmarkStore(b *testing.B) {
	testServer(b)
	conformance.Benchmark(b, func(tb testing.TB) store.Store { return newTestStore(tb) })
}

func TestNamespaceIsolation(t *testing.T) {
	ctx := t.Context()
	base := randomNamespace(t, "pgtest-")
	// SCAN MATCH would read the '*' of a as "anything"; both namespaces must stay apart.
	a := newStoreIn(t, base+"*")
	b := newStoreIn(t, base+"-b")

	must(t, a.Put(ctx, "k", []byte("a"), 0))
	must(t, b.Put(ctx, "k2", []byte("b"), 0))
	if _, err := b.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b sees a's key: %v", err)
	}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		var keys []string
		must(t, s.Scan(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil }))
		if len(keys) != 1 {
			t.Fatalf("Scan of %s lists %q, want only its own key", name, keys)
		}
	}

	_, err := a.Append(ctx, "log", []byte("x"))
	must(t, err)
	if got, err := b.Range(ctx, "log", "", 10); err != nil || len(got) != 0 {
		t.Fatalf("b's log shows a's entries: %v, %v", got, err)
	}
	if got, err := b.ReadGroup(ctx, "log", "g", "c", 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("b's group reads a's entries: %v, %v", got, err)
	}

	sub, err := b.Subscribe(ctx, "ch")
	must(t, err)
	defer sub.Close()
	must(t, a.Publish(ctx, "ch", []byte("from a")))
	must(t, b.Publish(ctx, "ch", []byte("from b")))
	select {
	case msg := <-sub.C():
		if string(msg) != "from b" {
			t.Fatalf("b's subscriber got %q from another namespace", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
}

func TestKeyLayout(t *testing.T) {
	ctx := t.Context()
	ns := randomNamespace(t, "pgtest-")
	s := newStoreIn(t, ns)
	raw := testServer(t).NewClient()
	defer raw.Close()

	must(t, s.Put(ctx, "session:1", []byte("v"), 1500*time.Microsecond))
	must(t, s.Put(ctx, "session:2", []byte("v"), time.Hour))
	if ttl := raw.PTTL(ctx, ns+":k:session:2").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL of %s:k:session:2 = %s, want about 1h", ns, ttl)
	}
	if typ := raw.Type(ctx, ns+":k:session:2").Val(); typ != "string" {
		t.Fatalf("key type %q, want string", typ)
	}
	_, err := s.Append(ctx, "outbox", []byte("x"))
	must(t, err)
	if typ := raw.Type(ctx, ns+":l:outbox").Val(); typ != "stream" {
		t.Fatalf("log type %q, want stream", typ)
	}
	if got := ceilMillis(1500 * time.Microsecond); got != 2*time.Millisecond {
		t.Fatalf("ceilMillis(1.5ms) = %s, want 2ms", got)
	}
	if got := ceilMillis(time.Nanosecond); got != time.Millisecond {
		t.Fatalf("ceilMillis(1ns) = %s, want 1ms: a TTL must never become 0", got)
	}
}

// A group lost on the server (a flush, a failover without persistence) is created again.
func TestGroupRecreatedAfterLoss(t *testing.T) {
	ctx := t.Context()
	ns := randomNamespace(t, "pgtest-")
	s := newStoreIn(t, ns)
	raw := testServer(t).NewClient()
	defer raw.Close()

	_, err := s.Append(ctx, "jobs", []byte("before"))
	must(t, err)
	_, err = s.ReadGroup(ctx, "jobs", "g", "c", 10, 0)
	must(t, err)
	must(t, raw.Del(ctx, ns+":l:jobs").Err())
	_, err = s.Append(ctx, "jobs", []byte("after"))
	must(t, err)
	got, err := s.ReadGroup(ctx, "jobs", "g", "c", 10, 0)
	must(t, err)
	if len(got) != 1 || string(got[0].Value) != "after" {
		t.Fatalf("ReadGroup after the stream was lost = %v, want the new entry", got)
	}
}

func TestOpen(t *testing.T) {
	cfg := testServer(t)
	ctx := t.Context()
	raw := os.Getenv("PORTALGATE_REDIS_URL")
	if raw == "" {
		raw = defaultTestURL
	}
	ns := randomNamespace(t, "pgtest-")
	s, err := Open(ctx, raw, Options{Namespace: ns})
	must(t, err)
	t.Cleanup(func() { dropNamespace(t, cfg, ns) })
	must(t, s.Ping(ctx))
	must(t, s.Close())

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = Open(short, "redis://:hunter2@127.0.0.1:1/0?dial_timeout=1s", Options{})
	if err == nil {
		t.Fatal("Open of a port nobody listens on succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open error %q reveals the password", err)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(nil, Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("New(nil): %v, want ErrInvalid", err)
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := New(ring, Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("New(ring): %v, want ErrInvalid", err)
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	if _, err := New(client, Options{Namespace: "has space"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("New with a bad namespace: %v, want ErrInvalid", err)
	}
}

func TestGlobEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain:key/1": "plain:key/1",
		"a*b?c":       `a\*b\?c`,
		"[x]":         `\[x\]`,
		`back\slash`:  `back\\slash`,
	} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
