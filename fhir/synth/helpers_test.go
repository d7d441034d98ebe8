package synth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/synth"
)

// testNow is a Sunday, so "one to three days ago" must skip a weekend.
var testNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

func opts() synth.Options { return synth.Options{Now: testNow, Seed: 7} }

var (
	orgNorth = synth.Org{ID: "north", Name: "North Health", Platform: "epic"}
	orgSouth = synth.Org{ID: "south", Name: "South Medical Group", Platform: "cerner"}
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// The sandbox family: two parents, a child, a teenager; and a very old
// woman and a newborn at the edges of age.
var (
	adult = synth.Person{
		Key: "dana", Given: "Dana", Family: "Okafor", Gender: "female", BirthDate: day(1981, 5, 14),
		Phone: "617-555-0101", Email: "dana@example.org",
		Relatives: []synth.Relative{{Key: "sam", Given: "Sam", Gender: "male", BirthDate: day(1979, 2, 2), Relationship: "SPS"}},
	}
	child = synth.Person{
		Key: "milo", Given: "Milo", Family: "Okafor", Gender: "male", BirthDate: day(2020, 4, 9),
		Relatives: []synth.Relative{
			{Key: "dana", Given: "Dana", Gender: "female", BirthDate: day(1981, 5, 14), Relationship: "MTH"},
			{Key: "sam", Given: "Sam", Gender: "male", BirthDate: day(1979, 2, 2), Relationship: "FTH"},
		},
	}
	teen = synth.Person{
		Key: "ines", Given: "Ines", Family: "Okafor", Gender: "female", BirthDate: day(2010, 11, 23),
		Relatives: []synth.Relative{{Key: "dana", Given: "Dana", Relationship: "MTH"}},
	}
	elder   = synth.Person{Key: "ruth", Given: "Ruth", Family: "Lindqvist", Gender: "female", BirthDate: day(1922, 9, 25)}
	newborn = synth.Person{Key: "baby", Given: "Noor", Family: "Haddad", Gender: "unknown", BirthDate: testNow.AddDate(0, 0, -3)}
	people  = []synth.Person{adult, child, teen, elder, newborn}
)

// resource is a generated resource with the fields every test reads.
type resource struct {
	raw          json.RawMessage
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		LastUpdated string      `json:"lastUpdated"`
		Profile     []string    `json:"profile"`
		Security    []r4.Coding `json:"security"`
	} `json:"meta"`
}

func (r resource) ref() string { return r.ResourceType + "/" + r.ID }

func decodeAll(t testing.TB, raws []json.RawMessage) []resource {
	t.Helper()
	out := make([]resource, 0, len(raws))
	for i, raw := range raws {
		var r resource
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("resource %d is not JSON: %v", i, err)
		}
		r.raw = raw
		out = append(out, r)
	}
	return out
}

func ofType(rs []resource, resourceType string) []resource {
	var out []resource
	for _, r := range rs {
		if r.ResourceType == resourceType {
			out = append(out, r)
		}
	}
	return out
}

// decoders unmarshal each generated type with its golang-fhir-models
// struct.
var decoders = map[string]func([]byte) (any, error){
	"Account":            func(b []byte) (any, error) { return r4.UnmarshalAccount(b) },
	"AllergyIntolerance": func(b []byte) (any, error) { return r4.UnmarshalAllergyIntolerance(b) },
	"Appointment":        func(b []byte) (any, error) { return r4.UnmarshalAppointment(b) },
	"CarePlan":           func(b []byte) (any, error) { return r4.UnmarshalCarePlan(b) },
	"CareTeam":           func(b []byte) (any, error) { return r4.UnmarshalCareTeam(b) },
	"Communication":      func(b []byte) (any, error) { return r4.UnmarshalCommunication(b) },
	"Condition":          func(b []byte) (any, error) { return r4.UnmarshalCondition(b) },
	"Coverage":           func(b []byte) (any, error) { return r4.UnmarshalCoverage(b) },
	"DiagnosticReport":   func(b []byte) (any, error) { return r4.UnmarshalDiagnosticReport(b) },
	"DocumentReference":  func(b []byte) (any, error) { return r4.UnmarshalDocumentReference(b) },
	"Encounter":          func(b []byte) (any, error) { return r4.UnmarshalEncounter(b) },
	"Goal":               func(b []byte) (any, error) { return r4.UnmarshalGoal(b) },
	"Immunization":       func(b []byte) (any, error) { return r4.UnmarshalImmunization(b) },
	"Invoice":            func(b []byte) (any, error) { return r4.UnmarshalInvoice(b) },
	"Location":           func(b []byte) (any, error) { return r4.UnmarshalLocation(b) },
	"MedicationRequest":  func(b []byte) (any, error) { return r4.UnmarshalMedicationRequest(b) },
	"Observation":        func(b []byte) (any, error) { return r4.UnmarshalObservation(b) },
	"Organization":       func(b []byte) (any, error) { return r4.UnmarshalOrganization(b) },
	"Patient":            func(b []byte) (any, error) { return r4.UnmarshalPatient(b) },
	"Practitioner":       func(b []byte) (any, error) { return r4.UnmarshalPractitioner(b) },
	"PractitionerRole":   func(b []byte) (any, error) { return r4.UnmarshalPractitionerRole(b) },
	"Procedure":          func(b []byte) (any, error) { return r4.UnmarshalProcedure(b) },
	"RelatedPerson":      func(b []byte) (any, error) { return r4.UnmarshalRelatedPerson(b) },
	"Schedule":           func(b []byte) (any, error) { return r4.UnmarshalSchedule(b) },
	"Slot":               func(b []byte) (any, error) { return r4.UnmarshalSlot(b) },
}

var (
	fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	// emptyValue finds what FHIR forbids: empty strings, objects and arrays,
	// and nulls.
	emptyValue = regexp.MustCompile(`:(""|\{\}|\[\]|null)`)
)

// checkResources holds every generated set to the rules that do not depend
// on the scenario: each resource decodes with its struct, starts with its
// resourceType, has a valid unique id and a lastUpdated not after now, holds
// no empty values, and every reference resolves within the set plus
// existing.
func checkResources(t *testing.T, raws, existing []json.RawMessage, now time.Time) []resource {
	t.Helper()
	rs := decodeAll(t, raws)
	known := map[string]bool{}
	for _, r := range decodeAll(t, existing) {
		known[r.ref()] = true
	}
	for _, r := range rs {
		if known[r.ref()] {
			t.Errorf("%s is generated twice (or exists already)", r.ref())
		}
		known[r.ref()] = true
	}
	for _, r := range rs {
		decode, ok := decoders[r.ResourceType]
		if !ok {
			t.Errorf("%s: unexpected resource type", r.ref())
			continue
		}
		if _, err := decode(r.raw); err != nil {
			t.Errorf("%s does not decode: %v", r.ref(), err)
		}
		if !bytes.HasPrefix(r.raw, []byte(`{"resourceType":"`+r.ResourceType+`"`)) {
			t.Errorf("%s does not start with its resourceType", r.ref())
		}
		if !fhirID.MatchString(r.ID) {
			t.Errorf("%s: id is not a FHIR id", r.ref())
		}
		updated, err := time.Parse(time.RFC3339, r.Meta.LastUpdated)
		if err != nil {
			t.Errorf("%s: meta.lastUpdated %q: %v", r.ref(), r.Meta.LastUpdated, err)
		} else if updated.After(now) {
			t.Errorf("%s: meta.lastUpdated %s is after now", r.ref(), r.Meta.LastUpdated)
		}
		if m := emptyValue.Find(r.raw); m != nil {
			t.Errorf("%s holds an empty value %s", r.ref(), m)
		}
		for _, ref := range references(t, r.raw) {
			if !known[ref] {
				t.Errorf("%s refers to %s, which is not in the set", r.ref(), ref)
			}
		}
	}
	return rs
}

// references lists the values of every "reference" element in a resource.
func references(t testing.TB, raw []byte) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "reference" {
					out = append(out, s)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

func unmarshal[T any](t testing.TB, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Every Synthea and Inferno bundle of the shared data, loaded once per test
// binary, keyed "synthea/Name.json".
var (
	sharedOnce   sync.Once
	sharedLoaded map[string][]json.RawMessage
	sharedErr    error
)

func loadShared(dir string) (map[string][]json.RawMessage, error) {
	out := map[string][]json.RawMessage{}
	for _, sub := range []string{"synthea", "inferno"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			resources, err := fhir.LoadBundle(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out[sub+"/"+filepath.Base(f)] = resources
		}
	}
	return out, nil
}

// sharedBundles returns the shared bundles, skipping the test when the data
// is absent.
func sharedBundles(t testing.TB) map[string][]json.RawMessage {
	t.Helper()
	dir := fhirtest.SharedData(t)
	sharedOnce.Do(func() { sharedLoaded, sharedErr = loadShared(dir) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	bundles := sharedLoaded
	if len(bundles) == 0 {
		t.Skip("the shared FHIR test data holds no bundles")
	}
	return bundles
}

func hasSecurity(r resource, code string) bool {
	for _, s := range r.Meta.Security {
		if s.Code != nil && *s.Code == code {
			return true
		}
	}
	return false
}

func codeOf(cc r4.CodeableConcept) string {
	var codes []string
	for _, c := range cc.Coding {
		if c.Code != nil {
			codes = append(codes, *c.Code)
		}
	}
	return strings.Join(codes, ",")
}
