package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
)

func errorsIsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// The rule on free text: Detail explains failures only. A successful access keeps no free
// text at all, so a caller that misuses Detail cannot put clinical content into the trail
// of accesses that happened.
func TestNoClinicalTextInSuccessfulEvents(t *testing.T) {
	const clinical = "HbA1c 9.8% poorly controlled type 2 diabetes"
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	for _, kind := range []Kind{SignIn, SignOut, CodeRedeemed, ConsentChanged, RecordRead, RecordSearch, RecordWrite, PersonRegistered, CodeIssued} {
		e := base(kind)
		e.Detail = clinical
		if _, err := l.Record(t.Context(), e); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	for _, raw := range mem.all() {
		for _, needle := range []string{"HbA1c", "diabetes", "outcomeDesc"} {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("stored event holds %q:\n%s", needle, raw)
			}
		}
	}
}

func TestFailureDetailIsKeptCleaned(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	e := base(RecordRead)
	e.Outcome = MinorFailure
	e.Detail = "access denied\n2026-01-01 INFO forged line\x00" + strings.Repeat("é", maxDetail)
	if _, err := l.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	ev := decodeStrict(t, mem.values(networkLogName("lakeside"))[0])
	desc := deref(ev.OutcomeDesc)
	switch {
	case !strings.HasPrefix(desc, "access denied 2026-01-01 INFO forged line"):
		t.Errorf("outcomeDesc = %q", desc)
	case strings.ContainsAny(desc, "\n\x00"):
		t.Errorf("outcomeDesc keeps control characters: %q", desc)
	case len(desc) > maxDetail || !utf8.ValidString(desc):
		t.Errorf("outcomeDesc is %d bytes, valid UTF-8 %v", len(desc), utf8.ValidString(desc))
	}
}

func TestSearchKeepsParameterNamesOnly(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	e := base(RecordSearch)
	e.SearchParams = []string{"code:text", "subject:Patient.name", "_has:Observation:patient:code", "date"}
	if _, err := l.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	ev := decodeStrict(t, mem.values(networkLogName("lakeside"))[0])
	var desc string
	for _, en := range ev.Entity {
		if deref(en.Id) == entityQuery {
			desc = deref(en.Description)
		}
	}
	if want := "Observation?_has:Observation:patient:code&code:text&date&subject:Patient.name"; desc != want {
		t.Errorf("query = %q, want %q", desc, want)
	}
}

func TestPersonIndex(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	ctx := t.Context()
	proxy := base(RecordRead)
	proxy.Person, proxy.Subject = "jordan", "alex"
	unknown := Event{Kind: SignInFailed, Network: "lakeside", ClientIP: "192.0.2.1"}
	for _, e := range []Event{base(SignIn), proxy, unknown} {
		if _, err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	alex, _, err := l.ForPerson(ctx, "lakeside", "alex", Page{})
	must(t, err)
	jordan, _, err := l.ForPerson(ctx, "lakeside", "jordan", Page{})
	must(t, err)
	all, _, err := l.Network(ctx, "lakeside", Page{})
	must(t, err)
	if len(alex) != 2 || alex[0].Summary.Kind != SignIn || alex[1].Summary.Actor != "jordan" {
		t.Errorf("alex sees %+v; want their sign-in and jordan's read", alex)
	}
	if len(jordan) != 0 {
		t.Errorf("jordan's own view holds what they did for alex: %+v", jordan)
	}
	if len(all) != 3 {
		t.Errorf("the network log holds %d events, want 3", len(all))
	}
	other, _, err := l.Network(ctx, "summit", Page{})
	if err != nil || len(other) != 0 {
		t.Errorf("another network sees %d events, %v", len(other), err)
	}
}

func TestOperatorEventsGoToThePersonActedOn(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	ctx := t.Context()
	for _, k := range []Kind{PersonRegistered, CodeIssued} {
		if _, err := l.Record(ctx, base(k)); err != nil {
			t.Fatal(err)
		}
	}
	alex, _, err := l.ForPerson(ctx, "lakeside", "alex", Page{})
	must(t, err)
	if len(alex) != 2 || alex[0].Summary.Kind != PersonRegistered || alex[1].Summary.Kind != CodeIssued {
		t.Fatalf("alex sees %+v; want their registration and the code issued for them", alex)
	}
	for _, e := range alex {
		if e.Summary.Operator != "operator" || e.Summary.Subject != "alex" || e.Summary.Actor != "" {
			t.Errorf("summary %+v: want the operator acting on alex", e.Summary)
		}
	}
	if operator, _, err := l.ForPerson(ctx, "lakeside", "operator", Page{}); err != nil || len(operator) != 0 {
		t.Errorf("the operator has a person log: %+v, %v", operator, err)
	}
}

func TestDetailsAreReadBack(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	ctx := t.Context()
	failed := with(base(SignInFailed), func(e *Event) {
		e.Account, e.Person, e.Detail, e.ClientIP = "", "", "two-step verification missing", "2001:db8::7"
	})
	bare := Event{Kind: SignOut, Network: "lakeside", Person: "alex"}
	for _, e := range []Event{failed, base(RecordRead), bare} {
		if _, err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	entries, _, err := l.Network(ctx, "lakeside", Page{})
	must(t, err)
	want := []Details{
		{Detail: "two-step verification missing", ClientIP: "2001:db8::7", RequestID: "req-42"},
		{ClientIP: "203.0.113.7", RequestID: "req-42"},
		{},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if e.Details != want[i] {
			t.Errorf("entry %d (%s): details %+v, want %+v", i, e.Summary.Kind, e.Details, want[i])
		}
	}
}

func TestPaging(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			l := newTestLog(t, eng.Open(t, clock.Now), clock)
			ctx := t.Context()

			// 57 reads of alex's record, interleaved with blake's and with failed sign-ins.
			var alexIDs []string
			for i := range 57 {
				e := base(RecordRead)
				e.ResourceID = fmt.Sprintf("obs-%03d", i)
				ids, err := l.Record(ctx, e)
				must(t, err)
				alexIDs = append(alexIDs, ids...)
				clock.Advance(time.Second)
				if i%3 == 0 {
					b := base(SignIn)
					b.Person, b.Account = "blake", "acct-2"
					_, err := l.Record(ctx, b)
					must(t, err)
					_, err = l.Record(ctx, Event{Kind: SignInFailed, Network: "lakeside", ClientIP: "192.0.2.9"})
					must(t, err)
				}
			}

			pages := func(person string, limit int) (sizes []int, entries []Entry) {
				t.Helper()
				page := Page{Limit: limit}
				for {
					got, next, err := l.ForPerson(ctx, "lakeside", person, page)
					must(t, err)
					sizes = append(sizes, len(got))
					entries = append(entries, got...)
					if next == "" {
						return sizes, entries
					}
					if len(sizes) > 100 {
						t.Fatal("paging does not end")
					}
					page.After = next
				}
			}

			sizes, entries := pages("alex", 10)
			if want := []int{10, 10, 10, 10, 10, 7}; fmt.Sprint(sizes) != fmt.Sprint(want) {
				t.Errorf("page sizes %v, want %v", sizes, want)
			}
			for i, e := range entries {
				if e.ID != alexIDs[i] {
					t.Fatalf("entry %d is %s, want %s: oldest first, in the order recorded", i, e.ID, alexIDs[i])
				}
				if want := start.Add(time.Duration(i) * time.Second); !e.Summary.When.Equal(want) {
					t.Errorf("entry %d recorded %v, want %v", i, e.Summary.When, want)
				}
				if e.Summary.Actor != "alex" || e.Summary.Kind != RecordRead {
					t.Errorf("entry %d is %+v, not alex's read", i, e.Summary)
				}
				if !bytes.Contains(e.Resource, fmt.Appendf(nil, `"Observation/obs-%03d"`, i)) {
					t.Errorf("entry %d does not hold its resource reference", i)
				}
			}

			// A last page that is exactly full still says there is no more.
			if sizes, _ := pages("alex", 19); fmt.Sprint(sizes) != "[19 19 19]" {
				t.Errorf("pages of 19: %v, want [19 19 19]", sizes)
			}
			if sizes, entries := pages("blake", 0); fmt.Sprint(sizes) != "[19]" || entries[0].Summary.Kind != SignIn {
				t.Errorf("blake's pages %v", sizes)
			}
			if sizes, _ := pages("nobody", 0); fmt.Sprint(sizes) != "[0]" {
				t.Errorf("an empty trail pages as %v", sizes)
			}

			all, next, err := l.Network(ctx, "lakeside", Page{Limit: MaxPageLimit})
			must(t, err)
			if len(all) != 57+2*19 || next != "" {
				t.Errorf("network log: %d events, next %q; want %d", len(all), next, 57+2*19)
			}
			first, next, err := l.Network(ctx, "lakeside", Page{})
			must(t, err)
			if len(first) != DefaultPageLimit || next == "" {
				t.Errorf("default page: %d events, next %q", len(first), next)
			}

			for _, bad := range []struct {
				name            string
				network, person string
				page            Page
			}{
				{"negative limit", "lakeside", "alex", Page{Limit: -1}},
				{"cursor from no log", "lakeside", "alex", Page{After: "not-a-cursor"}},
				{"cursor with a space", "lakeside", "alex", Page{After: "a b"}},
				{"person with a path", "lakeside", "../blake", Page{}},
				{"no network", "", "alex", Page{}},
			} {
				if _, _, err := l.ForPerson(ctx, bad.network, bad.person, bad.page); !errorsIsInvalid(err) {
					t.Errorf("ForPerson with %s: %v, want ErrInvalid", bad.name, err)
				}
				if bad.person != "alex" {
					continue
				}
				if _, _, err := l.Network(ctx, bad.network, bad.page); !errorsIsInvalid(err) {
					t.Errorf("Network with %s: %v, want ErrInvalid", bad.name, err)
				}
			}
		})
	}
}

func TestPageLimitIsCapped(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	for range MaxPageLimit + 5 {
		_, err := l.Record(t.Context(), base(SignIn))
		must(t, err)
	}
	got, next, err := l.ForPerson(t.Context(), "lakeside", "alex", Page{Limit: 10 * MaxPageLimit})
	must(t, err)
	if len(got) != MaxPageLimit || next == "" {
		t.Errorf("%d entries, next %q; want %d and more to come", len(got), next, MaxPageLimit)
	}
	rest, next, err := l.ForPerson(t.Context(), "lakeside", "alex", Page{After: next, Limit: 10 * MaxPageLimit})
	must(t, err)
	if len(rest) != 5 || next != "" {
		t.Errorf("second page: %d entries, next %q", len(rest), next)
	}
}

func TestConcurrentRecords(t *testing.T) {
	const workers, each = 8, 6
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			clock := newClock()
			l := newTestLog(t, eng.Open(t, clock.Now), clock)
			ctx := t.Context()

			var mu sync.Mutex
			recorded := map[string]bool{}
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						e := base(RecordSearch)
						e.Records = []Record{{"hospital", "h-alex"}, {"clinics", "c-alex"}}
						e.RequestID = fmt.Sprintf("w%d-%d", w, i)
						if w%2 == 1 {
							e.Person, e.Subject = "jordan", "alex" // a proxy at the same time
						}
						ids, err := l.Record(ctx, e)
						if err != nil {
							errs <- err
							return
						}
						clock.Advance(time.Millisecond)
						mu.Lock()
						for _, id := range ids {
							recorded[id] = true
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			got, next, err := l.ForPerson(ctx, "lakeside", "alex", Page{Limit: MaxPageLimit})
			must(t, err)
			if want := workers * each * 2; len(got) != want || len(recorded) != want || next != "" {
				t.Fatalf("alex's trail holds %d events (%d recorded), want %d", len(got), len(recorded), want)
			}
			seen := map[string]bool{}
			for _, e := range got {
				if !recorded[e.ID] || seen[e.ID] {
					t.Errorf("entry %s is unknown or repeated", e.ID)
				}
				seen[e.ID] = true
			}
			network, _, err := l.Network(ctx, "lakeside", Page{Limit: MaxPageLimit})
			must(t, err)
			if len(network) != len(got) {
				t.Errorf("network log holds %d, person log %d", len(network), len(got))
			}
		})
	}
}

func TestRecordFailsClosed(t *testing.T) {
	broken := errors.New("disk full")
	for _, failing := range []string{networkLogName("lakeside"), personLogName("lakeside", "alex")} {
		t.Run(failing, func(t *testing.T) {
			mem := newMemStorage()
			mem.fail = func(log string) error {
				if log == failing {
					return broken
				}
				return nil
			}
			l := newTestLog(t, mem, newClock())
			ids, err := l.Record(t.Context(), base(RecordRead))
			if !errors.Is(err, broken) || ids != nil {
				t.Fatalf("Record = %v, %v; want the store's error and no ids", ids, err)
			}
			if strings.Contains(err.Error(), "alex") || strings.Contains(err.Error(), "h-alex") {
				t.Errorf("error names the person or record: %v", err)
			}
		})
	}
}

// blockingStorage waits for its context to end: a store that stopped answering.
type blockingStorage struct{}

func (blockingStorage) Append(ctx context.Context, _ string, _ []byte) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func (blockingStorage) Range(ctx context.Context, _, _ string, _ int) ([]store.Entry, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCallsHaveADeadline(t *testing.T) {
	l, err := NewLog(blockingStorage{}, Options{Source: "gateway.test", Timeout: 10 * time.Millisecond})
	must(t, err)
	ctx := t.Context() // no deadline of its own
	if _, err := l.Record(ctx, base(SignIn)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Record on a stuck store: %v", err)
	}
	if _, _, err := l.ForPerson(ctx, "lakeside", "alex", Page{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ForPerson on a stuck store: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newTestLog(t, newMemStorage(), newClock()).Record(cancelled, base(SignIn)); !errors.Is(err, context.Canceled) {
		t.Errorf("Record with a cancelled context: %v", err)
	}
}

func TestCorruptEntriesAreReportedNotSkipped(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	_, err := l.Record(t.Context(), base(SignIn))
	must(t, err)
	_, err = mem.Append(t.Context(), personLogName("lakeside", "alex"), []byte(`{"resourceType":"Patient"}`))
	must(t, err)
	if _, _, err := l.ForPerson(t.Context(), "lakeside", "alex", Page{}); err == nil {
		t.Error("a trail with a foreign entry read without error")
	}
}

func TestNewLog(t *testing.T) {
	for name, tt := range map[string]struct {
		st   Storage
		opts Options
	}{
		"no storage":       {nil, Options{Source: "gw"}},
		"no source":        {newMemStorage(), Options{}},
		"source w/ space":  {newMemStorage(), Options{Source: "gate way"}},
		"negative timeout": {newMemStorage(), Options{Source: "gw", Timeout: -time.Second}},
	} {
		if _, err := NewLog(tt.st, tt.opts); !errorsIsInvalid(err) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	l, err := NewLog(newMemStorage(), Options{Source: "gw"})
	if err != nil || l.timeout != DefaultTimeout || l.now == nil {
		t.Errorf("defaults not applied: %+v, %v", l, err)
	}
}
