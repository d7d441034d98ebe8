package audit

import (
	"bytes"
	"testing"

	"github.com/portalgate/portalgate/gateway/store/storetest"
)

var fuzzKinds = []Kind{
	SignIn, SignInFailed, SignOut, CodeRedeemed, CodeRejected, ConsentChanged, RecordRead, RecordSearch, RecordWrite,
	PersonRegistered, CodeIssued,
}

// FuzzRecord feeds arbitrary caller input to Record: it must refuse it with ErrInvalid and
// write nothing, or write AuditEvents that decode, have no empty elements, read back as the
// kind reported, and carry no free text on success.
func FuzzRecord(f *testing.F) {
	f.Add(uint8(6), uint8(1), "obs-1", "code", "app-1", "Health Diary", "203.0.113.7", "denied")
	f.Add(uint8(7), uint8(2), "", "code=4548-4", "", "", "::1", "HbA1c 9.8%")
	f.Add(uint8(1), uint8(3), "x", "", "a b", "\x1b[2J", "not-an-ip", "line\nbreak")
	f.Add(uint8(8), uint8(0), "msg.1", "_has:Observation:patient:code", "c", "Ünïcode app", "10.0.0.1", "")
	f.Fuzz(func(t *testing.T, kind, outcome uint8, resourceID, param, client, clientName, ip, detail string) {
		e := base(fuzzKinds[int(kind)%len(fuzzKinds)])
		e.Outcome = Outcome(outcome % 5)
		e.Client, e.ClientName, e.ClientIP, e.Detail = client, clientName, ip, detail
		if e.ResourceType != "" {
			e.ResourceID = resourceID
		}
		if e.Kind == RecordSearch {
			e.SearchParams, e.ResourceID = []string{param}, ""
		}
		mem := newMemStorage()
		l := newTestLog(t, mem, newClock())
		ids, err := l.Record(t.Context(), e)
		stored := mem.all()
		if err != nil {
			if !errorsIsInvalid(err) || len(stored) != 0 {
				t.Fatalf("Record = %v with %d events written", err, len(stored))
			}
			return
		}
		if len(stored) != 2*len(ids) { // network and person logs
			t.Fatalf("%d ids, %d stored", len(ids), len(stored))
		}
		for _, raw := range stored {
			decodeStrict(t, raw)
			noEmptyElements(t, raw)
			_, s, err := summarize(raw)
			if err != nil {
				t.Fatalf("summarize: %v\n%s", err, raw)
			}
			if s.Kind != e.Kind {
				t.Fatalf("kind %s read back as %s", e.Kind, s.Kind)
			}
			if s.Outcome == Success && bytes.Contains(raw, []byte(`"outcomeDesc"`)) {
				t.Fatalf("a success keeps free text:\n%s", raw)
			}
		}
	})
}

// FuzzSummarize reads arbitrary bytes as a stored entry: an error or a summary, never a panic.
func FuzzSummarize(f *testing.F) {
	mem := newMemStorage()
	l := newTestLog(f, mem, newClock())
	for _, k := range fuzzKinds {
		if _, err := l.Record(f.Context(), base(k)); err != nil {
			f.Fatal(err)
		}
	}
	for _, raw := range mem.values(networkLogName("lakeside")) {
		f.Add(raw)
	}
	f.Add([]byte(`{"resourceType":"AuditEvent","id":"x","recorded":"2026-01-01T00:00:00Z","outcome":"0","subtype":[]}`))
	f.Add([]byte(`{"agent":[{"id":"user","who":{}}],"entity":[{"id":"query"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, s, err := summarize(raw)
		if err == nil && (id == "" || s.Kind == "") {
			t.Fatalf("accepted without an id or kind: %q %+v", id, s)
		}
	})
}

// FuzzPage reads a person's trail on the embedded engine with an arbitrary cursor and limit,
// as the portal passes them from a query string.
func FuzzPage(f *testing.F) {
	clock := newClock()
	l := newTestLog(f, storetest.Bolt(f, clock.Now), clock)
	for range 3 {
		if _, err := l.Record(f.Context(), base(SignIn)); err != nil {
			f.Fatal(err)
		}
	}
	f.Add("", 0)
	f.Add("00000000000000000001", 2)
	f.Add("18446744073709551615", 1)
	f.Add("-1", -1)
	f.Add("00000000000000000001-00000000000000000001", 1000)
	f.Fuzz(func(t *testing.T, after string, limit int) {
		entries, next, err := l.ForPerson(t.Context(), "lakeside", "alex", Page{After: after, Limit: limit})
		if err != nil {
			if !errorsIsInvalid(err) {
				t.Fatalf("ForPerson(%q, %d) = %v, want ErrInvalid", after, limit, err)
			}
			return
		}
		if len(entries) > 3 || next != "" && len(entries) == 0 {
			t.Fatalf("%d entries, next %q", len(entries), next)
		}
	})
}
