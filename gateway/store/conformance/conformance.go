// Package conformance is the test suite that every engine of the storage port (package store)
// passes, so that domain repositories written against the port behave the same on each.
//
// An engine's tests call Run with a constructor of fresh, empty stores, and Benchmark for the
// hot operations:
//
//	func TestConformance(t *testing.T) {
//		clock := newFakeClock()
//		conformance.Run(t, func(tb testing.TB) store.Store { return openStore(tb, clock.Now) },
//			conformance.Options{Advance: clock.Advance})
//	}
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

// NewStore returns a fresh, empty store for one test, and registers its closing and removal
// with tb.Cleanup. The suite may close it earlier itself: Close must be idempotent.
type NewStore func(tb testing.TB) store.Store

// Options describe the engine under test.
type Options struct {
	// Advance moves the clock of every store made by NewStore forward by d. With it, the
	// suite tests expiry and idle times exactly at their boundaries without waiting. Leave it
	// nil for an engine that keeps real time (Redis, whose server owns the clock): the suite
	// then uses short durations and waits for them with bounded polls.
	Advance func(d time.Duration)
}

// Durations the suite lets pass. On real time they are short, and waits are bounded by
// realTimeBound so that a broken engine fails rather than hangs.
const (
	fakeTTL       = 10 * time.Second
	fakeMinIdle   = 30 * time.Second
	realTTL       = 300 * time.Millisecond
	realMinIdle   = 200 * time.Millisecond
	realTimeBound = 10 * time.Second
	// testTimeout bounds each subtest's context.
	testTimeout = time.Minute
)

// Run runs the whole suite, one subtest per behaviour, each on a fresh store.
func Run(t *testing.T, newStore NewStore, opts Options) {
	s := &suite{newStore: newStore, advance: opts.Advance}
	tests := []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"KV/GetPutDelete", testGetPutDelete},
		{"KV/Values", testValues},
		{"KV/InvalidArguments", testInvalidArguments},
		{"KV/TTL", testTTL},
		{"KV/Create", testCreate},
		{"KV/CreateRace", testCreateRace},
		{"KV/CompareAndSwap", testCompareAndSwap},
		{"KV/CompareAndSwapRace", testCompareAndSwapRace},
		{"KV/ScanPrefix", testScanPrefix},
		{"KV/ScanMany", testScanMany},
		{"KV/ScanCallback", testScanCallback},
		{"Log/AppendRange", testAppendRange},
		{"Log/RangePaging", testRangePaging},
		{"Log/Trim", testTrim},
		{"Log/AppendConcurrent", testAppendConcurrent},
		{"Log/InvalidIDs", testInvalidIDs},
		{"Groups/ReadFromStart", testReadGroupFromStart},
		{"Groups/ConsumersNeverShare", testConsumersNeverShare},
		{"Groups/ClaimIdle", testClaimIdle},
		{"Groups/ClaimTrimmed", testClaimTrimmed},
		{"Groups/BlockWokenByAppend", testBlockWokenByAppend},
		{"Groups/BlockTimesOut", testBlockTimesOut},
		{"PubSub/Delivery", testPubSubDelivery},
		{"PubSub/CloseSubscription", testCloseSubscription},
		{"Context/Cancelled", testContextCancelled},
		{"Context/CancelWhileBlocked", testCancelWhileBlocked},
		{"Context/DeadlineWhileBlocked", testDeadlineWhileBlocked},
		{"Lifecycle/Ping", testPing},
		{"Lifecycle/Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, s) })
	}
}

// suite carries what every test needs.
type suite struct {
	newStore NewStore
	advance  func(time.Duration)
}

func (s *suite) fakeClock() bool { return s.advance != nil }

// ttl is a TTL that tests let pass.
func (s *suite) ttl() time.Duration {
	if s.fakeClock() {
		return fakeTTL
	}
	return realTTL
}

// minIdle is a Claim idle time that tests let pass.
func (s *suite) minIdle() time.Duration {
	if s.fakeClock() {
		return fakeMinIdle
	}
	return realMinIdle
}

// open returns a fresh store and a context bounded for the test.
func (s *suite) open(t *testing.T) (store.Store, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return s.newStore(t), ctx
}

// eventually polls cond until it holds. With a fake clock nothing changes by waiting, so it
// checks once.
func (s *suite) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if s.fakeClock() {
		if !cond() {
			t.Fatalf("%s: not so", what)
		}
		return
	}
	deadline := time.Now().Add(realTimeBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s", what, realTimeBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func wantValue(t *testing.T, ctx context.Context, st store.Store, key, want string) {
	t.Helper()
	got, err := st.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantMissing(t *testing.T, ctx context.Context, st store.Store, key string) {
	t.Helper()
	got, err := st.Get(ctx, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

// scanAll returns the keys and values Scan visits, in visiting order.
func scanAll(t *testing.T, ctx context.Context, st store.Store, prefix string) (keys, values []string) {
	t.Helper()
	err := st.Scan(ctx, prefix, func(k string, v []byte) error {
		keys = append(keys, k)
		values = append(values, string(v))
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return keys, values
}

// wantEntries checks entries against the expected values and, when ids is not nil, IDs.
func wantEntries(t *testing.T, what string, got []store.Entry, ids []string, values ...string) {
	t.Helper()
	if len(got) != len(values) {
		t.Fatalf("%s: %d entries %s, want %d %q", what, len(got), describe(got), len(values), values)
	}
	for i, e := range got {
		if string(e.Value) != values[i] {
			t.Fatalf("%s: entry %d is %q, want %q (all: %s)", what, i, e.Value, values[i], describe(got))
		}
		if ids != nil && e.ID != ids[i] {
			t.Fatalf("%s: entry %d has ID %q, want %q", what, i, e.ID, ids[i])
		}
	}
}

func describe(entries []store.Entry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = fmt.Sprintf("%s=%q", e.ID, e.Value)
	}
	return fmt.Sprint(parts)
}

func ids(entries []store.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// appendAll appends the values in order and returns their IDs.
func appendAll(t *testing.T, ctx context.Context, st store.Store, log string, vals ...string) []string {
	t.Helper()
	out := make([]string, len(vals))
	for i, v := range vals {
		id, err := st.Append(ctx, log, []byte(v))
		if err != nil {
			t.Fatalf("Append(%q, %q): %v", log, v, err)
		}
		out[i] = id
	}
	return out
}

func wantIncreasing(t *testing.T, ids []string) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("IDs not strictly increasing: %q then %q", ids[i-1], ids[i])
		}
	}
}

// receive waits, boundedly, for the next message of a subscription.
func receive(t *testing.T, sub store.Subscription, what string) []byte {
	t.Helper()
	select {
	case msg, ok := <-sub.C():
		if !ok {
			t.Fatalf("%s: subscription closed", what)
		}
		return msg
	case <-time.After(realTimeBound):
		t.Fatalf("%s: no message after %s", what, realTimeBound)
		return nil
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
