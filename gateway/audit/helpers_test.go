package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/gateway/store"
)

// start is the fake clock's first reading.
var start = time.Date(2026, time.March, 10, 17, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: start} }

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

// memStorage is an in-memory Storage that can be told to fail, for the tests that need no
// real engine.
type memStorage struct {
	mu   sync.Mutex
	seq  uint64
	logs map[string][]store.Entry
	// fail, when set, decides whether an Append to log fails.
	fail func(log string) error
}

func newMemStorage() *memStorage { return &memStorage{logs: map[string][]store.Entry{}} }

func (m *memStorage) Append(ctx context.Context, log string, value []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(log); err != nil {
			return "", err
		}
	}
	m.seq++
	id := fmt.Sprintf("%020d", m.seq)
	m.logs[log] = append(m.logs[log], store.Entry{ID: id, Value: bytes.Clone(value)})
	return id, nil
}

func (m *memStorage) Range(ctx context.Context, log, after string, limit int) ([]store.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if after != "" && len(after) != 20 {
		return nil, fmt.Errorf("mem: %w: bad id", store.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Entry
	for _, e := range m.logs[log] {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// values returns every value appended to log.
func (m *memStorage) values(log string) [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, e := range m.logs[log] {
		out = append(out, e.Value)
	}
	return out
}

// all returns every value of every log.
func (m *memStorage) all() [][]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	for _, entries := range m.logs {
		for _, e := range entries {
			out = append(out, e.Value)
		}
	}
	return out
}

// newTestLog returns a Log on st. Its timeout is generous: the embedded engine syncs every
// append to disk, and a disk shared with other work can stall for seconds.
func newTestLog(tb testing.TB, st Storage, clock *fakeClock) *Log {
	tb.Helper()
	l, err := NewLog(st, Options{Source: "gateway.test", Now: clock.Now, Timeout: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// strictAuditEvent decodes an AuditEvent refusing any field the R4 model does not have.
type strictAuditEvent struct {
	fhir.OtherAuditEvent
	ResourceType string `json:"resourceType"`
}

func decodeStrict(tb testing.TB, raw []byte) fhir.AuditEvent {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ev strictAuditEvent
	if err := dec.Decode(&ev); err != nil {
		tb.Fatalf("not an R4 AuditEvent: %v\n%s", err, raw)
	}
	if ev.ResourceType != "AuditEvent" {
		tb.Fatalf("resourceType = %q", ev.ResourceType)
	}
	// The library's own decoder must read it too.
	if _, err := fhir.UnmarshalAuditEvent(raw); err != nil {
		tb.Fatalf("UnmarshalAuditEvent: %v", err)
	}
	return fhir.AuditEvent(ev.OtherAuditEvent)
}

// noEmptyElements fails on "", {} or [] anywhere in raw: FHIR JSON forbids empty elements.
func noEmptyElements(tb testing.TB, raw []byte) {
	tb.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			if v == "" {
				tb.Errorf("%s is an empty string", path)
			}
		case map[string]any:
			if len(v) == 0 {
				tb.Errorf("%s is an empty object", path)
			}
			for k, c := range v {
				walk(path+"."+k, c)
			}
		case []any:
			if len(v) == 0 {
				tb.Errorf("%s is an empty array", path)
			}
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("AuditEvent", v)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
