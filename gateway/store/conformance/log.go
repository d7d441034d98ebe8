package conformance

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/portalgate/portalgate/gateway/store"
)

func testAppendRange(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	got, err := st.Range(ctx, "events", "", 10)
	must(t, err)
	wantEntries(t, "Range of a log never written", got, nil)

	vals := []string{"e0", "e1", "", "e3", "e4"}
	ids := appendAll(t, ctx, st, "events", vals...)
	wantIncreasing(t, ids)
	appendAll(t, ctx, st, "other", "o0")

	got, err = st.Range(ctx, "events", "", 100)
	must(t, err)
	wantEntries(t, "Range from the start", got, ids, vals...)
	got, err = st.Range(ctx, "events", ids[1], 2)
	must(t, err)
	wantEntries(t, "Range after the second entry", got, ids[2:4], vals[2:4]...)
	got, err = st.Range(ctx, "events", ids[4], 10)
	must(t, err)
	wantEntries(t, "Range after the last entry", got, nil)
	got, err = st.Range(ctx, "other", "", 10)
	must(t, err)
	wantEntries(t, "Range of another log", got, nil, "o0")
}

func testRangePaging(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	var vals []string
	for i := range 7 {
		vals = append(vals, fmt.Sprintf("v%d", i))
	}
	ids := appendAll(t, ctx, st, "paged", vals...)
	var all []store.Entry
	pages := 0
	for after := ""; ; pages++ {
		if pages > len(vals) {
			t.Fatalf("still paging after %d pages of 7 entries: Range after an ID includes it?", pages)
		}
		page, err := st.Range(ctx, "paged", after, 3)
		must(t, err)
		if len(page) > 3 {
			t.Fatalf("page of %d entries with limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if pages != 3 {
		t.Fatalf("%d pages of 3 for 7 entries, want 3", pages)
	}
	wantEntries(t, "all pages", all, ids, vals...)
}

func testTrim(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	var vals []string
	for i := range 10 {
		vals = append(vals, fmt.Sprintf("v%d", i))
	}
	ids := appendAll(t, ctx, st, "trimmed", vals...)

	must(t, st.Trim(ctx, "trimmed", 20)) // longer than the log: no change
	got, err := st.Range(ctx, "trimmed", "", 100)
	must(t, err)
	wantEntries(t, "after Trim beyond the length", got, ids, vals...)

	must(t, st.Trim(ctx, "trimmed", 4))
	got, err = st.Range(ctx, "trimmed", "", 100)
	must(t, err)
	wantEntries(t, "after Trim to 4", got, ids[6:], vals[6:]...)
	got, err = st.Range(ctx, "trimmed", ids[0], 100) // after a trimmed ID
	must(t, err)
	wantEntries(t, "Range after a trimmed ID", got, ids[6:], vals[6:]...)

	must(t, st.Trim(ctx, "trimmed", 0))
	got, err = st.Range(ctx, "trimmed", "", 100)
	must(t, err)
	wantEntries(t, "after Trim to 0", got, nil)

	next := appendAll(t, ctx, st, "trimmed", "later")
	wantIncreasing(t, []string{ids[9], next[0]}) // IDs are never reused
	must(t, st.Trim(ctx, "never-written", 0))
}

func testAppendConcurrent(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	const writers, each = 8, 10
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued []string
	)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id, err := st.Append(ctx, "busy", []byte(fmt.Sprintf("%d/%d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				issued = append(issued, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := st.Range(ctx, "busy", "", writers*each+1)
	must(t, err)
	if len(got) != writers*each {
		t.Fatalf("Range returned %d entries, want %d", len(got), writers*each)
	}
	inLog := ids(got)
	wantIncreasing(t, inLog)
	if !slices.Equal(inLog, sortedCopy(issued)) {
		t.Fatal("the IDs in the log differ from the IDs Append returned")
	}
}

func testInvalidIDs(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	ids := appendAll(t, ctx, st, "log", "a")
	for _, bad := range []string{"nope", "-1", ids[0] + "0", " " + ids[0]} {
		_, err := st.Range(ctx, "log", bad, 10)
		wantErr(t, fmt.Sprintf("Range after %q", bad), err, store.ErrInvalid)
		wantErr(t, fmt.Sprintf("Ack of %q", bad), st.Ack(ctx, "log", "g", bad), store.ErrInvalid)
	}
	must(t, st.Ack(ctx, "log", "g")) // no IDs: nothing to do
}
