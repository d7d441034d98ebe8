package accounts

import (
	"slices"
	"testing"
)

func orgsOf(records []Record) []string {
	orgs := []string{}
	for _, r := range records {
		orgs = append(orgs, r.Org)
	}
	return orgs
}

func TestVisible(t *testing.T) {
	f := newFixture(t)
	// Several accounts per person, each enrolled at one org.
	accounts := map[string]*Account{}
	for _, e := range []struct{ network, person, org string }{
		{"lakeside", "alex", "hospital"}, {"lakeside", "alex", "lab"},
		{"lakeside", "blake", "hospital"}, {"lakeside", "blake", "clinics"},
		{"summit", "sam", "north"}, {"summit", "sam", "south"},
	} {
		name := e.person + "@" + e.org
		accounts[name] = f.enroll(t, login{e.network, name, "192.0.2.1"}, f.issue(t, e.network, e.person, e.org))
	}

	for _, tt := range []struct {
		name    string
		account string
		want    []string
	}{
		// consent model, the person shares: every account sees every affiliated record,
		// never the external one.
		{"consenting, hospital account", "alex@hospital", []string{"hospital", "clinics", "lab"}},
		{"consenting, lab account", "alex@lab", []string{"hospital", "clinics", "lab"}},
		// consent model, the person declines: one account per org, no data crosses.
		{"declining, hospital account", "blake@hospital", []string{"hospital"}},
		{"declining, clinics account", "blake@clinics", []string{"clinics"}},
		// network model: consent does not split accounts.
		{"network model, north account", "sam@north", []string{"north", "south"}},
		{"network model, south account", "sam@south", []string{"north", "south"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.Visible(t.Context(), accounts[tt.account])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(orgsOf(got), tt.want) {
				t.Fatalf("Visible = %v, want %v", orgsOf(got), tt.want)
			}
			person, _ := f.svc.Person(t.Context(), accounts[tt.account].Network, accounts[tt.account].Person)
			for _, r := range got {
				if want, _ := person.Record(r.Org); r != want {
					t.Errorf("record %+v, want the person's %+v", r, want)
				}
			}
		})
	}
}

func TestVisibleFollowsConsentAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	hospital := f.enroll(t, login{"lakeside", "blake-h", "192.0.2.1"}, f.issue(t, "lakeside", "blake", "hospital"))
	clinics := f.enroll(t, login{"lakeside", "blake-c", "192.0.2.1"}, f.issue(t, "lakeside", "blake", "clinics"))
	sam := f.enroll(t, login{"summit", "sam", "192.0.2.1"}, f.issue(t, "summit", "sam", "north"))

	steps := []struct {
		network, person string
		share           bool
		want            map[*Account][]string
	}{
		{"lakeside", "blake", true, map[*Account][]string{
			hospital: {"hospital", "clinics"}, clinics: {"hospital", "clinics"},
		}},
		{"lakeside", "blake", false, map[*Account][]string{
			hospital: {"hospital"}, clinics: {"clinics"},
		}},
		{"summit", "sam", false, map[*Account][]string{sam: {"north", "south"}}},
		{"summit", "sam", true, map[*Account][]string{sam: {"north", "south"}}},
	}
	for i, step := range steps {
		if _, err := f.svc.SetConsent(ctx, step.network, step.person, step.share, step.person); err != nil {
			t.Fatal(err)
		}
		for acct, want := range step.want {
			got, err := f.svc.Visible(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(orgsOf(got), want) {
				t.Errorf("step %d (share=%v): account at %s sees %v, want %v", i, step.share, acct.HomeOrg, orgsOf(got), want)
			}
		}
	}
}

func TestVisibleFollowsRecordsAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	acct := f.enroll(t, login{"lakeside", "alex", "192.0.2.1"}, f.issue(t, "lakeside", "alex", "lab"))
	alex, err := f.svc.Person(ctx, "lakeside", "alex")
	if err != nil {
		t.Fatal(err)
	}
	alex.Records = slices.DeleteFunc(alex.Records, func(r Record) bool { return r.Org == "clinics" })
	f.putPerson(t, *alex)
	got, err := f.svc.Visible(ctx, acct)
	if err != nil || !slices.Equal(orgsOf(got), []string{"hospital", "lab"}) {
		t.Fatalf("Visible after dropping a record = %v, %v", orgsOf(got), err)
	}
}

func TestVisibleRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.Visible(ctx, nil); err == nil {
		t.Error("Visible(nil) succeeded")
	}
	if _, err := f.svc.Visible(ctx, &Account{Network: "nowhere", Person: "alex"}); err == nil {
		t.Error("Visible for an unknown network succeeded")
	}
	if _, err := f.svc.Visible(ctx, &Account{Network: "lakeside", Person: "ghost"}); err == nil {
		t.Error("Visible for an unknown person succeeded")
	}
}
