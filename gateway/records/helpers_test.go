package records_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalgate/portalgate/adapters"
	_ "github.com/portalgate/portalgate/adapters/all"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/synth"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/records"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

// testNow anchors the generated records, the access decisions and the cache's clock.
var testNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

const synthSeed = 7

// dana is the person whose records three orgs hold.
var dana = synth.Person{
	Key: "dana", Given: "Dana", Family: "Okafor", Gender: "female",
	BirthDate: time.Date(1981, 5, 14, 0, 0, 0, 0, time.UTC),
}

// orgSpecs are the three orgs, most trusted first, each on another platform.
var orgSpecs = []struct{ id, name, platform string }{
	{"lakeside-hospital", "Lakeside Hospital", "epic"},
	{"riverbend-clinic", "Riverbend Clinic", "cerner"},
	{"summit-health", "Summit Health", "athena"},
}

// clock is a concurrency-safe clock that moves only when told.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(testNow.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// upstream is one org: a fhirtest server imitating its platform, holding Dana's record, with
// an adapter in front.
type upstream struct {
	org     fhir.SourceOrg
	server  *fhirtest.TestServer
	adapter *adapters.Adapter
	patient string      // Dana's Patient id there
	sent    *requestLog // what the adapter sent the server
}

// searches counts the searches of typ sent to the org (later pages not included).
func (u *upstream) searches(typ string) int {
	n := 0
	for _, r := range u.sent.list() {
		if r.path == "/"+typ {
			n++
		}
	}
	return n
}

// requestLog records the requests sent to an upstream, on the client's side. The fhirtest
// server logs a request once its handler returns, which can be after the client has read
// the whole reply: a test reading the server's log right after a search may miss the last
// request. What the client sent is known when the search returns.
type requestLog struct {
	base string // the path of the FHIR base, such as "/fhir"
	next http.RoundTripper

	mu   sync.Mutex
	sent []sentRequest
}

type sentRequest struct {
	path  string // relative to the base, such as "/Observation"
	query url.Values
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.sent = append(l.sent, sentRequest{path: strings.TrimPrefix(r.URL.Path, l.base), query: r.URL.Query()})
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *requestLog) list() []sentRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sent)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = nil
}

// network is Dana's three orgs, a cache store and the keys to it.
type network struct {
	clock *clock
	orgs  []*upstream
	kv    store.Store
	keys  [][]byte
}

type networkOptions struct {
	// records generates each org's resources; Dana's whole synthetic record when nil.
	records func(t testing.TB, org synth.Org) []json.RawMessage
	orgs    int // how many of orgSpecs; all when 0
	// engine holds the cache; bbolt on the test's clock when nil.
	engine *storetest.Engine
}

func newNetwork(t testing.TB, opts networkOptions) *network {
	t.Helper()
	if opts.records == nil {
		opts.records = danaRecord
	}
	n := &network{clock: newClock(), keys: [][]byte{newKey(t)}}
	specs := orgSpecs
	if opts.orgs > 0 {
		specs = specs[:opts.orgs]
	}
	for _, spec := range specs {
		p := platform(t, spec.platform)
		ts := fhirtest.NewTestServer(fhirtest.WithPlatform(p))
		t.Cleanup(ts.Close)
		if err := ts.Load(opts.records(t, synth.Org{ID: spec.id, Name: spec.name, Platform: spec.platform})...); err != nil {
			t.Fatal(err)
		}
		base, err := url.Parse(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		sent := &requestLog{base: base.Path, next: ts.Client().Transport}
		a, err := adapters.New(
			adapters.Endpoint{Name: spec.id, BaseURL: ts.URL, Platform: p, Auth: adapters.Auth{Kind: adapters.AuthNone}},
			// One attempt: fault tests see the fault, not the retries.
			adapters.Options{HTTPClient: &http.Client{Transport: sent}, Retry: adapters.RetryPolicy{MaxAttempts: 1}},
		)
		if err != nil {
			t.Fatal(err)
		}
		n.orgs = append(n.orgs, &upstream{
			org:     fhir.SourceOrg{ID: spec.id, Name: spec.name, Source: ts.URL},
			server:  ts,
			adapter: a,
			patient: synth.PatientID(dana.Key, spec.id, synthSeed),
			sent:    sent,
		})
	}
	openStore := storetest.Bolt
	if opts.engine != nil {
		openStore = opts.engine.Open
	}
	n.kv = openStore(t, n.clock.Now)
	return n
}

// generated keeps each org's generated record: generation is deterministic, and slow
// enough to be worth doing once.
var generated sync.Map // synth.Org → []json.RawMessage

func danaRecord(t testing.TB, org synth.Org) []json.RawMessage {
	t.Helper()
	if recs, ok := generated.Load(org); ok {
		return recs.([]json.RawMessage)
	}
	recs, err := synth.Record(dana, org, synth.Options{Now: testNow, Seed: synthSeed})
	if err != nil {
		t.Fatal(err)
	}
	generated.Store(org, recs)
	return recs
}

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, records.CacheKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// platform reads the shipped quirk file of a platform.
func platform(t testing.TB, name string) fhir.Platform {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "platforms", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := fhir.ParsePlatform(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// options are the service's options over the network, cache on.
func (n *network) options() records.Options {
	var orgs []fhir.SourceOrg
	for _, u := range n.orgs {
		orgs = append(orgs, u.org)
	}
	return records.Options{
		Sources: func(org string) (records.Source, bool) {
			for _, u := range n.orgs {
				if u.org.ID == org {
					return u.adapter, true
				}
			}
			return nil, false
		},
		Orgs:      orgs,
		Cache:     n.kv,
		CacheKeys: n.keys,
		Now:       n.clock.Now,
	}
}

func (n *network) service(t testing.TB, edit ...func(*records.Options)) *records.Service {
	t.Helper()
	opts := n.options()
	for _, e := range edit {
		e(&opts)
	}
	s, err := records.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// decision is the access decision for Dana searching her own records of typ at every org,
// on the portal, or as an app when scopes are given; the network holds the generator's
// sensitive results for a clinician.
func (n *network) decision(t testing.TB, typ string, scopes ...string) access.Decision {
	t.Helper()
	policy, ok := tenants.Preset(tenants.PresetSeed)
	if !ok {
		t.Fatal("no seed preset")
	}
	for _, s := range synth.DefaultSensitiveCodes() {
		tok, err := tenants.ParseCodeToken(s)
		if err != nil {
			t.Fatal(err)
		}
		policy.Results.HeldForClinician = append(policy.Results.HeldForClinician, tok)
	}
	decider, err := access.NewDecider(access.Options{
		Networks: networks{"lakeside": {ID: "lakeside", AccountModel: tenants.AccountModelConsent, Policy: policy}},
		Now:      n.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	actor := access.Actor{Network: "lakeside", Account: "acct-dana", Person: dana.Key, Scopes: scopes}
	purpose := access.PurposePortal
	if len(scopes) > 0 {
		actor.Client, purpose = "healthapp", access.PurposeApp
	}
	for _, u := range n.orgs {
		actor.Records = append(actor.Records, access.Record{Org: u.org.ID, Patient: u.patient})
	}
	d, err := decider.Decide(context.Background(), access.Request{
		Actor: actor, Subject: dana.Key, Purpose: purpose, Interaction: access.Search, ResourceType: typ,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed {
		t.Fatalf("decision refused: %s", d.Reason)
	}
	return d
}

// query is Dana's search of typ with params ("name", "value", ...).
func (n *network) query(t testing.TB, typ string, params ...string) records.Query {
	t.Helper()
	return records.Query{Decision: n.decision(t, typ), Person: dana.Key, Type: typ, Params: values(params...)}
}

func (n *network) org(id string) *upstream {
	for _, u := range n.orgs {
		if u.org.ID == id {
			return u
		}
	}
	panic("no org " + id)
}

// searchCounts returns how many searches of typ each org has answered.
func (n *network) searchCounts(typ string) map[string]int {
	counts := map[string]int{}
	for _, u := range n.orgs {
		counts[u.org.ID] = u.searches(typ)
	}
	return counts
}

type networks map[string]*tenants.Network

func (n networks) Network(id string) (*tenants.Network, bool) { nw, ok := n[id]; return nw, ok }

func values(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// labs is the search of laboratory results, on one page at every org.
var labs = []string{"category", "laboratory", "_count", "200"}

// resource is what the tests read of a returned resource.
type resource struct {
	ResourceType string
	ID           string
	Meta         struct {
		Source   string
		Tag      []fhir.Coding
		Security []fhir.Coding
	}
	Code struct{ Coding []fhir.Coding }
}

func decode(t testing.TB, raw json.RawMessage) resource {
	t.Helper()
	var r resource
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sourceTags returns the orgs a resource's source tags name.
func (r resource) sourceTags() []string {
	var orgs []string
	for _, tag := range r.Meta.Tag {
		if tag.System == fhir.SourceOrgTagSystem {
			orgs = append(orgs, tag.Code)
		}
	}
	slices.Sort(orgs)
	return orgs
}

func sourceOrgs(e fhir.Merged) []string {
	var orgs []string
	for _, c := range e.Sources {
		orgs = append(orgs, c.Org)
	}
	slices.Sort(orgs)
	return orgs
}

// hasValue reports whether a resource carries any value[x] element.
func hasValue(raw json.RawMessage) bool {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return true
	}
	for k := range members {
		if strings.HasPrefix(k, "value") {
			return true
		}
	}
	return false
}

func search(t testing.TB, s *records.Service, q records.Query) *records.Result {
	t.Helper()
	res, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
