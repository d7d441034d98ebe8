package accounts

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	fhir "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/gateway/store/storetest"
)

func TestConsentDefaultsToThePersonsSetting(t *testing.T) {
	f := newFixture(t)
	for person, want := range map[string]bool{"alex": true, "blake": false} {
		got, err := f.svc.Consent(t.Context(), "lakeside", person)
		if err != nil {
			t.Fatal(err)
		}
		if got.Share != want || got.Resource != nil || !got.Updated.IsZero() {
			t.Errorf("Consent(%s) = %+v, want the default share=%v and no resource", person, got, want)
		}
	}
	if _, err := f.svc.Consent(t.Context(), "lakeside", "ghost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Consent of an unknown person: %v, want ErrNotFound", err)
	}
}

func decodeConsent(t *testing.T, raw []byte) fhir.Consent {
	t.Helper()
	c, err := fhir.UnmarshalConsent(raw)
	if err != nil {
		t.Fatalf("the Consent does not decode: %v\n%s", err, raw)
	}
	return c
}

func codingOf(cc *fhir.CodeableConcept) string {
	if cc == nil || len(cc.Coding) != 1 || cc.Coding[0].System == nil || cc.Coding[0].Code == nil {
		return "?"
	}
	return *cc.Coding[0].System + "|" + *cc.Coding[0].Code
}

func TestSetConsentWritesAFHIRConsent(t *testing.T) {
	for _, tt := range []struct {
		share     bool
		provision fhir.ConsentProvisionType
		rule      string
	}{
		{true, fhir.ConsentProvisionTypePermit, actCodeSystem + "|OPTIN"},
		{false, fhir.ConsentProvisionTypeDeny, actCodeSystem + "|OPTOUT"},
	} {
		t.Run(fmt.Sprint("share=", tt.share), func(t *testing.T) {
			f := newFixture(t)
			state, err := f.svc.SetConsent(t.Context(), "lakeside", "alex", tt.share, "alex")
			if err != nil {
				t.Fatal(err)
			}
			if state.Share != tt.share || !state.Updated.Equal(start) || state.By != "alex" {
				t.Fatalf("SetConsent = %+v", state)
			}
			c := decodeConsent(t, state.Resource)
			if c.Id == nil || c.Status != fhir.ConsentStateActive {
				t.Errorf("id %v, status %v; want an id and active", c.Id, c.Status)
			}
			if got := codingOf(&c.Scope); got != consentScopeSystem+"|patient-privacy" {
				t.Errorf("scope %s", got)
			}
			if len(c.Category) != 1 || codingOf(&c.Category[0]) != "http://loinc.org|59284-0" {
				t.Errorf("category %+v, want LOINC 59284-0", c.Category)
			}
			if got := codingOf(c.PolicyRule); got != tt.rule {
				t.Errorf("policyRule %s, want %s", got, tt.rule)
			}
			wantPatient := "https://hospital.lakeside.test/fhir/Patient/h-alex"
			if c.Patient == nil || c.Patient.Reference == nil || *c.Patient.Reference != wantPatient {
				t.Errorf("patient %+v, want %s", c.Patient, wantPatient)
			}
			if len(c.Performer) != 1 || *c.Performer[0].Reference != wantPatient {
				t.Errorf("performer %+v, want the patient who chose", c.Performer)
			}
			// Chicago is on daylight time on 2026-03-10.
			if c.DateTime == nil || *c.DateTime != "2026-03-10T12:00:00-05:00" {
				t.Errorf("dateTime %v, want 2026-03-10T12:00:00-05:00", c.DateTime)
			}
			if c.Provision == nil || c.Provision.Type == nil || *c.Provision.Type != tt.provision {
				t.Fatalf("provision %+v, want type %v", c.Provision, tt.provision)
			}
			var actors []string
			for _, a := range c.Provision.Actor {
				actors = append(actors, *a.Reference.Reference)
				if codingOf(&a.Role) != participationSystem+"|IRCP" {
					t.Errorf("actor role %s", codingOf(&a.Role))
				}
			}
			if want := []string{"Organization/hospital", "Organization/clinics", "Organization/lab"}; !slices.Equal(actors, want) {
				t.Errorf("actors %v, want the affiliated orgs %v", actors, want)
			}

			got, err := f.svc.Consent(t.Context(), "lakeside", "alex")
			if err != nil || got.Share != tt.share || string(got.Resource) != string(state.Resource) {
				t.Errorf("Consent after SetConsent = %+v, %v", got, err)
			}
		})
	}
}

func TestSetConsentKeepsHistory(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var ids []string
	for i, choice := range []struct {
		share bool
		by    string
	}{{false, "blake"}, {true, "casey"}, {false, "blake"}} {
		state, err := f.svc.SetConsent(ctx, "lakeside", "blake", choice.share, choice.by)
		if err != nil {
			t.Fatal(err)
		}
		c := decodeConsent(t, state.Resource)
		ids = append(ids, *c.Id)
		if choice.by != "blake" && len(c.Performer) != 0 {
			t.Errorf("choice %d by someone else names the patient as performer", i)
		}
		f.clock.Advance(time.Hour)
	}
	history, err := f.svc.ConsentHistory(ctx, "lakeside", "blake")
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 3 {
		t.Fatalf("%d choices in history, want 3", len(history))
	}
	// Newest first: the current choice, active, then the ones it replaced, inactive.
	for i, h := range history {
		c := decodeConsent(t, h.Resource)
		want, status := len(ids)-1-i, fhir.ConsentStateInactive
		if i == 0 {
			status = fhir.ConsentStateActive
		}
		if *c.Id != ids[want] || c.Status != status || !h.Updated.Equal(start.Add(time.Duration(want)*time.Hour)) {
			t.Errorf("history %d: id %s status %v updated %v; want id %s, %v", i, *c.Id, c.Status, h.Updated, ids[want], status)
		}
	}
	if history[1].By != "casey" || !history[1].Share {
		t.Errorf("history 1 = %+v, want casey's choice to share", history[1])
	}
}

func TestConsentHistoryBeforeAnyChoice(t *testing.T) {
	f := newFixture(t)
	history, err := f.svc.ConsentHistory(t.Context(), "lakeside", "alex")
	if err != nil || history == nil || len(history) != 0 {
		t.Fatalf("ConsentHistory before any choice = %+v, %v; want none", history, err)
	}
	if _, err := f.svc.ConsentHistory(t.Context(), "lakeside", "ghost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ConsentHistory of an unknown person: %v, want ErrNotFound", err)
	}
}

func TestConcurrentConsentChangesArchiveEachOnce(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixtureOn(t, e.Open)
			const n = 12
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if _, err := f.svc.SetConsent(t.Context(), "lakeside", "alex", i%2 == 0, "alex"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			history, err := f.svc.ConsentHistory(t.Context(), "lakeside", "alex")
			if err != nil {
				t.Fatal(err)
			}
			current, err := f.svc.Consent(t.Context(), "lakeside", "alex")
			if err != nil {
				t.Fatal(err)
			}
			if len(history) == 0 || string(history[0].Resource) != string(current.Resource) {
				t.Fatalf("history does not start with the current choice")
			}
			seen := map[string]bool{}
			for _, h := range history {
				id := *decodeConsent(t, h.Resource).Id
				if seen[id] {
					t.Fatalf("consent %s kept twice", id)
				}
				seen[id] = true
			}
			if len(seen) != n {
				t.Fatalf("%d distinct consents kept, want %d", len(seen), n)
			}
		})
	}
}

func TestSetConsentRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		network, person, by string
		want                error
	}{
		{"nowhere", "alex", "alex", ErrUnknownNetwork},
		{"lakeside", "ghost", "ghost", ErrNotFound},
		{"lakeside", "alex", "", ErrInvalid},
		{"lakeside", "alex", "a b", ErrInvalid},
	} {
		if _, err := f.svc.SetConsent(t.Context(), tt.network, tt.person, true, tt.by); !errors.Is(err, tt.want) {
			t.Errorf("SetConsent(%q, %q, by %q): %v, want %v", tt.network, tt.person, tt.by, err, tt.want)
		}
	}
}
