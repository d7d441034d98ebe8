package fhirtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

func dataFiles(tb testing.TB, sub string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(SharedData(tb), sub, "*.json"))
	if err != nil || len(files) == 0 {
		tb.Skipf("no %s bundles in the shared FHIR data", sub)
	}
	return files
}

func allDataFiles(tb testing.TB) []string {
	return append(dataFiles(tb, "synthea"), dataFiles(tb, "inferno")...)
}

// fixedClock is a settable clock for tests.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fixedClock {
	return &fixedClock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	sharedOnce   sync.Once
	sharedServer *Server
	sharedErr    error
)

// loadedServer returns a server holding every shared bundle. Tests must not
// write to it.
func loadedServer(t testing.TB) *Server {
	t.Helper()
	files := allDataFiles(t)
	sharedOnce.Do(func() {
		s := New(WithClock(newClock().Now))
		for _, f := range files {
			if err := s.LoadFile(f); err != nil {
				sharedErr = err
				return
			}
		}
		sharedServer = s
	})
	if sharedErr != nil {
		t.Fatalf("loading shared data: %v", sharedErr)
	}
	return sharedServer
}

// do sends a request to a handler. Headers come as name, value pairs.
func do(t testing.TB, h http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(t testing.TB, h http.Handler, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, http.MethodGet, target, "", headers...)
}

func wantStatus(t testing.TB, rec *httptest.ResponseRecorder, want int) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d; body: %.600s", rec.Code, want, rec.Body.String())
	}
}

func parseBundle(t testing.TB, rec *httptest.ResponseRecorder) *fhir.Bundle {
	t.Helper()
	wantStatus(t, rec, http.StatusOK)
	b, err := fhir.ParseBundle(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("reply is not a bundle: %v", err)
	}
	return b
}

// localTarget turns an absolute link of a server at http://example.com back
// into a request target.
func localTarget(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("bad link %q: %v", link, err)
	}
	return u.RequestURI()
}

// searchAll follows next links and returns every bundle of a search.
func searchAll(t testing.TB, h http.Handler, target string, headers ...string) []*fhir.Bundle {
	t.Helper()
	var pages []*fhir.Bundle
	for target != "" {
		b := parseBundle(t, get(t, h, target, headers...))
		pages = append(pages, b)
		if len(pages) > 1000 {
			t.Fatal("more than 1000 pages: the next links loop")
		}
		next := b.LinkURL(fhir.RelNext)
		target = ""
		if next != "" {
			target = localTarget(t, next)
		}
	}
	return pages
}

// entryRef is "Type/id" of an entry resource.
func entryRef(t testing.TB, e fhir.BundleEntry) string {
	t.Helper()
	h, err := fhir.ReadHeader(e.Resource)
	if err != nil {
		t.Fatalf("entry resource: %v", err)
	}
	return h.Ref()
}

// matchRefs returns the refs of the match entries of all pages.
func matchRefs(t testing.TB, pages []*fhir.Bundle) []string {
	t.Helper()
	var refs []string
	for _, b := range pages {
		for _, e := range b.Entry {
			if e.Search != nil && e.Search.Mode == "match" {
				refs = append(refs, entryRef(t, e))
			}
		}
	}
	return refs
}

func entriesWithMode(b *fhir.Bundle, mode string) []fhir.BundleEntry {
	var out []fhir.BundleEntry
	for _, e := range b.Entry {
		if e.Search != nil && e.Search.Mode == mode {
			out = append(out, e)
		}
	}
	return out
}

func decode(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decoding %.200s: %v", raw, err)
	}
	return m
}

// oracle is an independent reading of the shared bundles: plain decoded
// resources with their urn:uuid references resolved by hand, against which
// search results are checked.
type oracle struct {
	resources []oracleResource
	urn       map[string]string // fullUrl → Type/id
}

type oracleResource struct {
	typ, id string
	doc     map[string]any
}

var (
	oracleOnce sync.Once
	sharedOrcl *oracle
)

func loadOracle(t testing.TB) *oracle {
	t.Helper()
	files := allDataFiles(t)
	oracleOnce.Do(func() {
		o := &oracle{urn: map[string]string{}}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var b struct {
				Entry []struct {
					FullURL  string         `json:"fullUrl"`
					Resource map[string]any `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			for _, e := range b.Entry {
				r := oracleResource{typ: e.Resource["resourceType"].(string), id: e.Resource["id"].(string), doc: e.Resource}
				o.resources = append(o.resources, r)
				if e.FullURL != "" {
					o.urn[e.FullURL] = r.typ + "/" + r.id
				}
			}
		}
		sharedOrcl = o
	})
	return sharedOrcl
}

// refs returns the references of a top-level element, resolved to Type/id.
func (o *oracle) refs(r oracleResource, field string) []string {
	var out []string
	for _, v := range asList(r.doc[field]) {
		m, _ := v.(map[string]any)
		ref, _ := m["reference"].(string)
		if resolved, ok := o.urn[ref]; ok {
			ref = resolved
		}
		out = append(out, ref)
	}
	return out
}

func (o *oracle) refersTo(r oracleResource, field, target string) bool {
	return slices.Contains(o.refs(r, field), target)
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// hasCode reports whether a top-level CodeableConcept, code or Identifier
// element carries the code (in the system, when one is given).
func hasCode(r oracleResource, field, system, code string) bool {
	for _, v := range asList(r.doc[field]) {
		switch e := v.(type) {
		case string:
			if e == code && system == "" {
				return true
			}
		case map[string]any:
			for _, c := range asList(e["coding"]) {
				cm := c.(map[string]any)
				if cm["code"] == code && (system == "" || cm["system"] == system) {
					return true
				}
			}
			if e["value"] == code && (system == "" || e["system"] == system) {
				return true
			}
		}
	}
	return false
}

// instants returns the instants a date element covers: a dateTime as one
// point (its start), a Period as its start and end.
func instants(tb testing.TB, v any) (start, end time.Time, ok bool) {
	parse := func(s string) time.Time {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t
			}
		}
		tb.Fatalf("oracle cannot read date %q", s)
		return time.Time{}
	}
	switch e := v.(type) {
	case string:
		t := parse(e)
		return t, t, true
	case map[string]any:
		// A Period without an end is ongoing; without a start, of old.
		start, end = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		s, _ := e["start"].(string)
		en, _ := e["end"].(string)
		if s == "" && en == "" {
			return time.Time{}, time.Time{}, false
		}
		if s != "" {
			start = parse(s)
		}
		if en != "" {
			end = parse(en)
		}
		return start, end, true
	}
	return time.Time{}, time.Time{}, false
}

// onOrAfter reports whether a date element reaches day or later;
// before reports whether it starts before day.
func onOrAfter(tb testing.TB, v any, day string) bool {
	_, end, ok := instants(tb, v)
	d, _ := time.Parse("2006-01-02", day)
	return ok && !end.Before(d)
}

func before(tb testing.TB, v any, day string) bool {
	start, _, ok := instants(tb, v)
	d, _ := time.Parse("2006-01-02", day)
	return ok && start.Before(d)
}

// choice returns the value of a choice element such as effective[x].
func choice(r oracleResource, prefix string) any {
	for k, v := range r.doc {
		if strings.HasPrefix(k, prefix) && len(k) > len(prefix) && k[len(prefix)] >= 'A' && k[len(prefix)] <= 'Z' {
			return v
		}
	}
	return nil
}

// where returns the refs of the oracle's resources of typ that satisfy pred.
func (o *oracle) where(typ string, pred func(r oracleResource) bool) []string {
	var out []string
	for _, r := range o.resources {
		if r.typ == typ && pred(r) {
			out = append(out, r.typ+"/"+r.id)
		}
	}
	return out
}

// first returns the id of the first resource of typ that satisfies pred.
func (o *oracle) first(typ string, pred func(r oracleResource) bool) string {
	refs := o.where(typ, pred)
	if len(refs) == 0 {
		return ""
	}
	return strings.TrimPrefix(refs[0], typ+"/")
}

// fakeAuth accepts "Bearer <name>" for the tokens it knows.
type fakeAuth struct {
	tokens map[string]Access

	mu       sync.Mutex
	lastBase string
}

func (a *fakeAuth) ServeAuth(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.lastBase = BaseURL(r)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"served":"`+r.URL.Path+`"}`)
}

func (a *fakeAuth) Authenticate(r *http.Request) (Access, error) {
	a.mu.Lock()
	a.lastBase = BaseURL(r)
	a.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	access, known := a.tokens[tok]
	if !ok || !known {
		return Access{}, ErrUnauthorized
	}
	return access, nil
}

func (a *fakeAuth) base() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastBase
}
