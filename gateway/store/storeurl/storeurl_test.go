package storeurl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/gateway/store/redisstore"
)

func TestParse(t *testing.T) {
	opts := Options{BoltPath: "/data/default.db"}
	tests := []struct {
		url    string
		engine Engine
		path   string
	}{
		{"", Bolt, "/data/default.db"},
		{"bolt:", Bolt, "/data/default.db"},
		{"bolt:/var/lib/pg/store.db", Bolt, "/var/lib/pg/store.db"},
		{"bolt:relative/store.db", Bolt, "relative/store.db"},
		{"redis://cache:6379/0", Redis, ""},
		{"rediss://:pw@cache", Redis, ""},
		{"redis-sentinel://s1,s2/mymaster", Redis, ""},
		{"rediss-sentinel://s1/mymaster", Redis, ""},
		{"redis-cluster://n1,n2", Redis, ""},
		{"rediss-cluster://n1", Redis, ""},
	}
	for _, tt := range tests {
		engine, path, err := Parse(tt.url, opts)
		if err != nil || engine != tt.engine || path != tt.path {
			t.Errorf("Parse(%q) = %s, %q, %v; want %s, %q", tt.url, engine, path, err, tt.engine, tt.path)
		}
	}
	for _, bad := range []string{"bolt://x.db", "http://x", "memory:", "/var/lib/store.db", "REDIS://x"} {
		if _, _, err := Parse(bad, opts); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Parse(%q): %v, want ErrInvalid", bad, err)
		}
	}
	for _, bad := range []string{"", "bolt:"} {
		if _, _, err := Parse(bad, Options{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Parse(%q) without a default path: %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "bolt:", "bolt:/x", "bolt://x", "redis://x", "redis-cluster://a,b", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		engine, path, err := Parse(raw, Options{BoltPath: "default.db"})
		switch {
		case err != nil:
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", raw, err)
			}
		case engine == Bolt && path == "":
			t.Fatalf("Parse(%q) chose bolt without a path", raw)
		case engine != Bolt && engine != Redis:
			t.Fatalf("Parse(%q) chose engine %q", raw, engine)
		}
	})
}

func TestOpenBolt(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	for _, raw := range []string{"", "bolt:" + filepath.Join(dir, "explicit.db")} {
		s, err := Open(ctx, raw, Options{BoltPath: filepath.Join(dir, "default.db"), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if _, ok := s.(*boltstore.Store); !ok {
			t.Fatalf("Open(%q) returned %T, want a bolt store", raw, s)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"default.db", "explicit.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("no file %s: %v", name, err)
		}
	}
}

func TestOpenRedis(t *testing.T) {
	raw := os.Getenv("PORTALGATE_REDIS_URL")
	if raw == "" {
		raw = "redis://127.0.0.1:6379/0"
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	s, err := Open(ctx, raw, Options{Namespace: "pgtest-storeurl"})
	if err != nil {
		if os.Getenv("PORTALGATE_REQUIRE_REDIS") == "1" {
			t.Fatalf("Open(%s): %v (PORTALGATE_REQUIRE_REDIS=1)", raw, err)
		}
		t.Skipf("no Redis to open (set PORTALGATE_REDIS_URL): %v", err)
	}
	defer s.Close()
	if _, ok := s.(*redisstore.Store); !ok {
		t.Fatalf("Open returned %T, want a Redis store", s)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrorsHidePasswords(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	for _, raw := range []string{"redis://:hunter2@127.0.0.1:1/0?dial_timeout=1s", "redis://:hunter2@cache/x"} {
		_, err := Open(ctx, raw, Options{})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Open error %q reveals the password", err)
		}
	}
}
