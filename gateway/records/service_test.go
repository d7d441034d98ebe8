package records_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/synth"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/records"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

// One search of laboratory results draws from all three orgs, each upstream search asking
// for its own record's patient, and every entry is tagged with the orgs that reported it.
func TestSearchDrawsFromEveryOrg(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t)
	res := search(t, s, n.query(t, "Observation", labs...))

	if len(res.Outcomes) != 0 {
		t.Fatalf("outcomes %+v, want none", res.Outcomes)
	}
	perOrg := map[string]int{}
	for _, e := range res.Entries {
		r := decode(t, e.Resource)
		if r.ResourceType != "Observation" || e.Type != "Observation" {
			t.Fatalf("entry of type %s/%s in an Observation search", e.Type, r.ResourceType)
		}
		if got, want := r.sourceTags(), sourceOrgs(e); !slices.Equal(got, want) {
			t.Errorf("Observation/%s tagged %v, reported by %v", r.ID, got, want)
		}
		if kept := n.org(e.Sources[0].Org); r.Meta.Source != kept.org.Source {
			t.Errorf("Observation/%s: meta.source %q, want %q", r.ID, r.Meta.Source, kept.org.Source)
		}
		for _, org := range sourceOrgs(e) {
			perOrg[org]++
		}
	}
	for _, u := range n.orgs {
		if perOrg[u.org.ID] == 0 {
			t.Errorf("no entry from %s", u.org.ID)
		}
		reqs := u.sent.list()
		if len(reqs) != 1 {
			t.Fatalf("%s was sent %d requests, want 1 search", u.org.ID, len(reqs))
		}
		if q := reqs[0].query; q.Get("patient") != u.patient || q.Get("category") != "laboratory" {
			t.Errorf("%s was asked %v, want patient %s and category laboratory", u.org.ID, q, u.patient)
		}
	}
}

// The same immunization reported by several orgs comes back once, listing every org that
// reported it; when one org is down, the two others' copies still merge into one.
func TestImmunizationsMergeAcrossOrgs(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t, func(o *records.Options) { o.Cache = nil })
	q := n.query(t, "Immunization")
	all := []string{"lakeside-hospital", "riverbend-clinic", "summit-health"}

	res := search(t, s, q)
	wantImmunizations := immunizationCount(t)
	if len(res.Entries) != wantImmunizations {
		t.Fatalf("%d immunizations, want %d (each org reports %d)", len(res.Entries), wantImmunizations, wantImmunizations)
	}
	for _, e := range res.Entries {
		if got := sourceOrgs(e); !slices.Equal(got, all) {
			t.Errorf("Immunization/%s reported by %v, want %v", e.Sources[0].ID, got, all)
		}
		if got := decode(t, e.Resource).sourceTags(); !slices.Equal(got, all) {
			t.Errorf("Immunization/%s tagged %v, want %v", e.Sources[0].ID, got, all)
		}
	}

	if err := n.org("riverbend-clinic").server.SetFaults(fhirtest.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	res = search(t, s, q)
	two := []string{"lakeside-hospital", "summit-health"}
	if len(res.Entries) != wantImmunizations {
		t.Fatalf("with one org down: %d immunizations, want %d", len(res.Entries), wantImmunizations)
	}
	for _, e := range res.Entries {
		if got := sourceOrgs(e); !slices.Equal(got, two) {
			t.Errorf("Immunization/%s reported by %v, want %v", e.Sources[0].ID, got, two)
		}
	}
}

// immunizationCount is how many immunizations Dana's record holds at one org.
func immunizationCount(t testing.TB) int {
	n := 0
	for _, raw := range danaRecord(t, synth.Org{ID: "any-org"}) {
		if h, err := fhir.ReadHeader(raw); err == nil && h.ResourceType == "Immunization" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("the generated record has %d immunizations; the test needs several", n)
	}
	return n
}

// An org that fails never hides the others: the answer comes with the others' entries and
// an outcome naming the org, in words that quote nothing of the upstream.
func TestFailingOrgIsNamed(t *testing.T) {
	tests := []struct {
		name   string
		faults fhirtest.Faults
		want   records.Code
	}{
		{"down", fhirtest.Faults{Down: true}, records.CodeUnavailable},
		{"server errors", fhirtest.Faults{ErrorRate: 1}, records.CodeUnavailable},
		{"rate limited", fhirtest.Faults{RateLimitRate: 1, RetryAfter: 30}, records.CodeRateLimited},
		{"malformed replies", fhirtest.Faults{Malformed: true}, records.CodeMalformed},
		{"too slow", fhirtest.Faults{LatencyMS: 5000}, records.CodeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t, networkOptions{})
			s := n.service(t, func(o *records.Options) { o.Deadline = 500 * time.Millisecond })
			failing := n.org("summit-health")
			if err := failing.server.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			res := search(t, s, n.query(t, "Observation", labs...))

			want := []records.OrgOutcome{{Org: failing.org.ID, Name: failing.org.Name, Code: tt.want}}
			if len(res.Outcomes) != 1 || res.Outcomes[0].Org != want[0].Org || res.Outcomes[0].Code != tt.want ||
				res.Outcomes[0].Name != want[0].Name || res.Outcomes[0].Partial {
				t.Fatalf("outcomes %+v, want %+v", res.Outcomes, want)
			}
			reason := res.Outcomes[0].Reason
			if !strings.HasPrefix(reason, failing.org.Name+" ") || strings.Contains(reason, "http") || strings.Contains(reason, "fhir") {
				t.Errorf("reason %q: want the org's name first and nothing of the upstream", reason)
			}
			from := map[string]bool{}
			for _, e := range res.Entries {
				for _, c := range e.Sources {
					from[c.Org] = true
				}
			}
			if !from["lakeside-hospital"] || !from["riverbend-clinic"] || from["summit-health"] {
				t.Errorf("entries from %v, want the two working orgs only", from)
			}
		})
	}
}

// After an org fails often enough, its circuit opens, and the outcome says so.
func TestOpenCircuitIsNamed(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t, func(o *records.Options) { o.Cache = nil })
	failing := n.org("riverbend-clinic")
	if err := failing.server.SetFaults(fhirtest.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	q := n.query(t, "Immunization")
	var codes []records.Code
	for range 8 {
		res := search(t, s, q)
		if len(res.Outcomes) != 1 || res.Outcomes[0].Org != failing.org.ID {
			t.Fatalf("outcomes %+v, want one naming %s", res.Outcomes, failing.org.ID)
		}
		codes = append(codes, res.Outcomes[0].Code)
	}
	if codes[0] != records.CodeUnavailable || codes[len(codes)-1] != records.CodeCircuitOpen {
		t.Errorf("codes %v: want unavailable first, circuit-open once the breaker opens", codes)
	}
}

// A result the network holds for a clinician comes back without its value, marked pending
// release; the others keep theirs.
func TestHeldResultHasNoValue(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t)
	res := search(t, s, n.query(t, "Observation", labs...))

	sensitive := synth.DefaultSensitiveCodes()
	held, shown := 0, 0
	for _, e := range res.Entries {
		r := decode(t, e.Resource)
		isSensitive := slices.ContainsFunc(r.Code.Coding, func(c fhir.Coding) bool {
			return slices.Contains(sensitive, c.System+"|"+c.Code)
		})
		state := ""
		for _, tag := range r.Meta.Tag {
			if tag.System == access.ReleaseStateSystem {
				state = tag.Code
			}
		}
		switch {
		case isSensitive:
			held++
			if state != string(tenants.ResultHeld) {
				t.Errorf("sensitive Observation/%s has release state %q, want %q", r.ID, state, tenants.ResultHeld)
			}
			if hasValue(e.Resource) || bytes.Contains(e.Resource, []byte(`"interpretation"`)) {
				t.Errorf("held Observation/%s still has its value: %s", r.ID, e.Resource)
			}
			if got := r.sourceTags(); len(got) == 0 {
				t.Errorf("held Observation/%s lost its source tags", r.ID)
			}
		case state == "" && hasValue(e.Resource):
			shown++
		}
	}
	if held == 0 || shown == 0 {
		t.Fatalf("%d held and %d released results: the record should have both", held, shown)
	}
}

// A decision's AddParams (here an app's scope limited to laboratory results) are ANDed into
// every upstream search: Epic is asked for the category and needs no fan-out.
func TestDecisionParamsNarrowUpstreamSearches(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t)
	q := records.Query{
		Decision: n.decision(t, "Observation", "patient/Observation.rs?category="+
			"http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
		Person: dana.Key, Type: "Observation", Params: values("_count", "200"),
	}
	if len(q.Decision.AddParams) == 0 {
		t.Fatal("the scoped decision adds no parameters")
	}
	res := search(t, s, q)
	if len(res.Outcomes) != 0 || len(res.Entries) == 0 {
		t.Fatalf("%d entries, outcomes %+v", len(res.Entries), res.Outcomes)
	}
	for _, u := range n.orgs {
		for _, r := range u.sent.list() {
			if got, want := r.query["category"], q.Decision.AddParams["category"]; !slices.Equal(got, want) {
				t.Errorf("%s was asked category %v, want %v", u.org.ID, got, want)
			}
		}
	}
}

// A burst of identical searches makes one upstream search per org.
func TestConcurrentSearchesShareOneUpstreamCall(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cached), func(t *testing.T) {
			n := newNetwork(t, networkOptions{})
			for _, u := range n.orgs {
				// Slow enough that every search arrives while the first is in flight.
				if err := u.server.SetFaults(fhirtest.Faults{LatencyMS: 300}); err != nil {
					t.Fatal(err)
				}
			}
			s := n.service(t, func(o *records.Options) {
				if !cached {
					o.Cache = nil
				}
			})
			q := n.query(t, "Observation", labs...)
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				sizes = make([]int, 20)
				errs  = make([]error, 20)
			)
			for i := range sizes {
				wg.Go(func() {
					<-start
					res, err := s.Search(context.Background(), q)
					if err == nil {
						sizes[i] = len(res.Entries)
						if len(res.Outcomes) > 0 {
							err = fmt.Errorf("outcomes %+v", res.Outcomes)
						}
					}
					errs[i] = err
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if slices.Min(sizes) != slices.Max(sizes) || sizes[0] == 0 {
				t.Errorf("result sizes %v differ", sizes)
			}
			for org, count := range n.searchCounts("Observation") {
				if count != 1 {
					t.Errorf("%s was searched %d times, want 1", org, count)
				}
			}
		})
	}
}

// A second search is served from the cache, and the cache holds no clinical data in clear:
// no resource and no patient id, in values or keys.
func TestCacheServesRepeatsEncrypted(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t)
	q := n.query(t, "Observation", labs...)
	first := search(t, s, q)
	before := n.searchCounts("Observation")
	second := search(t, s, q)
	if after := n.searchCounts("Observation"); !maps.Equal(before, after) {
		t.Errorf("the repeat went upstream: searches %v, then %v", before, after)
	}
	if len(first.Entries) != len(second.Entries) {
		t.Errorf("%d entries, then %d from the cache", len(first.Entries), len(second.Entries))
	}
	for i := range first.Entries {
		if !bytes.Equal(first.Entries[i].Resource, second.Entries[i].Resource) {
			t.Fatalf("entry %d differs when served from the cache", i)
		}
	}

	s.Close() // the cache is written behind the searches
	entries := 0
	err := n.kv.Scan(context.Background(), "", func(key string, value []byte) error {
		entries++
		for _, secret := range []string{"resourceType", "Observation", n.orgs[0].patient, n.orgs[1].patient, n.orgs[2].patient} {
			if bytes.Contains(value, []byte(secret)) || strings.Contains(key, secret) {
				t.Errorf("the cache holds %q in clear under %s", secret, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if entries != len(n.orgs) {
		t.Errorf("%d cache entries, want one per org (%d)", entries, len(n.orgs))
	}
}

// On every engine of the storage port: repeats come from the cache, which holds nothing in
// clear, and Invalidate makes the org be asked again.
func TestCacheOnEveryEngine(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			n := newNetwork(t, networkOptions{orgs: 2, engine: &engine})
			s := n.service(t)
			q := n.query(t, "Immunization")
			search(t, s, q)
			s.Close()
			search(t, s, q)
			for org, count := range n.searchCounts("Immunization") {
				if count != 1 {
					t.Errorf("%s was searched %d times, want 1", org, count)
				}
			}
			entries := 0
			err := n.kv.Scan(context.Background(), "records/", func(key string, value []byte) error {
				entries++
				if bytes.Contains(value, []byte("resourceType")) || strings.Contains(key, n.orgs[0].patient) {
					t.Errorf("the cache holds clinical data in clear under %s", key)
				}
				return nil
			})
			if err != nil || entries != 2 {
				t.Fatalf("%d entries (%v), want 2", entries, err)
			}
			u := n.orgs[0]
			if err := s.Invalidate(context.Background(), u.org.ID, u.patient); err != nil {
				t.Fatal(err)
			}
			search(t, s, q)
			if got := u.searches("Immunization"); got != 2 {
				t.Errorf("after Invalidate, %s was searched %d times, want 2", u.org.ID, got)
			}
		})
	}
}

// Cached answers expire at the TTL, on the injected clock.
func TestCacheExpiresAtTTL(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	const ttl = 5 * time.Minute
	s := n.service(t, func(o *records.Options) { o.CacheTTL = ttl })
	q := n.query(t, "Immunization")
	search(t, s, q)

	n.clock.Advance(ttl - time.Nanosecond)
	search(t, s, q)
	for org, count := range n.searchCounts("Immunization") {
		if count != 1 {
			t.Errorf("just before the TTL, %s was searched %d times, want 1", org, count)
		}
	}
	n.clock.Advance(time.Nanosecond)
	search(t, s, q)
	for org, count := range n.searchCounts("Immunization") {
		if count != 2 {
			t.Errorf("at the TTL, %s was searched %d times, want 2", org, count)
		}
	}
}

// Invalidate drops one record's answers: only that org is asked again, once.
func TestInvalidateForcesRefetch(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t)
	ctx := context.Background()
	labsQuery, immQuery := n.query(t, "Observation", labs...), n.query(t, "Immunization")
	search(t, s, labsQuery)
	search(t, s, immQuery)

	changed := n.org("riverbend-clinic")
	if err := s.Invalidate(ctx, changed.org.ID, changed.patient); err != nil {
		t.Fatal(err)
	}
	// Another patient's record at the org, and an org without entries: nothing to drop.
	if err := s.Invalidate(ctx, changed.org.ID, "someone-else"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		search(t, s, labsQuery)
		search(t, s, immQuery)
	}
	for _, typ := range []string{"Observation", "Immunization"} {
		for org, count := range n.searchCounts(typ) {
			want := 1
			if org == changed.org.ID {
				want = 2
			}
			if count != want {
				t.Errorf("%s searched %d times at %s, want %d", typ, count, org, want)
			}
		}
	}
	for _, bad := range [][2]string{{"", changed.patient}, {"a/b", changed.patient}, {changed.org.ID, ""}} {
		if err := s.Invalidate(ctx, bad[0], bad[1]); !errors.Is(err, records.ErrInvalidQuery) {
			t.Errorf("Invalidate(%q, %q) = %v, want ErrInvalidQuery", bad[0], bad[1], err)
		}
	}
}

// A search that began before an invalidation keeps its answer out of the cache: it may
// predate the change that caused the invalidation.
func TestInvalidateDuringSearchKeepsAnswerOut(t *testing.T) {
	n := newNetwork(t, networkOptions{orgs: 1})
	u := n.orgs[0]
	gate := make(chan struct{})
	entered := make(chan struct{}, 2)
	s := n.service(t, func(o *records.Options) {
		o.Sources = func(string) (records.Source, bool) {
			return gatedSource{Source: u.adapter, entered: entered, gate: gate}, true
		}
	})
	q := n.query(t, "Immunization")
	done := make(chan error)
	go func() {
		_, err := s.Search(context.Background(), q)
		done <- err
	}()
	<-entered
	if err := s.Invalidate(context.Background(), u.org.ID, u.patient); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	search(t, s, q)
	if got := u.searches("Immunization"); got != 2 {
		t.Errorf("searched %d times, want 2: the answer fetched across the invalidation was cached", got)
	}
}

// gatedSource signals each search it receives and holds it until the gate opens.
type gatedSource struct {
	records.Source
	entered chan<- struct{}
	gate    <-chan struct{}
}

func (g gatedSource) Search(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.Source.Search(ctx, typ, params)
}

// A cache that fails only costs time: every search goes upstream and answers in full.
func TestFailingCacheOnlyCostsTime(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	s := n.service(t, func(o *records.Options) { o.Cache = brokenKV{o.Cache} })
	q := n.query(t, "Immunization")
	for range 2 {
		if res := search(t, s, q); len(res.Outcomes) != 0 || len(res.Entries) == 0 {
			t.Fatalf("%d entries, outcomes %+v", len(res.Entries), res.Outcomes)
		}
		s.Close() // let the failed write end, so the answer is no longer held in memory
	}
	for org, count := range n.searchCounts("Immunization") {
		if count != 2 {
			t.Errorf("%s was searched %d times, want 2", org, count)
		}
	}
	if err := s.Invalidate(context.Background(), n.orgs[0].org.ID, n.orgs[0].patient); err == nil {
		t.Error("Invalidate reported no error with the store down")
	}
}

// brokenKV is a store that is down.
type brokenKV struct{ store.KV }

var errStoreDown = errors.New("store down")

func (brokenKV) Get(context.Context, string) ([]byte, error)              { return nil, errStoreDown }
func (brokenKV) Put(context.Context, string, []byte, time.Duration) error { return errStoreDown }

// With a new key first, entries sealed with the old one are still read; once the old key
// is dropped they are not, and the org is asked again.
func TestCacheKeyRotation(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	oldKey, newKey := n.keys[0], newKey(t)
	q := n.query(t, "Immunization")
	first := n.service(t)
	search(t, first, q)
	first.Close()

	rotated := n.service(t, func(o *records.Options) { o.CacheKeys = [][]byte{newKey, oldKey} })
	search(t, rotated, q)
	for org, count := range n.searchCounts("Immunization") {
		if count != 1 {
			t.Errorf("after rotation, %s was searched %d times, want 1 (old entries still readable)", org, count)
		}
	}

	rotated.Close()
	retired := n.service(t, func(o *records.Options) { o.CacheKeys = [][]byte{newKey} })
	search(t, retired, q)
	search(t, retired, q)
	for org, count := range n.searchCounts("Immunization") {
		if count != 2 {
			t.Errorf("with the old key retired, %s was searched %d times, want 2", org, count)
		}
	}
}

// The caller's cancellation ends the search with an error rather than with outcomes.
func TestSearchEndsWhenCallerGivesUp(t *testing.T) {
	n := newNetwork(t, networkOptions{})
	if err := n.orgs[0].server.SetFaults(fhirtest.Faults{LatencyMS: 5000}); err != nil {
		t.Fatal(err)
	}
	s := n.service(t, func(o *records.Options) { o.Deadline = time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := s.Search(ctx, n.query(t, "Immunization")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Search = %v, want context.Canceled", err)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	n := newNetwork(t, networkOptions{orgs: 1})
	s := n.service(t)
	good := n.query(t, "Observation", labs...)
	tests := []struct {
		name string
		edit func(*records.Query)
		want error
	}{
		{"decision denied", func(q *records.Query) { q.Decision = access.Decision{Reason: "no"} }, records.ErrNotAllowed},
		{"type outside the decision", func(q *records.Query) {
			q.Decision.Grants = []access.Grant{{Type: "Immunization", Interactions: access.ReadOnly}}
		}, records.ErrNotAllowed},
		{"no type", func(q *records.Query) { q.Type = "" }, records.ErrInvalidQuery},
		{"not a type", func(q *records.Query) { q.Type = "Observation/1" }, records.ErrInvalidQuery},
		{"no person", func(q *records.Query) { q.Person = "" }, records.ErrInvalidQuery},
		{"patient given", func(q *records.Query) { q.Params = values("patient", "x") }, records.ErrInvalidQuery},
		{"subject chained", func(q *records.Query) { q.Params = values("subject:Patient.name", "x") }, records.ErrInvalidQuery},
		{"record without patient", func(q *records.Query) {
			q.Decision.Records = []access.Record{{Org: n.orgs[0].org.ID}}
		}, records.ErrInvalidQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := good
			q.Decision.Records = slices.Clone(good.Decision.Records)
			tt.edit(&q)
			if _, err := s.Search(context.Background(), q); !errors.Is(err, tt.want) {
				t.Errorf("Search = %v, want %v", err, tt.want)
			}
		})
	}
	if got := n.orgs[0].sent.list(); len(got) != 0 {
		t.Errorf("refused queries made %d upstream requests", len(got))
	}
}

// A record at an org the service has no endpoint for is named, not dropped in silence.
func TestRecordAtUnknownOrg(t *testing.T) {
	n := newNetwork(t, networkOptions{orgs: 1})
	s := n.service(t)
	q := n.query(t, "Immunization")
	q.Decision.Records = append(q.Decision.Records, access.Record{Org: "elsewhere", Patient: "p-1"})
	res := search(t, s, q)
	if len(res.Entries) == 0 || len(res.Outcomes) != 1 || res.Outcomes[0].Org != "elsewhere" ||
		res.Outcomes[0].Code != records.CodeUnavailable {
		t.Fatalf("%d entries, outcomes %+v", len(res.Entries), res.Outcomes)
	}
}

func TestNewServiceRefusesBadOptions(t *testing.T) {
	n := newNetwork(t, networkOptions{orgs: 1})
	tests := []struct {
		name string
		edit func(*records.Options)
	}{
		{"no sources", func(o *records.Options) { o.Sources = nil }},
		{"no orgs", func(o *records.Options) { o.Orgs = nil }},
		{"org id with a slash", func(o *records.Options) { o.Orgs[0].ID = "a/b" }},
		{"org without a source", func(o *records.Options) { o.Orgs[0].Source = "" }},
		{"org listed twice", func(o *records.Options) { o.Orgs = append(o.Orgs, o.Orgs[0]) }},
		{"cache without keys", func(o *records.Options) { o.CacheKeys = nil }},
		{"AES-128 key", func(o *records.Options) { o.CacheKeys = [][]byte{make([]byte, 16)} }},
		{"short second key", func(o *records.Options) { o.CacheKeys = append(o.CacheKeys, make([]byte, 31)) }},
		{"negative deadline", func(o *records.Options) { o.Deadline = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := n.options()
			tt.edit(&opts)
			if _, err := records.NewService(opts); err == nil {
				t.Error("NewService accepted the options")
			}
		})
	}
	opts := n.options()
	opts.Cache, opts.CacheKeys = nil, nil
	if _, err := records.NewService(opts); err != nil {
		t.Errorf("NewService without a cache: %v", err)
	}
}
