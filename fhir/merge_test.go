package fhir_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/synth"
)

// Two orgs whose Patients p (at a) and q (at b) are the same person, and
// whose Patients other (at a) and r (at b) are someone else.
var twoOrgs = fhir.MergeOptions{
	Orgs: []fhir.SourceOrg{
		{ID: "a", Name: "Org A", Source: "https://a.example/fhir"},
		{ID: "b", Name: "Org B", Source: "https://b.example/fhir"},
	},
	Patients: []fhir.PatientRecord{
		{Org: "a", Patient: "p", Person: "dana"},
		{Org: "b", Patient: "q", Person: "dana"},
		{Org: "a", Patient: "other", Person: "sam"},
		{Org: "b", Patient: "r", Person: "sam"},
	},
}

// with returns raw with the given members (key, JSON value, key, value…)
// set.
func with(t testing.TB, raw string, members ...string) string {
	t.Helper()
	set := make([]fhir.Member, 0, len(members)/2)
	for k := 0; k+1 < len(members); k += 2 {
		set = append(set, fhir.Member{Key: members[k], Value: json.RawMessage(members[k+1])})
	}
	out, err := fhir.SetMembers([]byte(raw), set...)
	if err != nil {
		t.Fatalf("setting %v on %s: %v", members, raw, err)
	}
	return string(out)
}

// atB makes a resource of org a into org b's copy: another id, and b's
// Patient for the same person.
func atB(raw string) string {
	raw = strings.Replace(raw, `"id":"x"`, `"id":"y"`, 1)
	raw = strings.ReplaceAll(raw, `"Patient/p"`, `"Patient/q"`)
	return strings.ReplaceAll(raw, `"Patient/other"`, `"Patient/r"`)
}

const (
	immunization = `{"resourceType":"Immunization","id":"x","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140","display":"Influenza"}]},"patient":{"reference":"Patient/p"},"occurrenceDateTime":"2024-10-01T10:00:00Z","lotNumber":"L1"}`
	medRequest   = `{"resourceType":"MedicationRequest","id":"x","status":"active","intent":"order","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"312961"}]},"subject":{"reference":"Patient/p"},"authoredOn":"2024-03-02T09:00:00-05:00"}`
	medStatement = `{"resourceType":"MedicationStatement","id":"x","status":"active","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]},"subject":{"reference":"Patient/p"},"effectivePeriod":{"start":"2023-01-05"}}`
	allergy      = `{"resourceType":"AllergyIntolerance","id":"x","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Penicillin"}]},"patient":{"reference":"Patient/p"}}`
	condition    = `{"resourceType":"Condition","id":"x","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"},{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},"subject":{"reference":"Patient/p"},"onsetDateTime":"2019-06-01T08:00:00Z"}`
	observation  = `{"resourceType":"Observation","id":"x","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2024-07-22T10:05:00Z","valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`
	bloodPanel   = `{"resourceType":"Observation","id":"x","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2024-07-22T10:05:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"code":"mm[Hg]"}}]}`
	report       = `{"resourceType":"DiagnosticReport","id":"x","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"subject":{"reference":"Patient/p"},"effectiveDateTime":"2024-09-02T14:45:00Z","issued":"2024-09-02T19:45:00.120Z"}`
	procedure    = `{"resourceType":"Procedure","id":"x","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"430193006"}]},"subject":{"reference":"Patient/p"},"performedPeriod":{"start":"2024-09-02T14:40:00Z","end":"2024-09-02T14:45:00Z"}}`
	encounter    = `{"resourceType":"Encounter","id":"x","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p"},"period":{"start":"2024-09-02T14:30:00Z"}}`
	patient      = `{"resourceType":"Patient","id":"x","identifier":[{"system":"urn:oid:2.16.840.1.113883.4.1","value":"999-00-1234"}],"name":[{"family":"Okafor"}]}`
	document     = `{"resourceType":"DocumentReference","id":"x","status":"current","subject":{"reference":"Patient/p"},"date":"2024-09-02T14:30:00Z"}`
)

const sharedID = `[{"system":"urn:oid:2.16.840.1.113883.3.42","value":"12345"}]`

func TestMergeRules(t *testing.T) {
	type pair struct {
		name string
		a, b string // b is org b's copy (made with atB) unless sameOrg
		// sameOrg puts both at org a, b as written.
		sameOrg bool
		merged  bool
	}
	var tests []pair
	add := func(merged bool, name, a, b string) {
		tests = append(tests, pair{name: name, a: a, b: atB(b), merged: merged})
	}
	same := func(name, a, b string) { add(true, name, a, b) }
	apart := func(name, a, b string) { add(false, name, a, b) }

	same("immunization", immunization, immunization)
	same("immunization, another time of the day", immunization, with(t, immunization, "occurrenceDateTime", `"2024-10-01T15:30:00Z"`))
	same("immunization, the same day in another zone", immunization, with(t, immunization, "occurrenceDateTime", `"2024-10-01T06:00:00-04:00"`))
	same("immunization, a date", immunization, with(t, immunization, "occurrenceDateTime", `"2024-10-01"`))
	same("immunization, other lot and identifier", immunization, with(t, immunization, "lotNumber", `"L2"`, "identifier", `[{"system":"urn:b","value":"1"}]`))
	same("immunization, extra coding", immunization, with(t, immunization, "vaccineCode", `{"coding":[{"system":"http://hl7.org/fhir/sid/ndc","code":"49281-0418-50"},{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]}`))
	apart("immunization, another day", immunization, with(t, immunization, "occurrenceDateTime", `"2024-10-02T10:00:00Z"`))
	apart("immunization, another vaccine", immunization, with(t, immunization, "vaccineCode", `{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"141"}]}`))
	apart("immunization, another status", immunization, with(t, immunization, "status", `"not-done"`))
	apart("immunization, someone else", immunization, with(t, immunization, "patient", `{"reference":"Patient/other"}`))
	apart("immunization, a patient not listed", immunization, with(t, immunization, "patient", `{"reference":"Patient/stranger"}`))
	same("immunization, an absolute reference", immunization, with(t, immunization, "patient", `{"reference":"https://b.example/fhir/Patient/q"}`))
	same("immunization, a versioned reference", immunization, with(t, immunization, "patient", `{"reference":"Patient/q/_history/3"}`))
	apart("immunization, a reference to a group", immunization, with(t, immunization, "patient", `{"reference":"Group/q"}`))
	apart("immunization, a logical reference", immunization, with(t, immunization, "patient", `{"identifier":{"system":"urn:mrn","value":"q"}}`))
	apart("immunization, no date", immunization, with(t, immunization, "occurrenceDateTime", `null`))
	apart("immunization, a month only", immunization, with(t, immunization, "occurrenceDateTime", `"2024-10"`))
	apart("immunization, entered in error", immunization, with(t, immunization, "status", `"entered-in-error"`))
	apart("immunization, text only", with(t, immunization, "vaccineCode", `{"text":"flu"}`), with(t, immunization, "vaccineCode", `{"text":"flu"}`))
	tests = append(tests,
		pair{name: "immunization, twice at one org", a: immunization, b: with(t, immunization, "id", `"y"`), sameOrg: true},
		pair{name: "shared identifier at one org", a: with(t, immunization, "identifier", sharedID), b: with(t, immunization, "id", `"y"`, "identifier", sharedID), sameOrg: true},
	)

	same("medication request", medRequest, medRequest)
	same("medication request, same day in UTC", medRequest, with(t, medRequest, "authoredOn", `"2024-03-02T14:00:00Z"`))
	apart("medication request, another day", medRequest, with(t, medRequest, "authoredOn", `"2024-03-03T09:00:00-05:00"`))
	apart("medication request, another status", medRequest, with(t, medRequest, "status", `"stopped"`))
	apart("medication request, another drug", medRequest, with(t, medRequest, "medicationCodeableConcept", `{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"312962"}]}`))
	apart("medication request, a medication reference", with(t, medRequest, "medicationCodeableConcept", `null`, "medicationReference", `{"reference":"Medication/m"}`),
		with(t, medRequest, "medicationCodeableConcept", `null`, "medicationReference", `{"reference":"Medication/m"}`))

	same("medication statement", medStatement, medStatement)
	same("medication statement, a dateTime", medStatement, with(t, medStatement, "effectivePeriod", `null`, "effectiveDateTime", `"2023-01-05T12:00:00Z"`))
	apart("medication statement, another start", medStatement, with(t, medStatement, "effectivePeriod", `{"start":"2023-01-06"}`))
	apart("medication statement, another status", medStatement, with(t, medStatement, "status", `"completed"`))

	same("allergy", allergy, allergy)
	same("allergy, another display", allergy, with(t, allergy, "code", `{"coding":[{"system":"http://snomed.info/sct","code":"91936005","display":"Allergy to penicillin"}],"text":"PCN"}`))
	apart("allergy, resolved", allergy, with(t, allergy, "clinicalStatus", `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"resolved"}]}`))
	apart("allergy, another substance", allergy, with(t, allergy, "code", `{"coding":[{"system":"http://snomed.info/sct","code":"300916003"}]}`))
	apart("allergy, entered in error", allergy, with(t, allergy, "verificationStatus", `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"entered-in-error"}]}`))
	apart("allergy, no clinical status", allergy, with(t, allergy, "clinicalStatus", `null`))

	same("condition", condition, condition)
	same("condition, categories in another order", with(t, condition, "category", `[{"coding":[{"system":"s","code":"1"}]},{"coding":[{"system":"s","code":"2"}]}]`),
		with(t, condition, "category", `[{"coding":[{"system":"s","code":"2"}]},{"coding":[{"system":"s","code":"1"}]}]`))
	same("condition, neither categorized", with(t, condition, "category", `null`), with(t, condition, "category", `null`))
	same("condition, SNOMED preferred over ICD-10", condition, with(t, condition, "code", `{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}`))
	apart("condition, ICD-10 against SNOMED", condition, with(t, condition, "code", `{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}`))
	apart("condition, another category", condition, with(t, condition, "category", `[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis"}]}]`))
	apart("condition, one categorized", condition, with(t, condition, "category", `null`))
	apart("condition, another onset", condition, with(t, condition, "onsetDateTime", `"2019-06-02T08:00:00Z"`))
	apart("condition, no onset", with(t, condition, "onsetDateTime", `null`), with(t, condition, "onsetDateTime", `null`))

	same("observation", observation, observation)
	same("observation, same minute", observation, with(t, observation, "effectiveDateTime", `"2024-07-22T10:05:59Z"`))
	same("observation, same value written otherwise", observation, with(t, observation, "valueQuantity", `{"code":"kg","value":72.50,"unit":"kilogram"}`))
	same("observation, a period", observation, with(t, observation, "effectiveDateTime", `null`, "effectivePeriod", `{"start":"2024-07-22T10:05:00Z"}`))
	same("blood pressure", bloodPanel, bloodPanel)
	same("string result", with(t, observation, "valueQuantity", `null`, "valueString", `"positive"`), with(t, observation, "valueQuantity", `null`, "valueString", `"positive"`))
	same("coded result", with(t, observation, "valueQuantity", `null`, "valueCodeableConcept", `{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}`),
		with(t, observation, "valueQuantity", `null`, "valueCodeableConcept", `{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}],"text":"Negative"}`))
	apart("observation, another value", observation, with(t, observation, "valueQuantity", `{"value":72.6,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}`))
	apart("observation, another unit", observation, with(t, observation, "valueQuantity", `{"value":72.5,"unit":"lb","system":"http://unitsofmeasure.org","code":"[lb_av]"}`))
	apart("observation, another minute", observation, with(t, observation, "effectiveDateTime", `"2024-07-22T10:06:00Z"`))
	apart("observation, another code", observation, with(t, observation, "code", `{"coding":[{"system":"http://loinc.org","code":"3141-9"}]}`))
	apart("observation, a comparator", observation, with(t, observation, "valueQuantity", `{"value":72.5,"comparator":">","code":"kg"}`))
	apart("observation, a date only", with(t, observation, "effectiveDateTime", `"2024-07-22"`), with(t, observation, "effectiveDateTime", `"2024-07-22"`))
	apart("observation, no value", with(t, observation, "valueQuantity", `null`), with(t, observation, "valueQuantity", `null`))
	apart("string result, another value", with(t, observation, "valueQuantity", `null`, "valueString", `"positive"`), with(t, observation, "valueQuantity", `null`, "valueString", `"negative"`))
	apart("string against number", with(t, observation, "valueQuantity", `null`, "valueString", `"72.5"`), with(t, observation, "valueQuantity", `null`, "valueInteger", `72`))
	apart("coded result, another value", with(t, observation, "valueQuantity", `null`, "valueCodeableConcept", `{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}`),
		with(t, observation, "valueQuantity", `null`, "valueCodeableConcept", `{"coding":[{"system":"http://snomed.info/sct","code":"10828004"}]}`))
	apart("blood pressure, another diastolic", bloodPanel, strings.Replace(bloodPanel, `"value":80`, `"value":85`, 1))
	apart("blood pressure, a component less", bloodPanel, with(t, bloodPanel, "component", `[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}}]`))
	apart("observation, preliminary against entered in error", observation, with(t, observation, "status", `"entered-in-error"`))

	same("report", report, report)
	apart("report, issued later", report, with(t, report, "issued", `"2024-09-02T20:45:00Z"`))
	apart("report, another effective", report, with(t, report, "effectiveDateTime", `"2024-09-03T14:45:00Z"`))
	apart("report, not issued", report, with(t, report, "issued", `null`))

	same("procedure", procedure, procedure)
	same("procedure, a dateTime", procedure, with(t, procedure, "performedPeriod", `null`, "performedDateTime", `"2024-09-02T16:00:00Z"`))
	apart("procedure, another day", procedure, with(t, procedure, "performedPeriod", `{"start":"2024-09-03T14:40:00Z"}`))
	apart("procedure, another code", procedure, with(t, procedure, "code", `{"coding":[{"system":"http://snomed.info/sct","code":"171207006"}]}`))

	apart("encounter", encounter, encounter)
	same("encounter, shared identifier", with(t, encounter, "identifier", sharedID), with(t, encounter, "identifier", sharedID))
	apart("encounter, identifier of another system", with(t, encounter, "identifier", sharedID), with(t, encounter, "identifier", strings.Replace(sharedID, "3.42", "3.43", 1)))
	apart("patient", patient, patient)
	apart("patient, shared identifier", with(t, patient, "identifier", sharedID), with(t, patient, "identifier", sharedID))
	apart("another type", document, document)
	same("another type, shared identifier", with(t, document, "identifier", sharedID), with(t, document, "identifier", sharedID))
	apart("another type, shared identifier, someone else", with(t, document, "identifier", sharedID), with(t, document, "identifier", sharedID, "subject", `{"reference":"Patient/other"}`))
	apart("shared identifier, about nobody", `{"resourceType":"Practitioner","id":"x","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1"}]}`,
		`{"resourceType":"Practitioner","id":"x","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1"}]}`)
	same("shared identifier over a different value", with(t, observation, "identifier", sharedID), with(t, observation, "identifier", sharedID, "valueQuantity", `{"value":1,"code":"kg"}`))
	apart("shared identifier on another type", with(t, observation, "identifier", sharedID), with(t, report, "identifier", sharedID))

	for _, tc := range tests {
		for _, indent := range []string{"", "\t"} {
			name := tc.name
			if indent != "" {
				name += ", indented" // as spaced out as JSON gets
			}
			t.Run(name, func(t *testing.T) { checkRule(t, tc.a, tc.b, tc.sameOrg, tc.merged, indent) })
		}
	}
}

func checkRule(t *testing.T, a, b string, sameOrg, merged bool, indent string) {
	orgB := "b"
	if sameOrg {
		orgB = "a"
	}
	in := []fhir.Sourced{{Org: "a", Resource: json.RawMessage(a)}, {Org: orgB, Resource: json.RawMessage(b)}}
	if indent != "" {
		for k := range in {
			var buf bytes.Buffer
			if err := json.Indent(&buf, in[k].Resource, " ", indent); err != nil {
				t.Fatal(err)
			}
			in[k].Resource = buf.Bytes()
		}
	}
	out, err := fhir.Merge(in, twoOrgs)
	if err != nil {
		t.Fatal(err)
	}
	want := 2
	if merged {
		want = 1
	}
	if len(out) != want {
		t.Fatalf("%d entries, want %d: %v", len(out), want, sourcesOf(out))
	}
	if merged {
		if got := out[0].Sources; len(got) != 2 || got[0].Org == got[1].Org {
			t.Errorf("sources %v", got)
		}
	}
	for _, e := range out {
		checkTagged(t, in, e, twoOrgs)
	}
}

func sourcesOf(out []fhir.Merged) [][]fhir.Copy {
	var s [][]fhir.Copy
	for _, e := range out {
		s = append(s, e.Sources)
	}
	return s
}

// checkTagged checks an entry against its kept copy: the same bytes as
// EditMeta makes of it with meta.source and one tag per source org set,
// the upstream's own tags of that system dropped.
func checkTagged(t *testing.T, in []fhir.Sourced, e fhir.Merged, opts fhir.MergeOptions) {
	t.Helper()
	checkTaggedIn(t, indexInput(t, in), e, opts)
}

// inputIndex finds an input resource by org, type and id.
type inputIndex map[[3]string]json.RawMessage

func indexInput(t *testing.T, in []fhir.Sourced) inputIndex {
	index := inputIndex{}
	for _, s := range in {
		h, err := fhir.ReadHeader(s.Resource)
		if err != nil {
			t.Fatal(err)
		}
		index[[3]string{s.Org, h.ResourceType, h.ID}] = s.Resource
	}
	return index
}

func checkTaggedIn(t *testing.T, index inputIndex, e fhir.Merged, opts fhir.MergeOptions) {
	t.Helper()
	if !json.Valid(e.Resource) {
		t.Fatalf("not JSON: %s", e.Resource)
	}
	kept := index[[3]string{e.Sources[0].Org, e.Type, e.Sources[0].ID}]
	if kept == nil {
		t.Fatalf("no input is the kept copy %v", e.Sources[0])
	}
	want, err := expectTagged(kept, e.Sources, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.Resource, want) {
		t.Errorf("tagged\n%s\nwant\n%s", e.Resource, want)
	}
}

// expectTagged tags raw as Merge should, with the public editing API.
// Labels added to meta.security by a merge are not made here: raw's are
// compared as they are.
func expectTagged(raw []byte, sources []fhir.Copy, opts fhir.MergeOptions) ([]byte, error) {
	var keptSource string
	var tags []json.RawMessage
	for _, o := range opts.Orgs {
		if o.ID == sources[0].Org {
			keptSource = o.Source
		}
		for _, s := range sources {
			if s.Org == o.ID {
				tag, _ := json.Marshal(fhir.Coding{System: fhir.SourceOrgTagSystem, Code: o.ID, Display: o.Name})
				tags = append(tags, tag)
			}
		}
	}
	source, _ := json.Marshal(keptSource)
	// Maps, not structs: encoding/json matches struct fields ignoring case,
	// and FHIR does not.
	return fhir.EditMeta(raw, func(meta json.RawMessage) (json.RawMessage, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, err
		}
		var existing, all []json.RawMessage
		if err := json.Unmarshal(m["tag"], &existing); m["tag"] != nil && err != nil {
			return nil, err
		}
		for _, tag := range existing {
			var c map[string]json.RawMessage
			var system string
			if json.Unmarshal(tag, &c) == nil && json.Unmarshal(c["system"], &system) == nil && system == fhir.SourceOrgTagSystem {
				continue
			}
			all = append(all, tag)
		}
		all = append(all, tags...)
		joined := append([]byte{'['}, bytes.Join(bytesOf(all), []byte{','})...)
		joined = append(joined, ']')
		set := []fhir.Member{{Key: "source", Value: source}, {Key: "tag", Value: joined}}
		if m["security"] != nil && len(sources) > 1 {
			set = append(set, fhir.Member{Key: "security", Value: m["security"]})
		}
		return fhir.SetMembers(meta, set...)
	})
}

func bytesOf(raws []json.RawMessage) [][]byte {
	out := make([][]byte, len(raws))
	for k, r := range raws {
		out[k] = r
	}
	return out
}

func TestMergeTagsAndLeavesTheRest(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"no meta", `{"resourceType":"Observation","id":"x","status":"final"}`},
		{"meta at the end", `{"resourceType":"Observation","id":"x","status":"final","meta":{"versionId":"3"}}`},
		{"meta null", `{"resourceType":"Observation","meta":null,"id":"x"}`},
		{"no header", `{"status":"final","resourceType":"Observation","id":"x"}`},
		{"spaces", "{ \"resourceType\" : \"Observation\" ,\n \"id\" : \"x\", \"meta\" : { \"lastUpdated\" : \"2024-01-01T00:00:00Z\" } , \"note\" : [ {\"text\":\"a \\\"b\\\"\"} ] }"},
		{"own tags and source", `{"resourceType":"Observation","id":"x","meta":{"source":"urn:upstream","tag":[{"system":"urn:other","code":"t"}],"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}]}}`},
		{"a source tag already", `{"resourceType":"Observation","id":"x","meta":{"tag":[{"system":"urn:portalgate:source-org","code":"forged"},{"code":"keep"}]}}`},
		{"two metas", `{"resourceType":"Observation","id":"x","meta":{"versionId":"1"},"status":"final","meta":{"versionId":"2"}}`},
		{"unicode", `{"resourceType":"Observation","id":"x","note":[{"text":"Zoë — \u00e9"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []fhir.Sourced{{Org: "b", Resource: json.RawMessage(tc.raw)}}
			out, err := fhir.Merge(in, twoOrgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 {
				t.Fatalf("%d entries", len(out))
			}
			checkTagged(t, in, out[0], twoOrgs)
			var got struct{ Meta fhir.Meta }
			if err := json.Unmarshal(out[0].Resource, &got); err != nil {
				t.Fatal(err)
			}
			if got.Meta.Source != "https://b.example/fhir" {
				t.Errorf("meta.source %q", got.Meta.Source)
			}
			var ours []fhir.Coding
			for _, tag := range got.Meta.Tag {
				if tag.System == fhir.SourceOrgTagSystem {
					ours = append(ours, tag)
				}
			}
			if want := []fhir.Coding{{System: fhir.SourceOrgTagSystem, Code: "b", Display: "Org B"}}; !slices.Equal(ours, want) {
				t.Errorf("source tags %v, want %v", ours, want)
			}
			if !bytes.Equal(withoutMeta(t, out[0].Resource), withoutMeta(t, []byte(tc.raw))) {
				t.Errorf("changed beyond meta:\n%s\n%s", out[0].Resource, tc.raw)
			}
			if string(in[0].Resource) != tc.raw {
				t.Error("the input changed")
			}
		})
	}
}

// withoutMeta returns the members of a resource other than meta, each as
// written.
func withoutMeta(t *testing.T, raw []byte) []byte {
	t.Helper()
	members, err := fhir.Members(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, m := range members {
		if m.Key != "meta" {
			out = fmt.Appendf(out, "%q:%s;", m.Key, m.Value)
		}
	}
	return out
}

func TestMergeKeepsTheNewestCopy(t *testing.T) {
	older := with(t, immunization, "meta", `{"lastUpdated":"2024-10-01T10:00:00Z"}`)
	newer := atB(with(t, immunization, "meta", `{"lastUpdated":"2024-10-01T12:00:00+01:00"}`)) // 11:00Z
	tie := atB(with(t, immunization, "meta", `{"lastUpdated":"2024-10-01T11:00:00+01:00"}`))   // 10:00Z
	none := atB(immunization)
	tests := []struct {
		name     string
		in       []fhir.Sourced
		wantKept fhir.Copy
	}{
		{"newer at b", []fhir.Sourced{{"a", json.RawMessage(older)}, {"b", json.RawMessage(newer)}}, fhir.Copy{Org: "b", ID: "y"}},
		{"a tie goes to the first org", []fhir.Sourced{{"b", json.RawMessage(tie)}, {"a", json.RawMessage(older)}}, fhir.Copy{Org: "a", ID: "x"}},
		{"no lastUpdated is older", []fhir.Sourced{{"b", json.RawMessage(none)}, {"a", json.RawMessage(older)}}, fhir.Copy{Org: "a", ID: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fhir.Merge(tc.in, twoOrgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || len(out[0].Sources) != 2 {
				t.Fatalf("entries %v", sourcesOf(out))
			}
			if out[0].Sources[0] != tc.wantKept {
				t.Errorf("kept %v, want %v", out[0].Sources[0], tc.wantKept)
			}
			checkTagged(t, tc.in, out[0], twoOrgs)
		})
	}
}

func TestMergeDropsCopiesOfOneResource(t *testing.T) {
	v1 := with(t, observation, "meta", `{"versionId":"1","lastUpdated":"2024-07-22T10:05:00Z"}`)
	v2 := with(t, observation, "meta", `{"versionId":"2","lastUpdated":"2024-07-23T10:05:00Z"}`)
	in := []fhir.Sourced{{"a", json.RawMessage(v1)}, {"a", json.RawMessage(v2)}, {"a", json.RawMessage(v1)}}
	out, err := fhir.Merge(in, twoOrgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Sources) != 1 {
		t.Fatalf("entries %v", sourcesOf(out))
	}
	if !bytes.Contains(out[0].Resource, []byte(`"versionId":"2"`)) {
		t.Errorf("kept the older copy: %s", out[0].Resource)
	}
	// Copies at one org still merge with another org's report.
	twice := []fhir.Sourced{{"a", json.RawMessage(immunization)}, {"a", json.RawMessage(immunization)}, {"b", json.RawMessage(atB(immunization))}}
	if out, err := fhir.Merge(twice, twoOrgs); err != nil || len(out) != 1 || len(out[0].Sources) != 2 {
		t.Errorf("%v entries, error %v", sourcesOf(out), err)
	}
	// The same id at another org is another resource.
	in = append(in, fhir.Sourced{Org: "b", Resource: json.RawMessage(strings.Replace(v1, `"valueQuantity":{"value":72.5`, `"valueQuantity":{"value":99`, 1))})
	if out, err = fhir.Merge(in, twoOrgs); err != nil || len(out) != 2 {
		t.Fatalf("%v entries, error %v", sourcesOf(out), err)
	}
}

func TestMergeKeepsEverySecurityLabel(t *testing.T) {
	plain := with(t, observation, "meta", `{"lastUpdated":"2024-07-23T00:00:00Z","security":[{"system":"s","code":"N"}]}`)
	labelled := atB(with(t, observation, "meta", `{"lastUpdated":"2024-07-22T00:00:00Z","security":[{"system":"s","code":"N"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]}`))
	out, err := fhir.Merge([]fhir.Sourced{{"a", json.RawMessage(plain)}, {"b", json.RawMessage(labelled)}}, twoOrgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Sources[0].Org != "a" {
		t.Fatalf("entries %v", sourcesOf(out))
	}
	var got struct {
		Meta struct{ Security []fhir.Coding }
	}
	if err := json.Unmarshal(out[0].Resource, &got); err != nil {
		t.Fatal(err)
	}
	want := []fhir.Coding{{System: "s", Code: "N"}, {System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "HIV"}}
	if !slices.Equal(got.Meta.Security, want) {
		t.Errorf("security %v, want %v", got.Meta.Security, want)
	}
}

// TestMergeThreeOrgs pairs one org's two copies of a fact with the others'
// one to one, and lets an identifier match and a clinical key match make one
// entry of three orgs.
func TestMergeThreeOrgs(t *testing.T) {
	opts := twoOrgs
	opts.Orgs = append(slices.Clone(opts.Orgs), fhir.SourceOrg{ID: "c", Source: "https://c.example/fhir"})
	opts.Patients = append(slices.Clone(opts.Patients), fhir.PatientRecord{Org: "c", Patient: "p", Person: "dana"})
	twice := []fhir.Sourced{
		{"a", json.RawMessage(immunization)},
		{"a", json.RawMessage(with(t, immunization, "id", `"x2"`))},
		{"b", json.RawMessage(atB(immunization))},
		{"c", json.RawMessage(with(t, immunization, "id", `"z"`))},
		{"c", json.RawMessage(with(t, immunization, "id", `"z2"`))},
	}
	out, err := fhir.Merge(twice, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]fhir.Copy{{{Org: "a", ID: "x"}, {Org: "b", ID: "y"}, {Org: "c", ID: "z"}}, {{Org: "a", ID: "x2"}, {Org: "c", ID: "z2"}}}
	if got := sourcesOf(out); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("entries %v, want %v", got, want)
	}

	chained := []fhir.Sourced{
		{"a", json.RawMessage(with(t, immunization, "identifier", sharedID, "occurrenceDateTime", `"2024-10-02T10:00:00Z"`))},
		{"b", json.RawMessage(atB(with(t, immunization, "identifier", sharedID)))},
		{"c", json.RawMessage(with(t, immunization, "id", `"z"`))},
	}
	if out, err = fhir.Merge(chained, opts); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Sources) != 3 {
		t.Errorf("entries %v, want one of three orgs", sourcesOf(out))
	}
}

// TestMergeManyOrgs goes past 64 orgs, the size of one word of a set of
// orgs.
func TestMergeManyOrgs(t *testing.T) {
	var opts fhir.MergeOptions
	var in []fhir.Sourced
	for k := range 70 {
		org := fmt.Sprintf("org%02d", k)
		opts.Orgs = append(opts.Orgs, fhir.SourceOrg{ID: org, Source: "urn:" + org})
		opts.Patients = append(opts.Patients, fhir.PatientRecord{Org: org, Patient: "p", Person: "dana"})
		in = append(in, fhir.Sourced{Org: org, Resource: json.RawMessage(with(t, immunization, "id", `"`+org+`"`))})
	}
	out, err := fhir.Merge(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || len(out[0].Sources) != 70 {
		t.Fatalf("entries %v", sourcesOf(out))
	}
	for k, c := range out[0].Sources {
		if want := fmt.Sprintf("org%02d", k); c.Org != want {
			t.Fatalf("source %d is %v, want org %s", k, c, want)
		}
	}
}

// TestMergeManyCopiesOfOneFact: two orgs each report one result many times
// over; their copies pair one to one, in time linear in their number.
func TestMergeManyCopiesOfOneFact(t *testing.T) {
	const n = 20_000
	in := make([]fhir.Sourced, 0, 2*n)
	for k := range n {
		id := fmt.Sprintf(`"x%05d"`, k)
		in = append(in, fhir.Sourced{Org: "a", Resource: json.RawMessage(with(t, observation, "id", id))})
		in = append(in, fhir.Sourced{Org: "b", Resource: json.RawMessage(atB(with(t, observation, "id", id)))})
	}
	out, err := fhir.Merge(in, twoOrgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != n {
		t.Fatalf("%d entries, want %d", len(out), n)
	}
	for _, e := range out {
		if len(e.Sources) != 2 || e.Sources[0].ID != e.Sources[1].ID {
			t.Fatalf("%v: not the copies of the same rank", e.Sources)
		}
	}
}

func TestMergeErrors(t *testing.T) {
	obs := json.RawMessage(observation)
	tests := []struct {
		name string
		in   []fhir.Sourced
		opts fhir.MergeOptions
	}{
		{"no orgs", []fhir.Sourced{{"a", obs}}, fhir.MergeOptions{}},
		{"org not listed", []fhir.Sourced{{"z", obs}}, twoOrgs},
		{"org listed twice", nil, fhir.MergeOptions{Orgs: []fhir.SourceOrg{{ID: "a", Source: "u"}, {ID: "a", Source: "v"}}}},
		{"org without source", nil, fhir.MergeOptions{Orgs: []fhir.SourceOrg{{ID: "a"}}}},
		{"org id with spaces", nil, fhir.MergeOptions{Orgs: []fhir.SourceOrg{{ID: " a", Source: "u"}}}},
		{"patient at an unlisted org", nil, fhir.MergeOptions{Orgs: twoOrgs.Orgs, Patients: []fhir.PatientRecord{{Org: "z", Patient: "p", Person: "x"}}}},
		{"patient given twice", nil, fhir.MergeOptions{Orgs: twoOrgs.Orgs, Patients: []fhir.PatientRecord{{Org: "a", Patient: "p", Person: "x"}, {Org: "a", Patient: "p", Person: "y"}}}},
		{"patient without person", nil, fhir.MergeOptions{Orgs: twoOrgs.Orgs, Patients: []fhir.PatientRecord{{Org: "a", Patient: "p"}}}},
		{"not an object", []fhir.Sourced{{"a", json.RawMessage(`[1]`)}}, twoOrgs},
		{"not JSON", []fhir.Sourced{{"a", json.RawMessage(`{"resourceType":`)}}, twoOrgs},
		{"empty", []fhir.Sourced{{"a", nil}}, twoOrgs},
		{"no resourceType", []fhir.Sourced{{"a", json.RawMessage(`{"id":"x"}`)}}, twoOrgs},
		{"id not a string", []fhir.Sourced{{"a", json.RawMessage(`{"resourceType":"Basic","id":7}`)}}, twoOrgs},
		{"meta not an object", []fhir.Sourced{{"a", json.RawMessage(`{"resourceType":"Basic","meta":[]}`)}}, twoOrgs},
		{"tags not an array", []fhir.Sourced{{"a", json.RawMessage(`{"resourceType":"Basic","meta":{"tag":{}}}`)}}, twoOrgs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fhir.Merge(tc.in, tc.opts)
			if !errors.Is(err, fhir.ErrCannotMerge) {
				t.Fatalf("error %v does not wrap ErrCannotMerge (entries %v)", err, sourcesOf(out))
			}
		})
	}
	if out, err := fhir.Merge(nil, twoOrgs); err != nil || len(out) != 0 {
		t.Errorf("nothing merged: %v, %v", out, err)
	}
}

// synthNow anchors the generated records of these tests.
var synthNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

// synthRecords generates people's records at orgs, with the options that
// merge them.
func synthRecords(t testing.TB, people []synth.Person, orgs ...synth.Org) ([]fhir.Sourced, fhir.MergeOptions) {
	t.Helper()
	var in []fhir.Sourced
	var opts fhir.MergeOptions
	for _, org := range orgs {
		resources, err := synth.Records(people, org, synth.Options{Now: synthNow, Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resources {
			in = append(in, fhir.Sourced{Org: org.ID, Resource: r})
		}
		opts.Orgs = append(opts.Orgs, fhir.SourceOrg{ID: org.ID, Name: org.Name, Source: "https://" + org.ID + ".example/fhir"})
		for _, p := range people {
			opts.Patients = append(opts.Patients, fhir.PatientRecord{Org: org.ID, Patient: synth.PatientID(p.Key, org.ID, 11), Person: p.Key})
		}
	}
	return in, opts
}

var (
	dana = synth.Person{Key: "dana", Given: "Dana", Family: "Okafor", Gender: "female", BirthDate: time.Date(1981, 5, 14, 0, 0, 0, 0, time.UTC)}
	milo = synth.Person{Key: "milo", Given: "Milo", Family: "Okafor", Gender: "male", BirthDate: time.Date(2020, 4, 9, 0, 0, 0, 0, time.UTC)}
)

// TestMergeSynthImmunizations: the sandbox's orgs report the same
// immunizations under their own ids; each becomes one entry naming both.
func TestMergeSynthImmunizations(t *testing.T) {
	north, south := benchOrgs[0], benchOrgs[1]
	in, opts := synthRecords(t, []synth.Person{dana, milo}, north, south)
	out, err := fhir.Merge(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]int{}
	for _, s := range in {
		h, _ := fhir.ReadHeader(s.Resource)
		if h.ResourceType == "Immunization" {
			reported[s.Org]++
		}
	}
	if reported["north"] == 0 || reported["north"] != reported["south"] {
		t.Fatalf("immunizations reported: %v", reported)
	}
	index := indexInput(t, in)
	entries := 0
	for _, e := range out {
		if e.Type != "Immunization" {
			continue
		}
		entries++
		if len(e.Sources) != 2 || e.Sources[0].Org == e.Sources[1].Org {
			t.Errorf("immunization %v is not one entry of both orgs", e.Sources)
		}
		var got struct{ Meta fhir.Meta }
		if err := json.Unmarshal(e.Resource, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Meta.Tag) != 2 || got.Meta.Tag[0].Code != "north" || got.Meta.Tag[1].Code != "south" {
			t.Errorf("tags %v", got.Meta.Tag)
		}
		checkTaggedIn(t, index, e, opts)
	}
	if entries != reported["north"] {
		t.Errorf("%d immunization entries for %d immunizations", entries, reported["north"])
	}
	// Nothing else of one person merges with the other's.
	for _, e := range out {
		if len(e.Sources) > 2 {
			t.Errorf("%s %v: more copies than orgs", e.Type, e.Sources)
		}
	}
}

// TestMergeIsDeterministic shuffles the input: the result is the same,
// byte for byte.
func TestMergeIsDeterministic(t *testing.T) {
	in, opts := synthRecords(t, []synth.Person{dana, milo}, benchOrgs...)
	// Copies of one resource, as overlapping searches return them.
	for k := 0; k < len(in); k += 7 {
		in = append(in, in[k])
	}
	want, err := fhir.Merge(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	merged := 0
	for _, e := range want {
		if len(e.Sources) > 1 {
			merged++
		}
	}
	if merged == 0 {
		t.Fatal("nothing merged")
	}
	rank := map[string]int{}
	for k, o := range opts.Orgs {
		rank[o.ID] = k
	}
	if !slices.IsSortedFunc(want, func(x, y fhir.Merged) int {
		return cmp.Or(strings.Compare(x.Type, y.Type), strings.Compare(x.Sources[0].ID, y.Sources[0].ID), cmp.Compare(rank[x.Sources[0].Org], rank[y.Sources[0].Org]))
	}) {
		t.Error("entries are not by type, id and org")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3 {
		shuffled := slices.Clone(in)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := fhir.Merge(shuffled, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d entries, then %d", round, len(want), len(got))
		}
		for k := range got {
			if got[k].Type != want[k].Type || !slices.Equal(got[k].Sources, want[k].Sources) || !bytes.Equal(got[k].Resource, want[k].Resource) {
				t.Fatalf("round %d: entry %d is %s %v, was %s %v", round, k, got[k].Type, got[k].Sources, want[k].Type, want[k].Sources)
			}
		}
	}
}

var referenceTarget = regexp.MustCompile(`("reference"\s*:\s*"[A-Za-z]+/)([^"/]+")`)

// TestMergeSharedDataTwice loads each shared patient as if two orgs held
// the same record under their own ids: every resource about the patient that
// has an identifier or a complete clinical key merges with its twin, and
// with nothing else.
func TestMergeSharedDataTwice(t *testing.T) {
	for _, path := range sharedBundles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			resources, err := fhir.LoadBundle(readFile(t, path))
			if err != nil {
				t.Fatal(err)
			}
			checkTwice(t, resources)
		})
	}
}

func checkTwice(t *testing.T, resources []json.RawMessage) {
	opts := fhir.MergeOptions{Orgs: []fhir.SourceOrg{{ID: "a", Source: "urn:a"}, {ID: "b", Source: "urn:b"}}}
	other := map[string]string{"a": "b", "b": "a"}
	var in []fhir.Sourced
	expected := map[string]bool{} // ids at a of the resources expected to merge
	for _, org := range []string{"a", "b"} {
		for _, raw := range resources {
			h, err := fhir.ReadHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			id := org + "-" + h.ID
			renamed, err := fhir.SetMembers(raw, fhir.Member{Key: "id", Value: json.RawMessage(`"` + id + `"`)})
			if err != nil {
				t.Fatal(err)
			}
			renamed = referenceTarget.ReplaceAll(renamed, []byte("${1}"+org+"-${2}"))
			in = append(in, fhir.Sourced{Org: org, Resource: renamed})
			if h.ResourceType == "Patient" {
				opts.Patients = append(opts.Patients, fhir.PatientRecord{Org: org, Patient: id, Person: "the patient"})
			}
			if org == "a" && expectMerge(t, raw) {
				expected[id] = true
			}
		}
	}
	out, err := fhir.Merge(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	index := indexInput(t, in)
	merged := map[string]int{}
	for _, e := range out {
		checkTaggedIn(t, index, e, opts)
		switch a := e.Sources[0]; len(e.Sources) {
		case 1:
			if a.Org == "a" && expected[a.ID] {
				t.Errorf("%s %s did not merge with its twin", e.Type, a.ID)
			}
		case 2:
			b := e.Sources[1]
			if b.Org != other[a.Org] || strings.TrimPrefix(b.ID, b.Org) != strings.TrimPrefix(a.ID, a.Org) {
				t.Errorf("%s: %v are not twins", e.Type, e.Sources)
			}
			if a.Org != "a" {
				a = b
			}
			if !expected[a.ID] {
				t.Errorf("%s %v merged, which has no identifier or clinical key", e.Type, e.Sources)
			}
			merged[e.Type]++
		default:
			t.Errorf("%s: %v", e.Type, e.Sources)
		}
	}
	if len(out) != 2*len(resources)-len(expected) {
		t.Errorf("%d entries from twice %d resources, %d expected to merge", len(out), len(resources), len(expected))
	}
	t.Logf("%d resources twice: %d entries; merged by type: %v", len(resources), len(out), merged)
}

// expectMerge says, from a decode of its own, whether a Synthea resource is
// one Merge pairs with its twin: about the patient, not a Patient or entered
// in error, and with an identifier or a complete clinical key.
func expectMerge(t *testing.T, raw []byte) bool {
	var r map[string]json.RawMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var typ, status string
	_ = json.Unmarshal(r["resourceType"], &typ)
	_ = json.Unmarshal(r["status"], &status)
	if typ == "Patient" || status == "entered-in-error" || (r["subject"] == nil && r["patient"] == nil) {
		return false
	}
	var identifiers []struct{ System, Value string }
	_ = json.Unmarshal(r["identifier"], &identifiers)
	for _, id := range identifiers {
		if id.System != "" && id.Value != "" {
			return true
		}
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if r[k] != nil {
				return true
			}
		}
		return false
	}
	// timed: present with a time of day, as results are compared to the
	// minute.
	timed := func(keys ...string) bool {
		for _, k := range keys {
			if r[k] != nil {
				return bytes.Contains(r[k], []byte("T"))
			}
		}
		return false
	}
	switch typ {
	case "Immunization":
		return has("vaccineCode") && has("occurrenceDateTime") && has("status")
	case "MedicationRequest":
		return has("medicationCodeableConcept") && has("authoredOn") && has("status")
	case "AllergyIntolerance":
		return has("code") && has("clinicalStatus")
	case "Condition":
		return has("code") && has("onsetDateTime", "onsetPeriod")
	case "Observation":
		valued := false
		for k := range r {
			valued = valued || strings.HasPrefix(k, "value") || k == "component"
		}
		return has("code") && timed("effectiveDateTime", "effectivePeriod", "effectiveInstant") && valued
	case "DiagnosticReport":
		return has("code") && timed("effectiveDateTime", "effectivePeriod") && has("issued")
	case "Procedure":
		return has("code") && has("performedDateTime", "performedPeriod")
	}
	return false
}

// FuzzMerge merges lines of JSON from two orgs (bit k of orgs puts line k at
// org b): never a panic, never more entries than resources or a copy (with
// an id) listed twice, the input left alone, and from valid JSON valid JSON, the copy of a
// single source tagged as EditMeta tags it.
func FuzzMerge(f *testing.F) {
	lines := func(rs ...string) []byte { return []byte(strings.Join(rs, "\n")) }
	f.Add(lines(immunization, atB(immunization), observation), uint64(0b010))
	f.Add(lines(immunization, with(f, immunization, "id", `"x2"`), atB(immunization)), uint64(0b100))
	f.Add(lines(bloodPanel, atB(bloodPanel), condition, atB(condition)), uint64(0b1010))
	f.Add(lines(with(f, encounter, "identifier", sharedID), atB(with(f, encounter, "identifier", sharedID))), uint64(0b10))
	f.Add(lines(`{"resourceType":"Observation","meta":{"tag":[{"system":"urn:portalgate:source-org","code":"x"},3],"security":[{"code":"R"}]},"id":"x"}`, `{"meta":null,"resourceType":"Basic"}`), uint64(0))
	f.Add(lines(report, atB(report), procedure, atB(procedure), medRequest, atB(medRequest), allergy, atB(allergy)), uint64(0b10101010))
	f.Add(lines(`{"resourceType":"Observation","id":"x","meta":{"versionId":"1"},"meta":{"versionId":"2"}}`, `{"resourceType":"Observation","id":"x"}`), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, orgs uint64) {
		split := bytes.Split(data, []byte("\n"))
		in := make([]fhir.Sourced, 0, min(len(split), 64))
		valid := true
		for k, line := range split[:min(len(split), 64)] {
			org := "a"
			if orgs>>k&1 == 1 {
				org = "b"
			}
			in = append(in, fhir.Sourced{Org: org, Resource: bytes.Clone(line)})
			valid = valid && json.Valid(line)
		}
		out, err := fhir.Merge(in, twoOrgs)
		for k, s := range in {
			if !bytes.Equal(s.Resource, split[k]) {
				t.Fatalf("resource %d changed", k)
			}
		}
		if err != nil {
			if !errors.Is(err, fhir.ErrCannotMerge) {
				t.Fatalf("error %v does not wrap ErrCannotMerge", err)
			}
			return
		}
		if len(out) > len(in) {
			t.Fatalf("%d entries from %d resources", len(out), len(in))
		}
		seen := map[[3]string]bool{}
		for _, e := range out {
			orgsOf := map[string]bool{}
			for _, c := range e.Sources {
				key := [3]string{c.Org, e.Type, c.ID}
				if (seen[key] && c.ID != "") || orgsOf[c.Org] {
					t.Fatalf("%s %v listed twice, or twice one org in %v", e.Type, c, e.Sources)
				}
				seen[key], orgsOf[c.Org] = true, true
			}
		}
		if !valid {
			return
		}
		// Where one input alone has an entry's org, type and id, the entry
		// must be it, tagged.
		count := map[[3]string]int{}
		index := inputIndex{}
		for _, s := range in {
			var h struct{ ResourceType, ID string }
			if err := json.Unmarshal(s.Resource, &h); err != nil {
				t.Fatalf("merged %s, which has no header: %v", s.Resource, err)
			}
			key := [3]string{s.Org, h.ResourceType, h.ID}
			count[key]++
			index[key] = s.Resource
		}
		for _, e := range out {
			if !json.Valid(e.Resource) {
				t.Fatalf("not JSON: %s", e.Resource)
			}
			if len(e.Sources) == 1 && count[[3]string{e.Sources[0].Org, e.Type, e.Sources[0].ID}] == 1 {
				checkTaggedIn(t, index, e, twoOrgs)
			}
		}
	})
}
