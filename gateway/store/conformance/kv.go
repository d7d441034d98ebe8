package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

func testGetPutDelete(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	wantMissing(t, ctx, st, "k")
	must(t, st.Put(ctx, "k", []byte("one"), 0))
	wantValue(t, ctx, st, "k", "one")
	must(t, st.Put(ctx, "k", []byte("two"), 0))
	wantValue(t, ctx, st, "k", "two")
	must(t, st.Put(ctx, "other", []byte("x"), 0))
	must(t, st.Delete(ctx, "k"))
	wantMissing(t, ctx, st, "k")
	wantValue(t, ctx, st, "other", "x")
	must(t, st.Delete(ctx, "k")) // absent: fine
	must(t, st.Delete(ctx, "never-written"))
}

func testValues(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	for name, value := range map[string][]byte{
		"empty":  {},
		"binary": binary,
		"large":  []byte(strings.Repeat("0123456789", 100_000)),
	} {
		key := "value:" + name
		must(t, st.Put(ctx, key, value, 0))
		got, err := st.Get(ctx, key)
		must(t, err)
		if !bytes.Equal(got, value) {
			t.Fatalf("%s value: got %d bytes, want %d equal bytes", name, len(got), len(value))
		}
	}

	// Values belong to the caller: changing them changes nothing stored.
	in := []byte("original")
	must(t, st.Put(ctx, "owned", in, 0))
	copy(in, "mutated!")
	out, err := st.Get(ctx, "owned")
	must(t, err)
	copy(out, "MUTATED!")
	wantValue(t, ctx, st, "owned", "original")
}

func testInvalidArguments(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	badKeys := map[string]string{
		"empty":     "",
		"space":     "a b",
		"newline":   "a\nb",
		"non-ASCII": "clé",
		"too long":  strings.Repeat("k", store.MaxKeyLen+1),
	}
	for name, bad := range badKeys {
		calls := map[string]func() error{
			"Get":            func() error { _, err := st.Get(ctx, bad); return err },
			"Put":            func() error { return st.Put(ctx, bad, nil, 0) },
			"Create":         func() error { return st.Create(ctx, bad, nil, 0) },
			"CompareAndSwap": func() error { return st.CompareAndSwap(ctx, bad, nil, nil, 0) },
			"Delete":         func() error { return st.Delete(ctx, bad) },
			"Append":         func() error { _, err := st.Append(ctx, bad, nil); return err },
			"Range":          func() error { _, err := st.Range(ctx, bad, "", 1); return err },
			"Trim":           func() error { return st.Trim(ctx, bad, 1) },
			"ReadGroup log":  func() error { _, err := st.ReadGroup(ctx, bad, "g", "c", 1, 0); return err },
			"ReadGroup group": func() error {
				_, err := st.ReadGroup(ctx, "log", bad, "c", 1, 0)
				return err
			},
			"ReadGroup consumer": func() error {
				_, err := st.ReadGroup(ctx, "log", "g", bad, 1, 0)
				return err
			},
			"Ack":       func() error { return st.Ack(ctx, "log", bad) },
			"Claim":     func() error { _, err := st.Claim(ctx, "log", "g", bad, 0, 1); return err },
			"Publish":   func() error { return st.Publish(ctx, bad, nil) },
			"Subscribe": func() error { _, err := st.Subscribe(ctx, bad); return err },
		}
		if bad != "" { // "" is a valid Scan prefix
			calls["Scan"] = func() error { return st.Scan(ctx, bad, func(string, []byte) error { return nil }) }
		}
		for call, f := range calls {
			wantErr(t, call+" with "+name+" name", f(), store.ErrInvalid)
		}
	}

	others := map[string]func() error{
		"Put negative ttl":    func() error { return st.Put(ctx, "k", nil, -time.Second) },
		"Create negative ttl": func() error { return st.Create(ctx, "k", nil, -time.Nanosecond) },
		"CAS negative ttl":    func() error { return st.CompareAndSwap(ctx, "k", nil, nil, -time.Second) },
		"Range limit 0":       func() error { _, err := st.Range(ctx, "log", "", 0); return err },
		"Trim negative":       func() error { return st.Trim(ctx, "log", -1) },
		"ReadGroup count 0":   func() error { _, err := st.ReadGroup(ctx, "log", "g", "c", 0, 0); return err },
		"ReadGroup negative block": func() error {
			_, err := st.ReadGroup(ctx, "log", "g", "c", 1, -time.Second)
			return err
		},
		"Claim count 0":       func() error { _, err := st.Claim(ctx, "log", "g", "c", 0, 0); return err },
		"Claim negative idle": func() error { _, err := st.Claim(ctx, "log", "g", "c", -time.Second, 1); return err },
	}
	for name, f := range others {
		wantErr(t, name, f(), store.ErrInvalid)
	}
	// Nothing above may have written anything.
	wantMissing(t, ctx, st, "k")
	keys, _ := scanAll(t, ctx, st, "")
	if len(keys) != 0 {
		t.Fatalf("invalid calls wrote keys %q", keys)
	}
}

func testTTL(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	ttl := s.ttl()
	must(t, st.Put(ctx, "ttl:put", []byte("a"), ttl))
	must(t, st.Create(ctx, "ttl:create", []byte("b"), ttl))
	must(t, st.Put(ctx, "ttl:swap", []byte("1"), time.Hour))
	must(t, st.CompareAndSwap(ctx, "ttl:swap", []byte("1"), []byte("2"), ttl)) // shortens
	must(t, st.Put(ctx, "ttl:cleared", []byte("c"), ttl))
	must(t, st.Put(ctx, "ttl:cleared", []byte("c"), 0)) // Put with 0 drops the expiry
	must(t, st.Put(ctx, "ttl:unswapped", []byte("1"), ttl))
	must(t, st.CompareAndSwap(ctx, "ttl:unswapped", []byte("1"), []byte("2"), 0))
	must(t, st.Put(ctx, "ttl:forever", []byte("d"), 0))
	must(t, st.Put(ctx, "ttl:hour", []byte("e"), time.Hour))

	expiring := []string{"ttl:create", "ttl:put", "ttl:swap"}
	surviving := map[string]string{"ttl:cleared": "c", "ttl:forever": "d", "ttl:hour": "e", "ttl:unswapped": "2"}
	if s.fakeClock() {
		s.advance(ttl - time.Nanosecond)
		for _, k := range expiring {
			got, err := st.Get(ctx, k)
			if err != nil {
				t.Fatalf("Get(%q) 1ns before expiry: %q, %v; want the value", k, got, err)
			}
		}
		s.advance(time.Nanosecond)
	}
	for _, k := range expiring {
		s.eventually(t, k+" expired", func() bool {
			_, err := st.Get(ctx, k)
			return errors.Is(err, store.ErrNotFound)
		})
	}
	for k, v := range surviving {
		wantValue(t, ctx, st, k, v)
	}
	keys, _ := scanAll(t, ctx, st, "ttl:")
	if want := slices.Sorted(maps.Keys(surviving)); !slices.Equal(keys, want) {
		t.Fatalf("Scan after expiry = %q, want %q", keys, want)
	}
	wantErr(t, "CompareAndSwap on expired key",
		st.CompareAndSwap(ctx, "ttl:create", []byte("b"), []byte("x"), 0), store.ErrNotFound)
	must(t, st.Create(ctx, "ttl:put", []byte("again"), 0)) // an expired key is free
	wantValue(t, ctx, st, "ttl:put", "again")
}

func testCreate(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	must(t, st.Create(ctx, "code", []byte("first"), 0))
	wantErr(t, "second Create", st.Create(ctx, "code", []byte("second"), 0), store.ErrExists)
	wantValue(t, ctx, st, "code", "first")
	must(t, st.Delete(ctx, "code"))
	must(t, st.Create(ctx, "code", []byte("third"), time.Hour))
	wantValue(t, ctx, st, "code", "third")
	must(t, st.Create(ctx, "empty", nil, 0))
	wantErr(t, "Create over an empty value", st.Create(ctx, "empty", []byte("x"), 0), store.ErrExists)
}

func testCreateRace(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	const rounds, racers = 10, 16
	for round := range rounds {
		key := fmt.Sprintf("race:%d", round)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			winner = -1
			wins   int
			fails  []error
		)
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := st.Create(ctx, key, []byte(strconv.Itoa(i)), time.Hour)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
					winner = i
				case !errors.Is(err, store.ErrExists):
					fails = append(fails, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(fails) > 0 {
			t.Fatalf("round %d: Create failed: %v", round, fails)
		}
		if wins != 1 {
			t.Fatalf("round %d: %d Creates of one key succeeded, want exactly 1", round, wins)
		}
		wantValue(t, ctx, st, key, strconv.Itoa(winner))
	}
}

func testCompareAndSwap(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	wantErr(t, "CompareAndSwap on a missing key",
		st.CompareAndSwap(ctx, "cas", []byte(""), []byte("x"), 0), store.ErrNotFound)
	wantMissing(t, ctx, st, "cas")

	must(t, st.Put(ctx, "cas", []byte("v1"), 0))
	wantErr(t, "CompareAndSwap with a stale value",
		st.CompareAndSwap(ctx, "cas", []byte("v0"), []byte("v2"), 0), store.ErrConflict)
	wantErr(t, "CompareAndSwap with a prefix of the value",
		st.CompareAndSwap(ctx, "cas", []byte("v"), []byte("v2"), 0), store.ErrConflict)
	wantValue(t, ctx, st, "cas", "v1")
	must(t, st.CompareAndSwap(ctx, "cas", []byte("v1"), []byte("v2"), 0))
	wantValue(t, ctx, st, "cas", "v2")
	wantErr(t, "CompareAndSwap with the value just replaced",
		st.CompareAndSwap(ctx, "cas", []byte("v1"), []byte("v3"), 0), store.ErrConflict)

	must(t, st.Put(ctx, "empty", nil, 0))
	must(t, st.CompareAndSwap(ctx, "empty", []byte{}, []byte("filled"), 0))
	must(t, st.CompareAndSwap(ctx, "empty", []byte("filled"), nil, 0))
	wantValue(t, ctx, st, "empty", "")
}

func testCompareAndSwapRace(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	const workers, increments = 8, 10
	must(t, st.Put(ctx, "counter", []byte("0"), 0))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				if err := increment(ctx, st, "counter"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantValue(t, ctx, st, "counter", strconv.Itoa(workers*increments))
}

// increment adds one to a decimal counter with a compare-and-swap retry loop.
func increment(ctx context.Context, st store.KV, key string) error {
	for {
		old, err := st.Get(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(old))
		if err != nil {
			return err
		}
		err = st.CompareAndSwap(ctx, key, old, []byte(strconv.Itoa(n+1)), 0)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
}

func testScanPrefix(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	// Separators and SCAN MATCH pattern characters must all be taken literally.
	all := []string{"a", "a/2", "a:1", "a:1:x", "aa", "ab", "b", "b:1", "c*", "c*d", "c?", "c[1]", `c\`, "cx", "~"}
	shuffled := slices.Clone(all)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		must(t, st.Put(ctx, k, []byte("v="+k), 0))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", sortedCopy(all)},
		{"a", []string{"a", "a/2", "a:1", "a:1:x", "aa", "ab"}},
		{"a:", []string{"a:1", "a:1:x"}},
		{"a:1", []string{"a:1", "a:1:x"}},
		{"a:1:x:more", nil},
		{"b", []string{"b", "b:1"}},
		{"c*", []string{"c*", "c*d"}},
		{"c?", []string{"c?"}},
		{"c[", []string{"c[1]"}},
		{`c\`, []string{`c\`}},
		{"d", nil},
		{"~", []string{"~"}},
	}
	for _, tt := range tests {
		keys, vals := scanAll(t, ctx, st, tt.prefix)
		if !slices.Equal(keys, tt.want) {
			t.Errorf("Scan(%q) = %q, want %q", tt.prefix, keys, tt.want)
			continue
		}
		for i, k := range keys {
			if vals[i] != "v="+k {
				t.Errorf("Scan(%q): %q has value %q, want %q", tt.prefix, k, vals[i], "v="+k)
			}
		}
	}
}

func testScanMany(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	// More keys than any engine reads per page or batch.
	const n = 300
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("many:%04d", i)
	}
	for _, i := range rand.Perm(n) {
		must(t, st.Put(ctx, want[i], []byte(strconv.Itoa(i)), 0))
	}
	must(t, st.Put(ctx, "manz", nil, 0))
	must(t, st.Put(ctx, "man", nil, 0))
	keys, vals := scanAll(t, ctx, st, "many:")
	if !slices.Equal(keys, want) {
		t.Fatalf("Scan returned %d keys, want %d in order (first %q)", len(keys), n, keys[:min(len(keys), 3)])
	}
	for i, v := range vals {
		if v != strconv.Itoa(i) {
			t.Fatalf("Scan: %q = %q, want %q", keys[i], v, strconv.Itoa(i))
		}
	}
}

func testScanCallback(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	for i := range 5 {
		must(t, st.Put(ctx, fmt.Sprintf("job:%d", i), []byte("todo"), 0))
	}

	// An error from fn stops the scan and comes back unwrapped.
	errStop := errors.New("stop here")
	calls := 0
	err := st.Scan(ctx, "job:", func(string, []byte) error {
		calls++
		if calls == 2 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("Scan returned %v, want fn's error itself", err)
	}
	if calls != 2 {
		t.Fatalf("fn called %d times after returning an error on call 2", calls)
	}

	// fn may write to the store.
	err = st.Scan(ctx, "job:", func(k string, v []byte) error {
		if err := st.Put(ctx, "done:"+strings.TrimPrefix(k, "job:"), v, 0); err != nil {
			return err
		}
		return st.Delete(ctx, k)
	})
	must(t, err)
	jobs, _ := scanAll(t, ctx, st, "job:")
	done, _ := scanAll(t, ctx, st, "done:")
	if len(jobs) != 0 || len(done) != 5 {
		t.Fatalf("after moving every job from inside Scan: jobs %q, done %q", jobs, done)
	}
}
