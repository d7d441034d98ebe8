package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/redisstore"
)

func TestBoltFollowsTheClock(t *testing.T) {
	now := time.Date(2026, 3, 10, 17, 0, 0, 0, time.UTC)
	st := Bolt(t, func() time.Time { return now })
	must(t, st.Put(t.Context(), "k", []byte("v"), time.Minute))

	now = now.Add(time.Minute - time.Nanosecond)
	if _, err := st.Get(t.Context(), "k"); err != nil {
		t.Fatalf("Get just before expiry: %v", err)
	}
	now = now.Add(time.Nanosecond)
	if _, err := st.Get(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get at expiry: %v, want ErrNotFound", err)
	}
}

func TestEnginesOpenEmptyStores(t *testing.T) {
	for _, eng := range Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t, time.Now)
			keys := 0
			must(t, st.Scan(t.Context(), "", func(string, []byte) error { keys++; return nil }))
			if keys != 0 {
				t.Fatalf("fresh store holds %d keys", keys)
			}
			must(t, st.Ping(t.Context()))
		})
	}
}

func TestDropNamespaceEmptiesOnlyItsOwn(t *testing.T) {
	cfg := redisServer(t)
	ctx := t.Context()
	open := func(ns string) store.Store {
		st, err := redisstore.New(cfg.NewClient(), redisstore.Options{Namespace: ns})
		must(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	base := "pgtest-" + rand.Text()[:16]
	doomed, kept := open(base+"-a"), open(base+"-b")
	for _, st := range []store.Store{doomed, kept} {
		must(t, st.Put(ctx, "k", []byte("v"), 0))
		_, err := st.Append(ctx, "log", []byte("entry"))
		must(t, err)
	}
	t.Cleanup(func() { // t.Context is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := cfg.NewClient()
		defer client.Close()
		_ = dropNamespace(ctx, client, base+"-b")
	})

	client := cfg.NewClient()
	defer client.Close()
	must(t, dropNamespace(ctx, client, base+"-a"))

	if _, err := doomed.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key survives its namespace: %v", err)
	}
	if got, err := doomed.Range(ctx, "log", "", 10); err != nil || len(got) != 0 {
		t.Errorf("log survives its namespace: %v, %v", got, err)
	}
	if _, err := kept.Get(ctx, "k"); err != nil {
		t.Errorf("other namespace lost its key: %v", err)
	}
	if got, err := kept.Range(ctx, "log", "", 10); err != nil || len(got) != 1 {
		t.Errorf("other namespace's log: %v, %v", got, err)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
