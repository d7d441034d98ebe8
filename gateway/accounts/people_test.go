package accounts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestAccountsOfAPerson(t *testing.T) {
	f := newFixture(t)
	first := f.enroll(t, login{"lakeside", "blake-1", "192.0.2.1"}, f.issue(t, "lakeside", "blake", "hospital"))
	f.clock.Advance(time.Minute)
	second := f.enroll(t, login{"lakeside", "blake-2", "192.0.2.1"}, f.issue(t, "lakeside", "blake", "clinics"))
	f.enroll(t, login{"lakeside", "alex-1", "192.0.2.1"}, f.issue(t, "lakeside", "alex", "clinics"))
	got, err := f.svc.Accounts(t.Context(), "lakeside", "blake")
	if err != nil || !slices.Equal(got, []Account{*first, *second}) {
		t.Fatalf("Accounts(blake) = %+v, %v", got, err)
	}
}

func TestNewServiceNeedsNetworks(t *testing.T) {
	if _, err := NewService(nil, Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewService(nil): %v", err)
	}
	if _, err := NewService(openBolt(t, &fakeClock{now: start}), Options{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewService without Networks: %v", err)
	}
}
