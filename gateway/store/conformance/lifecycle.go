package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

func testContextCancelled(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	must(t, st.Put(ctx, "k", []byte("v"), 0))
	ids := appendAll(t, ctx, st, "log", "a")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	calls := map[string]func() error{
		"Get":            func() error { _, err := st.Get(cancelled, "k"); return err },
		"Put":            func() error { return st.Put(cancelled, "k", []byte("x"), 0) },
		"Create":         func() error { return st.Create(cancelled, "new", nil, 0) },
		"CompareAndSwap": func() error { return st.CompareAndSwap(cancelled, "k", []byte("v"), []byte("x"), 0) },
		"Delete":         func() error { return st.Delete(cancelled, "k") },
		"Scan":           func() error { return st.Scan(cancelled, "", func(string, []byte) error { return nil }) },
		"Append":         func() error { _, err := st.Append(cancelled, "log", nil); return err },
		"Range":          func() error { _, err := st.Range(cancelled, "log", "", 1); return err },
		"Trim":           func() error { return st.Trim(cancelled, "log", 0) },
		"ReadGroup":      func() error { _, err := st.ReadGroup(cancelled, "log", "g", "c", 1, 0); return err },
		"Ack":            func() error { return st.Ack(cancelled, "log", "g", ids[0]) },
		"Claim":          func() error { _, err := st.Claim(cancelled, "log", "g", "c", 0, 1); return err },
		"Publish":        func() error { return st.Publish(cancelled, "ch", nil) },
		"Subscribe":      func() error { _, err := st.Subscribe(cancelled, "ch"); return err },
		"Ping":           func() error { return st.Ping(cancelled) },
	}
	for name, call := range calls {
		wantErr(t, name+" with a cancelled context", call(), context.Canceled)
	}
	// Nothing was changed.
	wantValue(t, ctx, st, "k", "v")
	wantMissing(t, ctx, st, "new")
	got, err := st.Range(ctx, "log", "", 10)
	must(t, err)
	wantEntries(t, "log after cancelled calls", got, ids, "a")
}

func testPing(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	must(t, st.Ping(ctx))
}

func testClose(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	must(t, st.Put(ctx, "k", []byte("v"), 0))
	sub, err := st.Subscribe(ctx, "ch")
	must(t, err)
	blocked := make(chan error, 1)
	go func() {
		_, err := st.ReadGroup(ctx, "log", "g", "c", 1, time.Minute)
		blocked <- err
	}()
	time.Sleep(50 * time.Millisecond)

	must(t, st.Close())
	select {
	case err := <-blocked:
		wantErr(t, "ReadGroup blocked during Close", err, store.ErrClosed)
	case <-time.After(realTimeBound):
		t.Fatalf("ReadGroup still blocked %s after Close", realTimeBound)
	}
	select {
	case msg, ok := <-sub.C():
		if ok {
			t.Fatalf("subscription delivered %q after Close", msg)
		}
	case <-time.After(realTimeBound):
		t.Fatal("subscription not closed by the store's Close")
	}
	must(t, sub.Close())

	calls := map[string]func() error{
		"Get":       func() error { _, err := st.Get(ctx, "k"); return err },
		"Put":       func() error { return st.Put(ctx, "k", nil, 0) },
		"Scan":      func() error { return st.Scan(ctx, "", func(string, []byte) error { return nil }) },
		"Append":    func() error { _, err := st.Append(ctx, "log", nil); return err },
		"ReadGroup": func() error { _, err := st.ReadGroup(ctx, "log", "g", "c", 1, 0); return err },
		"Publish":   func() error { return st.Publish(ctx, "ch", nil) },
		"Subscribe": func() error { _, err := st.Subscribe(ctx, "ch"); return err },
		"Ping":      func() error { return st.Ping(ctx) },
	}
	for name, call := range calls {
		wantErr(t, name+" after Close", call(), store.ErrClosed)
	}
	must(t, st.Close()) // twice: harmless
}
