package synth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/fhir/synth"
)

var orgShared = synth.Org{ID: "shared", Name: "Shared Data Hospital", Platform: "smart"}

func TestAugmentSharedPatients(t *testing.T) {
	for name, existing := range sharedBundles(t) {
		t.Run(name, func(t *testing.T) {
			added, err := synth.Augment(existing, orgShared, opts())
			if err != nil {
				t.Fatal(err)
			}
			if again := mustAugment(t, existing); !slices.EqualFunc(added, again, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }) {
				t.Error("two runs differ")
			}
			rs := checkResources(t, added, existing, testNow)
			old := decodeAll(t, existing)
			patients := ofType(old, "Patient")
			if len(patients) != 1 {
				t.Fatalf("%d patients in the bundle", len(patients))
			}
			patient := patients[0]

			for _, kind := range []string{"Schedule", "Slot", "Appointment", "Communication", "Account", "Invoice", "Encounter", "DiagnosticReport"} {
				if len(ofType(rs, kind)) == 0 {
					t.Errorf("no %s added", kind)
				}
			}
			for _, kind := range []string{"Coverage", "RelatedPerson"} {
				if len(ofType(old, kind)) > 0 && len(ofType(rs, kind)) > 0 {
					t.Errorf("a %s is added though the patient has one", kind)
				}
			}
			if len(ofType(old, "Coverage")) == 0 && len(ofType(rs, "Coverage")) == 0 {
				t.Error("no Coverage added")
			}
			for _, kind := range []string{"Condition", "MedicationRequest", "Immunization", "AllergyIntolerance", "Procedure"} {
				if n := len(ofType(rs, kind)); n > 0 {
					t.Errorf("%d %s invented for a loaded patient", n, kind)
				}
			}
			// Every added patient reference is to the loaded patient, and
			// every schedule to a loaded practitioner when there are some.
			practitioners := map[string]bool{}
			for _, p := range ofType(old, "Practitioner") {
				practitioners[p.ref()] = true
			}
			for _, r := range rs {
				for _, ref := range references(t, r.raw) {
					if strings.HasPrefix(ref, "Patient/") && ref != patient.ref() {
						t.Errorf("%s refers to %s, not to %s", r.ref(), ref, patient.ref())
					}
				}
			}
			for _, r := range ofType(rs, "Schedule") {
				s := unmarshal[r4.Schedule](t, r.raw)
				if len(practitioners) > 0 && !practitioners[*s.Actor[0].Reference] {
					t.Errorf("%s is for %s, not a loaded practitioner", r.ref(), *s.Actor[0].Reference)
				}
			}
			recent := false
			for _, r := range ofType(rs, "DiagnosticReport") {
				issued := mustTime(t, *unmarshal[r4.DiagnosticReport](t, r.raw).Issued)
				recent = recent || testNow.Sub(issued) < synth.RecentResultDays*24*time.Hour
			}
			if !recent {
				t.Error("no result issued in the last four days")
			}
		})
	}
}

// TestAugmentFamilyOfMinors: a loaded child without family on file gets
// both parents, one of whom is the guarantor.
func TestAugmentFamilyOfMinors(t *testing.T) {
	bundles := sharedBundles(t)
	existing, ok := bundles["synthea/Luigi_Wiegand.json"]
	if !ok {
		t.Skip("Luigi_Wiegand.json is not in the shared data")
	}
	rs := decodeAll(t, mustAugment(t, existing))
	var roles []string
	for _, r := range ofType(rs, "RelatedPerson") {
		roles = append(roles, codeOf(unmarshal[r4.RelatedPerson](t, r.raw).Relationship[0]))
	}
	slices.Sort(roles)
	if !slices.Equal(roles, []string{"FTH", "MTH"}) {
		t.Errorf("relatives %v, want both parents", roles)
	}
	acct := unmarshal[r4.Account](t, ofType(rs, "Account")[0].raw)
	if !strings.HasPrefix(*acct.Guarantor[0].Party.Reference, "RelatedPerson/") {
		t.Errorf("a six-year-old's guarantor is %s", *acct.Guarantor[0].Party.Reference)
	}
}

func mustAugment(t testing.TB, existing []json.RawMessage) []json.RawMessage {
	t.Helper()
	added, err := synth.Augment(existing, orgShared, opts())
	if err != nil {
		t.Fatal(err)
	}
	return added
}

// TestAugmentSeveralPatients loads patients who may share practitioners into
// one set: their appointments never hold the same slot.
func TestAugmentSeveralPatients(t *testing.T) {
	var existing []json.RawMessage
	for _, rs := range sharedBundles(t) {
		existing = append(existing, rs...)
	}
	added, err := synth.Augment(existing, orgShared, opts())
	if err != nil {
		t.Fatal(err)
	}
	rs := checkResources(t, added, existing, testNow)
	held := map[string]string{}
	for _, r := range ofType(rs, "Appointment") {
		for _, s := range unmarshal[r4.Appointment](t, r.raw).Slot {
			if other, ok := held[*s.Reference]; ok {
				t.Errorf("%s is held by %s and %s", *s.Reference, other, r.ref())
			}
			held[*s.Reference] = r.ref()
		}
	}
}

func TestAugmentBadInput(t *testing.T) {
	patient := json.RawMessage(`{"resourceType":"Patient","id":"p1","name":[{"family":"Doe","given":["Jo"]}],"gender":"female","birthDate":"1990-02-03"}`)
	for _, tc := range []struct {
		name     string
		existing []json.RawMessage
	}{
		{"nothing", nil},
		{"no patient", []json.RawMessage{json.RawMessage(`{"resourceType":"Practitioner","id":"d1"}`)}},
		{"not JSON", []json.RawMessage{patient, json.RawMessage(`{"resourceType":`)}},
		{"no id", []json.RawMessage{json.RawMessage(`{"resourceType":"Patient","birthDate":"1990-02-03"}`)}},
		{"no birth date", []json.RawMessage{json.RawMessage(`{"resourceType":"Patient","id":"p2"}`)}},
		{"born later", []json.RawMessage{json.RawMessage(`{"resourceType":"Patient","id":"p3","birthDate":"2030-01-01"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := synth.Augment(tc.existing, orgShared, opts()); !errors.Is(err, synth.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := synth.Augment([]json.RawMessage{patient}, synth.Org{ID: "bad id"}, opts()); !errors.Is(err, synth.ErrInvalid) {
		t.Errorf("bad org: got %v, want ErrInvalid", err)
	}
}

// TestAugmentMinimalPatient: a bare Patient, with no practitioner,
// organization or encounter on file, still gets a complete set that refers
// only to itself and the patient.
func TestAugmentMinimalPatient(t *testing.T) {
	existing := []json.RawMessage{json.RawMessage(`{"resourceType":"Patient","id":"p1","birthDate":"2015-06"}`)}
	added, err := synth.Augment(existing, orgShared, opts())
	if err != nil {
		t.Fatal(err)
	}
	rs := checkResources(t, added, existing, testNow)
	for _, kind := range []string{"Organization", "Location", "Practitioner", "Schedule", "Slot", "Appointment", "Account", "Invoice"} {
		if len(ofType(rs, kind)) == 0 {
			t.Errorf("no %s", kind)
		}
	}
}

func FuzzAugment(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/p1"},"period":{"start":"2026-01-02T10:00:00Z"},"participant":[{"individual":{"reference":"Practitioner/d1"}}]}`))
	f.Add([]byte(`{"resourceType":"RelatedPerson","id":"r1","patient":{"reference":"Patient/p1"},"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}]}`))
	f.Add([]byte(`{"resourceType":"PractitionerRole","id":"pr","practitioner":{"reference":"Practitioner/d1"},"specialty":[{"coding":[{"system":"http://nucc.org/provider-taxonomy","code":"207N00000X"}]}]}`))
	f.Add([]byte(`{"resourceType":"Organization","id":"o1","name":7}`))
	f.Add([]byte(`{"resourceType":"Patient","id":"p2","birthDate":"1900"}`))
	f.Add([]byte(`[]`))
	base := []json.RawMessage{
		json.RawMessage(`{"resourceType":"Patient","id":"p1","name":[{"given":["Jo"],"family":"Doe"}],"gender":"male","birthDate":"2001-07-08"}`),
		json.RawMessage(`{"resourceType":"Practitioner","id":"d1","name":[{"family":"Who","prefix":["Dr."]}]}`),
	}
	f.Fuzz(func(t *testing.T, extra []byte) {
		existing := append(slices.Clone(base), json.RawMessage(extra))
		added, err := synth.Augment(existing, orgShared, opts())
		if err != nil {
			if !errors.Is(err, synth.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, raw := range added {
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON out: %s", raw)
			}
		}
	})
}

func BenchmarkAugment(b *testing.B) {
	bundles := sharedBundles(b)
	existing, ok := bundles["inferno/uscore_bundle_patient_355.json"]
	if !ok {
		b.Skip("uscore_bundle_patient_355.json is not in the shared data")
	}
	for b.Loop() {
		if _, err := synth.Augment(existing, orgShared, opts()); err != nil {
			b.Fatal(err)
		}
	}
}
