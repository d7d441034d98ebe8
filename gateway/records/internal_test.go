package records

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/access"
)

func TestCanonicalQueryIgnoresOrder(t *testing.T) {
	a := url.Values{"code": {"b", "a"}, "patient": {"p1"}, "date": {"ge2024"}}
	b := url.Values{"date": {"ge2024"}, "patient": {"p1"}, "code": {"a", "b"}}
	if canonicalQuery(a) != canonicalQuery(b) {
		t.Errorf("%q != %q", canonicalQuery(a), canonicalQuery(b))
	}
	if got, want := canonicalQuery(a), "code=a&code=b&date=ge2024&patient=p1"; got != want {
		t.Errorf("canonicalQuery = %q, want %q", got, want)
	}
	// Values that differ only in how they would be split must not meet.
	if canonicalQuery(url.Values{"a": {"1&b=2"}}) == canonicalQuery(url.Values{"a": {"1"}, "b": {"2"}}) {
		t.Error("an escaped & reads as a separator")
	}
}

func TestEntryKeys(t *testing.T) {
	q := url.Values{"patient": {"pat-123"}, "category": {"laboratory"}}
	key := entryKey("lakeside", "pat-123", "Observation", q)
	switch {
	case strings.Contains(key, "pat-123"):
		t.Errorf("key %s holds the patient id", key)
	case !strings.HasPrefix(key, recordPrefix("lakeside", "pat-123")):
		t.Errorf("key %s is not under its record's prefix", key)
	case key == entryKey("lakeside", "pat-123", "Condition", q):
		t.Error("two types share a key")
	case key == entryKey("lakeside", "pat-124", "Observation", q):
		t.Error("two patients share a key")
	case recordPrefix("a", "bc") == recordPrefix("ab", "c"):
		t.Error("org and patient run together")
	case strings.HasPrefix(recordPrefix("org", "p1"), recordPrefix("org", "p")):
		t.Error("one record's prefix is a prefix of another's")
	}
}

func TestEntryRoundTrip(t *testing.T) {
	expires := time.Date(2026, 11, 22, 14, 35, 0, 123, time.UTC)
	tests := []*found{
		{},
		{matches: []json.RawMessage{json.RawMessage(`{"resourceType":"Observation"}`)}},
		{matches: []json.RawMessage{json.RawMessage(`{}`), json.RawMessage(`{"a":1}`)}, includes: []json.RawMessage{json.RawMessage(`{"b":2}`)}},
		{incomplete: true},
	}
	for i, f := range tests {
		gotExpires, got, err := decodeEntry(encodeEntry(expires, f))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !gotExpires.Equal(expires) || fmt.Sprint(got.matches) != fmt.Sprint(f.matches) ||
			fmt.Sprint(got.includes) != fmt.Sprint(f.includes) || got.incomplete != f.incomplete {
			t.Errorf("%d: round trip gave %v %q %q %v", i, gotExpires, got.matches, got.includes, got.incomplete)
		}
	}
	good := encodeEntry(expires, tests[2])
	badFlags := bytes.Clone(good)
	badFlags[8] = 2
	for _, bad := range [][]byte{
		nil, good[:8], good[:len(good)-1], append(bytes.Clone(good), 0), badFlags,
		append(good[:9:9], 0xff, 0xff, 0xff, 0xff, 0x0f), // a count beyond the bytes left
	} {
		if _, _, err := decodeEntry(bad); !errors.Is(err, errBadEntry) {
			t.Errorf("decodeEntry(%x) = %v, want errBadEntry", bad, err)
		}
	}
}

func TestSealer(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := newSealer([][]byte{k1})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newSealer([][]byte{k2, k1})
	if err != nil {
		t.Fatal(err)
	}
	retired, err := newSealer([][]byte{k2})
	if err != nil {
		t.Fatal(err)
	}
	plain, aad := []byte(`{"resourceType":"Patient"}`), []byte("records/org/abc/def")
	sealed, err := old.seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Patient")) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, _ := old.seal(plain, aad)
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal: nonces repeat")
	}
	if got, err := rotated.open(sealed, aad); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("after rotation: %q, %v", got, err)
	}
	if _, err := retired.open(sealed, aad); !errors.Is(err, errUnsealable) {
		t.Errorf("with the key retired: %v, want errUnsealable", err)
	}
	if _, err := old.open(sealed, []byte("records/org/abc/other")); !errors.Is(err, errUnsealable) {
		t.Errorf("under another storage key: %v, want errUnsealable", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := old.open(tampered, aad); !errors.Is(err, errUnsealable) {
		t.Errorf("tampered: %v, want errUnsealable", err)
	}
	newer, _ := rotated.seal(plain, aad)
	if _, err := old.open(newer, aad); !errors.Is(err, errUnsealable) {
		t.Errorf("a value sealed with a newer key opened with the old one alone: %v", err)
	}
	for _, keys := range [][][]byte{nil, {make([]byte, 16)}, {k1, make([]byte, 33)}} {
		if _, err := newSealer(keys); err == nil {
			t.Errorf("newSealer accepted keys of sizes %v", keySizes(keys))
		}
	}
}

func keySizes(keys [][]byte) []int {
	var sizes []int
	for _, k := range keys {
		sizes = append(sizes, len(k))
	}
	return sizes
}

func TestClassify(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("adapters: x: search Observation: %w", &fhir.Error{Status: code, Method: "GET", URL: "http://x/Observation?patient=secret"})
	}
	tests := []struct {
		err  error
		want Code
	}{
		{&adapters.CircuitOpenError{Endpoint: "x"}, CodeCircuitOpen},
		{fmt.Errorf("records: x: %w", context.DeadlineExceeded), CodeTimeout},
		{fmt.Errorf("%w (retry abandoned: %w)", status(503), context.DeadlineExceeded), CodeTimeout},
		{status(429), CodeRateLimited},
		{status(401), CodeUnauthorized},
		{&adapters.AuthError{Endpoint: "x", Err: errors.New("invalid_client")}, CodeUnauthorized},
		{status(403), CodeRefused},
		{status(400), CodeRefused},
		{status(404), CodeRefused},
		{fmt.Errorf("x: %w", adapters.ErrUnsupportedSearch), CodeRefused},
		{status(500), CodeUnavailable},
		{status(502), CodeUnavailable},
		{fmt.Errorf("x: %w", fhir.ErrMalformed), CodeMalformed},
		{errors.New("dial tcp: connection refused"), CodeUnavailable},
		{fmt.Errorf("%w: x", errNotConnected), CodeUnavailable},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	for code, reason := range reasons {
		text := fmt.Sprintf(reason, "Lakeside")
		if !strings.HasPrefix(text, "Lakeside ") || strings.Contains(text, "%!") {
			t.Errorf("reason of %s reads %q", code, text)
		}
	}
	for code, reason := range partialReasons {
		if text := fmt.Sprintf(reason, "Lakeside"); !strings.Contains(text, "Lakeside") || strings.Contains(text, "%!") {
			t.Errorf("partial reason of %s reads %q", code, text)
		}
	}
}

// fakeSource answers every search with fixed resources, or an error.
type fakeSource struct {
	resources []string
	outcomes  []fhir.OperationOutcome
	err       error
}

func (f fakeSource) Search(context.Context, string, url.Values) (*fhir.SearchResult, error) {
	if f.err != nil {
		return nil, f.err
	}
	res := &fhir.SearchResult{Outcomes: f.outcomes}
	for _, r := range f.resources {
		res.Matches = append(res.Matches, fhir.BundleEntry{Resource: json.RawMessage(r)})
	}
	return res, nil
}

// failingFilter cannot read resources holding a marker, as a release filter cannot read a
// malformed result.
type failingFilter struct{}

func (failingFilter) Apply(r json.RawMessage) (json.RawMessage, error) {
	if bytes.Contains(r, []byte("unreadable")) {
		return nil, errors.New("cannot read")
	}
	return r, nil
}

func newFakeService(t *testing.T, sources map[string]fakeSource) *Service {
	t.Helper()
	var orgs []fhir.SourceOrg
	for _, id := range []string{"a", "b", "c"} {
		orgs = append(orgs, fhir.SourceOrg{ID: id, Name: "Org " + strings.ToUpper(id), Source: "https://" + id + ".example/fhir"})
	}
	s, err := NewService(Options{
		Sources: func(org string) (Source, bool) { src, ok := sources[org]; return src, ok },
		Orgs:    orgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fakeQuery(typ string) Query {
	return Query{
		Decision: access.Decision{
			Allowed: true,
			Records: []access.Record{{Org: "a", Patient: "pa"}, {Org: "b", Patient: "pb"}, {Org: "c", Patient: "pc"}},
			Grants:  []access.Grant{{Type: "*", Interactions: access.ReadOnly}},
			Filters: []access.Filter{failingFilter{}},
		},
		Person: "dana", Type: typ,
	}
}

func condition(id, patient, extra string) string {
	return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/` + patient + `"}` + extra + `}`
}

// An org whose answer cannot be merged is named and left out; the others are merged.
func TestUnmergeableOrgIsLeftOut(t *testing.T) {
	s := newFakeService(t, map[string]fakeSource{
		"a": {resources: []string{condition("c1", "pa", "")}},
		"b": {resources: []string{condition("c2", "pb", ""), `{"id":"no-type"}`}},
		"c": {resources: []string{condition("c3", "pc", "")}},
	})
	res, err := s.Search(context.Background(), fakeQuery("Condition"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 2 || res.Entries[0].Sources[0].Org != "a" || res.Entries[1].Sources[0].Org != "c" {
		t.Errorf("entries %+v, want a's and c's", res.Entries)
	}
	want := OrgOutcome{Org: "b", Name: "Org B", Code: CodeMalformed, Reason: fmt.Sprintf(reasons[CodeMalformed], "Org B")}
	if len(res.Outcomes) != 1 || res.Outcomes[0] != want {
		t.Errorf("outcomes %+v, want %+v", res.Outcomes, want)
	}
}

// A resource the decision's filters cannot read is left out, and its org named as partial.
func TestUnreadableResourceIsNamed(t *testing.T) {
	s := newFakeService(t, map[string]fakeSource{
		"a": {resources: []string{condition("c1", "pa", ""), condition("c2", "pa", `,"note":[{"text":"unreadable"}]`)}},
		"b": {err: &fhir.Error{Status: 503}},
		"c": {},
	})
	res, err := s.Search(context.Background(), fakeQuery("Condition"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 || res.Entries[0].Sources[0].ID != "c1" {
		t.Errorf("entries %+v, want c1 alone", res.Entries)
	}
	want := []OrgOutcome{
		{Org: "a", Name: "Org A", Code: CodeMalformed, Partial: true, Reason: fmt.Sprintf(partialReasons[CodeMalformed], "Org A")},
		{Org: "b", Name: "Org B", Code: CodeUnavailable, Reason: fmt.Sprintf(reasons[CodeUnavailable], "Org B")},
	}
	if fmt.Sprint(res.Outcomes) != fmt.Sprint(want) {
		t.Errorf("outcomes %+v, want %+v", res.Outcomes, want)
	}
}

// An org that says it left part of the answer out (the adapter's note on a fanned-out
// search the server refused in part) is named as partial; routine notices are not.
func TestIncompleteAnswerIsNamed(t *testing.T) {
	outcome := func(severity, code string) fhir.OperationOutcome {
		return fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhir.OutcomeIssue{{Severity: severity, Code: code}}}
	}
	s := newFakeService(t, map[string]fakeSource{
		"a": {resources: []string{condition("c1", "pa", "")}, outcomes: []fhir.OperationOutcome{outcome("warning", "incomplete")}},
		"b": {resources: []string{condition("c2", "pb", "")}, outcomes: []fhir.OperationOutcome{outcome("warning", "informational")}},
		"c": {outcomes: []fhir.OperationOutcome{outcome("error", "processing")}},
	})
	res, err := s.Search(context.Background(), fakeQuery("Condition"))
	if err != nil {
		t.Fatal(err)
	}
	want := []OrgOutcome{
		{Org: "a", Name: "Org A", Code: CodeRefused, Partial: true, Reason: fmt.Sprintf(partialReasons[CodeRefused], "Org A")},
		{Org: "c", Name: "Org C", Code: CodeRefused, Partial: true, Reason: fmt.Sprintf(partialReasons[CodeRefused], "Org C")},
	}
	if len(res.Entries) != 2 || fmt.Sprint(res.Outcomes) != fmt.Sprint(want) {
		t.Errorf("%d entries, outcomes %+v, want %+v", len(res.Entries), res.Outcomes, want)
	}
}

func TestBundle(t *testing.T) {
	s := newFakeService(t, map[string]fakeSource{
		"a": {resources: []string{condition("c1", "pa", "")}},
		"b": {err: fmt.Errorf("x: %w", context.DeadlineExceeded)},
		"c": {resources: []string{condition("c3", "pc", "")}},
	})
	res, err := s.Search(context.Background(), fakeQuery("Condition"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Bundle("https://gw.example/fhir/lakeside/", res)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fhir.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != fhir.BundleSearchset || b.Total == nil || *b.Total != 2 || len(b.Entry) != 3 {
		t.Fatalf("bundle %s", raw)
	}
	for i, want := range []string{"https://gw.example/fhir/lakeside/Condition/c1", "https://gw.example/fhir/lakeside/Condition/c3"} {
		if e := b.Entry[i]; e.FullURL != want || e.Search == nil || e.Search.Mode != "match" {
			t.Errorf("entry %d: fullUrl %q, search %+v", i, e.FullURL, e.Search)
		}
	}
	last := b.Entry[2]
	if last.Search == nil || last.Search.Mode != "outcome" {
		t.Fatalf("last entry's search %+v, want mode outcome", last.Search)
	}
	var oo struct {
		ResourceType string
		Meta         struct{ Tag []fhir.Coding }
		Issue        []struct {
			Severity, Code string
			Details        fhir.IssueDetails
		}
	}
	if err := json.Unmarshal(last.Resource, &oo); err != nil {
		t.Fatal(err)
	}
	wantTag := fhir.Coding{System: fhir.SourceOrgTagSystem, Code: "b", Display: "Org B"}
	if oo.ResourceType != "OperationOutcome" || len(oo.Meta.Tag) != 1 || oo.Meta.Tag[0] != wantTag || len(oo.Issue) != 1 {
		t.Fatalf("outcome %s", last.Resource)
	}
	issue := oo.Issue[0]
	if issue.Severity != "warning" || issue.Code != "incomplete" || issue.Details.Text != res.Outcomes[0].Reason ||
		len(issue.Details.Coding) != 1 || issue.Details.Coding[0] != (fhir.Coding{System: OutcomeCodeSystem, Code: "timeout"}) {
		t.Errorf("issue %+v", issue)
	}

	for _, base := range []string{"", "gw.example/fhir", "https://gw.example/fhir?x=1"} {
		if _, err := Bundle(base, res); err == nil {
			t.Errorf("Bundle accepted base %q", base)
		}
	}
}
