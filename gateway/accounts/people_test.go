package accounts

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

func TestPutPersonValidates(t *testing.T) {
	f := newFixture(t)
	valid := Person{ID: "pat", Network: "lakeside", BirthDate: date(1990, 1, 1), Records: []Record{{Org: "hospital", Patient: "h-1"}}}
	for _, tt := range []struct {
		name   string
		change func(*Person)
		want   error
	}{
		{"unknown network", func(p *Person) { p.Network = "nowhere" }, ErrUnknownNetwork},
		{"no id", func(p *Person) { p.ID = "" }, ErrInvalid},
		{"id with a slash", func(p *Person) { p.ID = "a/b" }, ErrInvalid},
		{"id too long", func(p *Person) { p.ID = strings.Repeat("a", 65) }, ErrInvalid},
		{"no birth date", func(p *Person) { p.BirthDate = tenants.Date{} }, ErrInvalid},
		{"born tomorrow", func(p *Person) { p.BirthDate = tenants.DateOf(start).AddDate(0, 0, 1) }, ErrInvalid},
		{"unknown gender", func(p *Person) { p.Gender = "f" }, ErrInvalid},
		{"unknown org", func(p *Person) { p.Records = []Record{{Org: "north", Patient: "x"}} }, ErrInvalid},
		{"two records at one org", func(p *Person) { p.Records = append(p.Records, Record{Org: "hospital", Patient: "h-2"}) }, ErrInvalid},
		{"no patient id", func(p *Person) { p.Records[0].Patient = "" }, ErrInvalid},
		{"bad patient id", func(p *Person) { p.Records[0].Patient = "Patient/1" }, ErrInvalid},
	} {
		p := valid
		p.Records = slices.Clone(valid.Records)
		tt.change(&p)
		if err := f.svc.PutPerson(t.Context(), p); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := f.svc.PutPerson(t.Context(), valid); err != nil {
		t.Fatalf("a valid person: %v", err)
	}
	got, err := f.svc.Person(t.Context(), "lakeside", "pat")
	if err != nil || got.BirthDate != valid.BirthDate || !slices.Equal(got.Records, valid.Records) {
		t.Fatalf("Person = %+v, %v; want %+v", got, err, valid)
	}
	if _, err := f.svc.Person(t.Context(), "summit", "pat"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the person in another network: %v, want ErrNotFound", err)
	}
}

func TestProxyGrants(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	granted := start.Add(-24 * time.Hour)
	for _, g := range []ProxyGrant{
		{Actor: "casey", Subject: "noah", Relationship: tenants.RelParent},
		{Actor: "casey", Subject: "mia", Relationship: tenants.RelParent, Granted: granted},
		{Actor: "alex", Subject: "blake", Relationship: tenants.RelFriend},
	} {
		if err := f.svc.PutProxy(ctx, "lakeside", g); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.svc.ActsFor(ctx, "lakeside", "casey")
	if err != nil {
		t.Fatal(err)
	}
	want := []ProxyGrant{
		{Actor: "casey", Subject: "mia", Relationship: tenants.RelParent, Granted: granted},
		{Actor: "casey", Subject: "noah", Relationship: tenants.RelParent, Granted: start},
	}
	sameGrant := func(a, b ProxyGrant) bool {
		return a.Actor == b.Actor && a.Subject == b.Subject && a.Relationship == b.Relationship && a.Granted.Equal(b.Granted)
	}
	if !slices.EqualFunc(got, want, sameGrant) {
		t.Fatalf("ActsFor(casey) = %+v, want %+v", got, want)
	}
	if got, err := f.svc.ActsFor(ctx, "lakeside", "mia"); err != nil || len(got) != 0 {
		t.Errorf("ActsFor(mia) = %+v, %v; want none", got, err)
	}

	for _, tt := range []struct {
		name  string
		grant ProxyGrant
		want  error
	}{
		{"self", ProxyGrant{Actor: "casey", Subject: "casey", Relationship: tenants.RelParent}, ErrInvalid},
		{"unknown subject", ProxyGrant{Actor: "casey", Subject: "ghost", Relationship: tenants.RelParent}, ErrNotFound},
		{"unknown actor", ProxyGrant{Actor: "ghost", Subject: "mia", Relationship: tenants.RelParent}, ErrNotFound},
		{"unknown relationship", ProxyGrant{Actor: "casey", Subject: "mia", Relationship: "neighbour"}, ErrInvalid},
		{"another network's person", ProxyGrant{Actor: "casey", Subject: "sam", Relationship: tenants.RelFriend}, ErrNotFound},
	} {
		if err := f.svc.PutProxy(ctx, "lakeside", tt.grant); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestARecordBelongsToOnePerson(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	pat := func(records ...Record) Person {
		return Person{ID: "pat", Network: "lakeside", BirthDate: date(1990, 1, 1), Records: records}
	}
	personOf := func(network, id string) *Person {
		t.Helper()
		p, err := f.svc.Person(ctx, network, id)
		if err != nil {
			t.Fatalf("Person(%s): %v", id, err)
		}
		return p
	}

	// Alex holds h-alex at the hospital: nobody else gets it, and a refused person is not
	// stored, nor keeps the records it claimed on the way.
	for _, p := range []Person{
		pat(Record{"hospital", "h-alex"}),
		pat(Record{"clinics", "c-pat"}, Record{"hospital", "h-alex"}),
	} {
		if err := f.svc.PutPerson(ctx, p); !errors.Is(err, ErrConflict) {
			t.Fatalf("PutPerson(%+v) = %v, want ErrConflict", p.Records, err)
		}
	}
	if _, err := f.svc.Person(ctx, "lakeside", "pat"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused person was stored: %v", err)
	}
	f.putPerson(t, Person{ID: "quinn", Network: "lakeside", BirthDate: date(1990, 1, 1), Records: []Record{{"clinics", "c-pat"}}})

	// The same patient id elsewhere is another record.
	f.putPerson(t, pat(Record{"lab", "h-alex"}))
	f.putPerson(t, Person{ID: "pat", Network: "summit", BirthDate: date(1990, 1, 1), Records: []Record{{"north", "h-alex"}}})

	// A person's own records can be stored again, in any order.
	alex := personOf("lakeside", "alex")
	slices.Reverse(alex.Records)
	f.putPerson(t, *alex)

	// Records a person no longer lists are free for others; a changed patient id at an org
	// frees the old one.
	alex.Records = slices.DeleteFunc(alex.Records, func(r Record) bool { return r.Org == "hospital" })
	alex.Records = append(alex.Records, Record{"hospital", "h-alex-2"})
	f.putPerson(t, *alex)
	f.putPerson(t, pat(Record{"lab", "h-alex"}, Record{"hospital", "h-alex"}))

	// Alex cannot take it back, and stays as they were.
	before := personOf("lakeside", "alex")
	back := *before
	back.Records = append(slices.Clone(back.Records), Record{"hospital", "h-alex"})
	back.Records = slices.DeleteFunc(back.Records, func(r Record) bool { return r.Patient == "h-alex-2" })
	if err := f.svc.PutPerson(ctx, back); !errors.Is(err, ErrConflict) {
		t.Fatalf("giving a record back to its former holder: %v, want ErrConflict", err)
	}
	if after := personOf("lakeside", "alex"); !slices.Equal(after.Records, before.Records) {
		t.Fatalf("a refused change altered alex: %+v, want %+v", after.Records, before.Records)
	}
	f.putPerson(t, Person{ID: "rae", Network: "lakeside", BirthDate: date(1990, 1, 1), Records: []Record{{"hospital", "h-alex-3"}}})
	if err := f.svc.PutPerson(ctx, Person{ID: "sol", Network: "lakeside", BirthDate: date(1990, 1, 1), Records: []Record{{"hospital", "h-alex-2"}}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("alex's refused change released h-alex-2: %v", err)
	}
}

func TestLeftBehindRecordClaimIsTakenOverOnlyWhenStale(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// Claims a write cut short left behind: by someone never stored, and by a stored person
	// who does not list the record.
	for _, claim := range []struct {
		holder string
		record Record
	}{{"ghost", Record{"lab", "l-left"}}, {"blake", Record{"clinics", "c-left"}}} {
		raw, err := json.Marshal(recordClaim{Person: claim.holder, Claimed: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.kv.Put(ctx, recordKey("lakeside", claim.record), raw, 0); err != nil {
			t.Fatal(err)
		}
		p := Person{ID: "pat-" + claim.record.Org, Network: "lakeside", BirthDate: date(1990, 1, 1), Records: []Record{claim.record}}
		// While the write could still be under way, the claim stands.
		f.clock.Advance(DefaultTimeout + expirySlack)
		if err := f.svc.PutPerson(ctx, p); !errors.Is(err, ErrConflict) {
			t.Fatalf("a claim by %s as old as a call may take: %v, want ErrConflict", claim.holder, err)
		}
		f.clock.Advance(time.Nanosecond)
		f.putPerson(t, p)
	}
}

func TestConcurrentClaimsOfOneRecord(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixtureOn(t, e.Open)
			const n = 12
			results := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					results[i] = f.svc.PutPerson(t.Context(), Person{
						ID: fmt.Sprintf("racer-%d", i), Network: "lakeside", BirthDate: date(1990, 1, 1),
						Records: []Record{{"lab", fmt.Sprintf("l-%d", i)}, {"hospital", "h-shared"}},
					})
				})
			}
			wg.Wait()
			winners := 0
			for i, err := range results {
				_, stored := f.svc.Person(t.Context(), "lakeside", fmt.Sprintf("racer-%d", i))
				switch {
				case err == nil && stored == nil:
					winners++
				case errors.Is(err, ErrConflict) && errors.Is(stored, ErrNotFound):
				default:
					t.Errorf("racer %d: %v, stored: %v", i, err, stored)
				}
			}
			if winners != 1 {
				t.Fatalf("%d people hold one record, want 1", winners)
			}
		})
	}
}

func TestNewServiceNeedsNetworks(t *testing.T) {
	if _, err := NewService(nil, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewService(nil): %v", err)
	}
	if _, err := NewService(storetest.Bolt(t, time.Now), Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewService without Networks: %v", err)
	}
}
