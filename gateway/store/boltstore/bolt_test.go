package boltstore

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/conformance"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openTemp opens a store on a fresh file; the sweeper is off unless a test runs it.
func openTemp(tb testing.TB, now func() time.Time) *Store {
	tb.Helper()
	s, err := Open(Options{
		Path:          filepath.Join(tb.TempDir(), "portalgate.db"),
		Now:           now,
		SweepInterval: -1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	clock := newFakeClock()
	conformance.Run(t, func(tb testing.TB) store.Store { return openTemp(tb, clock.Now) },
		conformance.Options{Advance: clock.Advance})
}

func BenchmarkStore(b *testing.B) {
	conformance.Benchmark(b, func(tb testing.TB) store.Store { return openTemp(tb, time.Now) })
}

func TestSweepRemovesExpiredKeys(t *testing.T) {
	clock := newFakeClock()
	s := openTemp(t, clock.Now)
	ctx := t.Context()
	must(t, s.Put(ctx, "short", []byte("x"), time.Second))
	must(t, s.Put(ctx, "long", []byte("x"), time.Hour))
	must(t, s.Put(ctx, "forever", []byte("x"), 0))
	must(t, s.Put(ctx, "renewed", []byte("x"), time.Second))
	must(t, s.Put(ctx, "renewed", []byte("x"), time.Hour)) // its old index entry must go

	if n, err := s.sweep(); err != nil || n != 0 {
		t.Fatalf("sweep before anything expired = %d, %v; want 0", n, err)
	}
	clock.Advance(time.Second)
	if n, err := s.sweep(); err != nil || n != 1 {
		t.Fatalf("sweep after 1s = %d, %v; want 1", n, err)
	}
	wantKeys(t, s, bucketKV, 3)
	wantKeys(t, s, bucketExpiry, 2)

	clock.Advance(time.Hour)
	if n, err := s.sweep(); err != nil || n != 2 {
		t.Fatalf("sweep after 1h = %d, %v; want 2", n, err)
	}
	wantKeys(t, s, bucketKV, 1)
	wantKeys(t, s, bucketExpiry, 0)
}

func TestSweepManyInBatches(t *testing.T) {
	clock := newFakeClock()
	s := openTemp(t, clock.Now)
	const n = sweepBatch + 10
	err := s.db.Update(func(tx *bolt.Tx) error {
		exp := expiryAt(clock.Now(), time.Second)
		for i := range n {
			if err := writeRecord(tx, seqKey(uint64(i)+1), []byte("x"), exp); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	clock.Advance(time.Second)
	if got, err := s.sweep(); err != nil || got != n {
		t.Fatalf("sweep = %d, %v; want %d", got, err, n)
	}
	wantKeys(t, s, bucketKV, 0)
}

func TestSweeperRunsInBackground(t *testing.T) {
	clock := newFakeClock()
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "db"), Now: clock.Now, SweepInterval: time.Millisecond})
	must(t, err)
	defer s.Close()
	must(t, s.Put(t.Context(), "k", []byte("x"), time.Second))
	clock.Advance(time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for countKeys(t, s, bucketKV) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("background sweeper did not remove the expired key")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReopenKeepsData(t *testing.T) {
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "nested", "dir", "portalgate.db")
	ctx := t.Context()
	s, err := Open(Options{Path: path, Now: clock.Now})
	must(t, err)
	must(t, s.Put(ctx, "k", []byte("v"), time.Hour))
	first, err := s.Append(ctx, "log", []byte("a"))
	must(t, err)
	_, err = s.ReadGroup(ctx, "log", "g", "c", 10, 0)
	must(t, err)
	must(t, s.Close())

	s, err = Open(Options{Path: path, Now: clock.Now})
	must(t, err)
	defer s.Close()
	got, err := s.Get(ctx, "k")
	if err != nil || string(got) != "v" {
		t.Fatalf("Get after reopen = %q, %v", got, err)
	}
	second, err := s.Append(ctx, "log", []byte("b"))
	must(t, err)
	if second <= first {
		t.Fatalf("ID after reopen %q not after %q", second, first)
	}
	entries, err := s.ReadGroup(ctx, "log", "g", "c", 10, 0)
	must(t, err)
	if len(entries) != 1 || entries[0].ID != second {
		t.Fatalf("group after reopen read %v, want only %q", entries, second)
	}
	claimed, err := s.Claim(ctx, "log", "g", "c2", 0, 10)
	must(t, err)
	if len(claimed) != 2 || claimed[0].ID != first {
		t.Fatalf("pending entries after reopen: %v, want %q and %q", claimed, first, second)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open without a path: %v, want ErrInvalid", err)
	}
	path := filepath.Join(t.TempDir(), "locked.db")
	s, err := Open(Options{Path: path})
	must(t, err)
	defer s.Close()
	if _, err := Open(Options{Path: path, LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Error("second Open of a file in use succeeded")
	}
	if _, err := Open(Options{Path: filepath.Join(path, "under-a-file.db")}); err == nil {
		t.Error("Open below a regular file succeeded")
	}
}

func TestClaimCountsDeliveries(t *testing.T) {
	clock := newFakeClock()
	s := openTemp(t, clock.Now)
	ctx := t.Context()
	id, err := s.Append(ctx, "log", []byte("x"))
	must(t, err)
	_, err = s.ReadGroup(ctx, "log", "g", "first", 1, 0)
	must(t, err)
	for range 2 {
		clock.Advance(time.Minute)
		_, err = s.Claim(ctx, "log", "g", "next", time.Minute, 1)
		must(t, err)
	}
	seq, err := parseID(id)
	must(t, err)
	err = s.db.View(func(tx *bolt.Tx) error {
		p, ok := decodePending(groupBucket(tx, "log", "g").Get(seqKey(seq)))
		if !ok || p.deliveries != 3 || p.consumer != "next" || p.deliveredAt != clock.Now().UnixNano() {
			t.Errorf("pending record = %+v, want 3 deliveries to next at the clock's time", p)
		}
		return nil
	})
	must(t, err)
}

func TestIDs(t *testing.T) {
	for _, seq := range []uint64{1, 9, 10, 1 << 40, ^uint64(0)} {
		id := formatID(seq)
		got, err := parseID(id)
		if err != nil || got != seq {
			t.Errorf("parseID(formatID(%d)) = %d, %v", seq, got, err)
		}
	}
	if formatID(9) >= formatID(10) {
		t.Error("IDs do not sort numerically")
	}
	for _, bad := range []string{"", "1", "00000000000000000000", "99999999999999999999", "0000000000000000000a", "+0000000000000000001"} {
		if _, err := parseID(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("parseID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("00000000000000000001")
	f.Add("18446744073709551615")
	f.Add("18446744073709551616")
	f.Add("x")
	f.Fuzz(func(t *testing.T, id string) {
		seq, err := parseID(id)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("parseID(%q) error %v does not wrap ErrInvalid", id, err)
			}
			return
		}
		if formatID(seq) != id {
			t.Fatalf("parseID(%q) = %d, which formats as %q", id, seq, formatID(seq))
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func countKeys(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
	})
	must(t, err)
	return n
}

func wantKeys(t *testing.T, s *Store, bucket []byte, want int) {
	t.Helper()
	if got := countKeys(t, s, bucket); got != want {
		t.Fatalf("bucket %s holds %d keys, want %d", bucket, got, want)
	}
}
