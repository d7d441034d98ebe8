package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

func testReadGroupFromStart(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	ids := appendAll(t, ctx, st, "work", "a", "b", "c")

	got, err := st.ReadGroup(ctx, "work", "mailer", "m1", 10, 0)
	must(t, err)
	wantEntries(t, "first read of a new group", got, ids, "a", "b", "c")
	got, err = st.ReadGroup(ctx, "work", "mailer", "m2", 10, 0)
	must(t, err)
	wantEntries(t, "read with nothing new", got, nil)

	ids = append(ids, appendAll(t, ctx, st, "work", "d")...)
	got, err = st.ReadGroup(ctx, "work", "mailer", "m2", 10, 0)
	must(t, err)
	wantEntries(t, "read after an Append", got, ids[3:], "d")

	// Groups are independent, and count caps each read.
	got, err = st.ReadGroup(ctx, "work", "syncer", "s1", 3, 0)
	must(t, err)
	wantEntries(t, "another group, first read", got, ids[:3], "a", "b", "c")
	got, err = st.ReadGroup(ctx, "work", "syncer", "s1", 3, 0)
	must(t, err)
	wantEntries(t, "another group, second read", got, ids[3:], "d")

	got, err = st.ReadGroup(ctx, "empty-log", "g", "c", 10, 0)
	must(t, err)
	wantEntries(t, "read of a log never written", got, nil)
	ids2 := appendAll(t, ctx, st, "empty-log", "first")
	got, err = st.ReadGroup(ctx, "empty-log", "g", "c", 10, 0)
	must(t, err)
	wantEntries(t, "read after the group's log got its first entry", got, ids2, "first")
}

func testConsumersNeverShare(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	const entries, consumers = 60, 4
	var vals []string
	for i := range entries {
		vals = append(vals, fmt.Sprintf("job-%02d", i))
	}
	appendAll(t, ctx, st, "jobs", vals...)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = make(map[string]string) // value -> consumer
		dups []string
	)
	errs := make(chan error, consumers)
	for c := range consumers {
		consumer := fmt.Sprintf("worker-%d", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := st.ReadGroup(ctx, "jobs", "workers", consumer, 5, 0)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					if other, ok := seen[string(e.Value)]; ok {
						dups = append(dups, fmt.Sprintf("%s to %s and %s", e.Value, other, consumer))
					}
					seen[string(e.Value)] = consumer
				}
				mu.Unlock()
				if err := st.Ack(ctx, "jobs", "workers", ids(got)...); err != nil {
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
	if len(dups) > 0 {
		t.Fatalf("entries delivered twice: %q", dups)
	}
	if len(seen) != entries {
		t.Fatalf("%d of %d entries delivered", len(seen), entries)
	}
}

func testClaimIdle(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	idle := s.minIdle()
	ids := appendAll(t, ctx, st, "q", "e1", "e2", "e3", "e4")
	got, err := st.ReadGroup(ctx, "q", "g", "dead", 3, 0)
	must(t, err)
	wantEntries(t, "read by the consumer that dies", got, ids[:3], "e1", "e2", "e3")
	must(t, st.Ack(ctx, "q", "g", ids[1]))

	got, err = st.Claim(ctx, "q", "g", "rescuer", time.Hour, 10)
	must(t, err)
	wantEntries(t, "Claim before entries are idle long enough", got, nil)

	if s.fakeClock() {
		s.advance(idle - time.Nanosecond)
		got, err = st.Claim(ctx, "q", "g", "rescuer", idle, 10)
		must(t, err)
		wantEntries(t, "Claim 1ns before minIdle", got, nil)
		s.advance(time.Nanosecond)
	}
	s.eventually(t, "unacknowledged entries claimable after minIdle", func() bool {
		got, err = st.Claim(ctx, "q", "g", "rescuer", idle, 10)
		must(t, err)
		return len(got) > 0
	})
	wantEntries(t, "Claim after minIdle", got, []string{ids[0], ids[2]}, "e1", "e3")

	// Claiming restarts the idle time.
	got, err = st.Claim(ctx, "q", "g", "third", time.Hour, 10)
	must(t, err)
	wantEntries(t, "Claim right after another Claim", got, nil)
	if s.fakeClock() {
		s.advance(idle)
		got, err = st.Claim(ctx, "q", "g", "third", idle, 1)
		must(t, err)
		wantEntries(t, "Claim with count 1", got, ids[:1], "e1")
		got, err = st.Claim(ctx, "q", "g", "third", idle, 1)
		must(t, err)
		wantEntries(t, "next Claim with count 1", got, ids[2:3], "e3")
	}

	// Acknowledged entries are never claimable, not even with minIdle 0.
	must(t, st.Ack(ctx, "q", "g", ids[0], ids[2]))
	got, err = st.Claim(ctx, "q", "g", "fourth", 0, 10)
	must(t, err)
	wantEntries(t, "Claim after every delivered entry was acknowledged", got, nil)

	// Claim leaves undelivered entries to ReadGroup.
	got, err = st.ReadGroup(ctx, "q", "g", "rescuer", 10, 0)
	must(t, err)
	wantEntries(t, "ReadGroup after the Claims", got, ids[3:], "e4")

	got, err = st.Claim(ctx, "q", "no-such-group", "c", 0, 10)
	must(t, err)
	wantEntries(t, "Claim in a missing group", got, nil)
	got, err = st.Claim(ctx, "no-such-log", "g", "c", 0, 10)
	must(t, err)
	wantEntries(t, "Claim on a missing log", got, nil)
	must(t, st.Ack(ctx, "no-such-log", "g", ids[0]))
}

func testClaimTrimmed(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	ids := appendAll(t, ctx, st, "q", "a", "b", "c")
	_, err := st.ReadGroup(ctx, "q", "g", "dead", 10, 0)
	must(t, err)
	must(t, st.Trim(ctx, "q", 1))
	got, err := st.Claim(ctx, "q", "g", "rescuer", 0, 10)
	must(t, err)
	wantEntries(t, "Claim after the pending entries were trimmed", got, ids[2:], "c")
	got, err = st.Claim(ctx, "q", "g", "rescuer", 0, 10)
	must(t, err)
	wantEntries(t, "Claim again", got, ids[2:], "c")
}

func testBlockWokenByAppend(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	type result struct {
		entries []store.Entry
		err     error
	}
	done := make(chan result, 1)
	go func() {
		got, err := st.ReadGroup(ctx, "inbox", "g", "c", 10, time.Minute)
		done <- result{got, err}
	}()
	// Give the reader time to start waiting; if it has not, it finds the entry at once.
	time.Sleep(50 * time.Millisecond)
	ids := appendAll(t, ctx, st, "inbox", "wake up")
	select {
	case r := <-done:
		must(t, r.err)
		wantEntries(t, "blocked ReadGroup after Append", r.entries, ids, "wake up")
	case <-time.After(realTimeBound):
		t.Fatalf("ReadGroup still blocked %s after an Append", realTimeBound)
	}
}

func testBlockTimesOut(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	appendAll(t, ctx, st, "quiet", "old")
	_, err := st.ReadGroup(ctx, "quiet", "g", "c", 10, 0)
	must(t, err)
	got, err := st.ReadGroup(ctx, "quiet", "g", "c", 10, 50*time.Millisecond)
	must(t, err)
	wantEntries(t, "ReadGroup that waited out its block", got, nil)
}

func testCancelWhileBlocked(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := st.ReadGroup(cctx, "idle", "g", "c", 1, time.Minute)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		wantErr(t, "ReadGroup cancelled while blocked", err, context.Canceled)
	case <-time.After(realTimeBound):
		t.Fatalf("ReadGroup still blocked %s after its context was cancelled", realTimeBound)
	}
}

func testDeadlineWhileBlocked(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := st.ReadGroup(dctx, "idle", "g", "c", 1, time.Minute)
		done <- err
	}()
	select {
	case err := <-done:
		wantErr(t, "ReadGroup past its context deadline", err, context.DeadlineExceeded)
	case <-time.After(realTimeBound):
		t.Fatalf("ReadGroup still blocked %s after its context deadline", realTimeBound)
	}
	// The abandoned read took nothing with it: a later Append goes to the next read.
	ids := appendAll(t, ctx, st, "idle", "x")
	got, err := st.ReadGroup(ctx, "idle", "g", "c", 1, 0)
	must(t, err)
	wantEntries(t, "ReadGroup after the deadline", got, ids, "x")
}
