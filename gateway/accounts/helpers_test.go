package accounts

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

// start is the fake clock's first reading: a Tuesday in March 2026, after the switch to
// daylight saving time in Chicago (UTC-5).
var start = time.Date(2026, time.March, 10, 17, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand, shared by the service and the bolt store.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is a service on a fresh store, with the test networks and people.
type fixture struct {
	svc   *Service
	clock *fakeClock
	cfg   *tenants.Config
}

var testConfig = sync.OnceValues(func() (*tenants.Config, error) {
	return tenants.LoadFile(filepath.Join("testdata", "networks.yaml"), tenants.WithEnv(nil))
})

// newFixture returns a fixture on bolt.
func newFixture(t *testing.T) *fixture { return newFixtureOn(t, storetest.Bolt) }

// newFixtureOn returns a fixture on a store from open, which shares the fixture's clock.
func newFixtureOn(t *testing.T, open func(testing.TB, func() time.Time) store.Store) *fixture {
	t.Helper()
	cfg, err := testConfig()
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: start}
	svc, err := NewService(open(t, clock.Now), Options{Networks: cfg.Network, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, clock: clock, cfg: cfg}
	for _, p := range testPeople {
		f.putPerson(t, p)
	}
	return f
}

func date(y int, m time.Month, d int) tenants.Date { return tenants.Date{Year: y, Month: m, Day: d} }

// testPeople: in lakeside (consent model) alex shares and blake declines; in summit (network
// model) sam declines, which changes nothing there.
var testPeople = []Person{
	{
		ID: "alex", Network: "lakeside", Given: "Alex", Family: "Rivera", BirthDate: date(1984, 5, 1),
		Records: []Record{
			{Org: "hospital", Patient: "h-alex"}, {Org: "clinics", Patient: "c-alex"},
			{Org: "lab", Patient: "l-alex"}, {Org: "riverbend", Patient: "r-alex"},
		},
		ShareAcrossNetwork: true,
	},
	{
		ID: "blake", Network: "lakeside", Given: "Blake", Family: "Chen", BirthDate: date(1991, 1, 20),
		Records: []Record{{Org: "hospital", Patient: "h-blake"}, {Org: "clinics", Patient: "c-blake"}},
	},
	{
		ID: "casey", Network: "lakeside", BirthDate: date(1987, 7, 7),
		Records: []Record{{Org: "clinics", Patient: "c-casey"}}, ShareAcrossNetwork: true,
	},
	{
		ID: "mia", Network: "lakeside", BirthDate: date(2019, 2, 2),
		Records: []Record{{Org: "hospital", Patient: "h-mia"}}, ShareAcrossNetwork: true,
	},
	{
		ID: "noah", Network: "lakeside", BirthDate: date(2014, 2, 2),
		Records: []Record{{Org: "clinics", Patient: "c-noah"}}, ShareAcrossNetwork: true,
	},
	{
		ID: "sam", Network: "summit", BirthDate: date(1970, 12, 31),
		Records: []Record{
			{Org: "north", Patient: "n-sam"}, {Org: "elsewhere", Patient: "e-sam"}, {Org: "south", Patient: "s-sam"},
		},
	},
}

func (f *fixture) putPerson(t *testing.T, p Person) {
	t.Helper()
	if err := f.svc.PutPerson(t.Context(), p); err != nil {
		t.Fatalf("PutPerson(%s): %v", p.ID, err)
	}
}

func (f *fixture) network(t *testing.T, id string) *tenants.Network {
	t.Helper()
	n, ok := f.cfg.Network(id)
	if !ok {
		t.Fatalf("no network %s", id)
	}
	return n
}

// issue issues an activation code.
func (f *fixture) issue(t *testing.T, network, person, org string) string {
	t.Helper()
	code, _ := f.issueKind(t, network, person, org, tenants.ActivationCode)
	return code
}

func (f *fixture) issueKind(t *testing.T, network, person, org string, kind tenants.CodeKind) (string, time.Time) {
	t.Helper()
	code, expires, err := f.svc.IssueCode(t.Context(), network, person, org, kind)
	if err != nil {
		t.Fatalf("IssueCode(%s, %s): %v", person, org, err)
	}
	return code, expires
}

// login is a redemption without its code, for brevity.
type login struct{ network, subject, ip string }

func (l login) with(code string) Redemption {
	issuer := "https://idp." + l.network + ".test"
	return Redemption{Network: l.network, Issuer: issuer, Subject: l.subject, Code: code, ClientIP: l.ip}
}

// enroll redeems a code and fails the test if that does not work.
func (f *fixture) enroll(t *testing.T, l login, code string) *Account {
	t.Helper()
	acct, err := f.svc.Redeem(t.Context(), l.with(code))
	if err != nil {
		t.Fatalf("Redeem for %s: %v", l.subject, err)
	}
	return acct
}

// wrongCode is well formed but never issued.
const wrongCode = "00000-00000-00000"
