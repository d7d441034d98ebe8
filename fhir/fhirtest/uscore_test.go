package fhirtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestUSCoreSearches runs every SHALL search of the US Core table of the
// SMART server checklist against all the shared data and checks that the
// matches are exactly what an independent reading of the bundles selects.
func TestUSCoreSearches(t *testing.T) {
	srv := loadedServer(t)
	o := loadOracle(t)

	const (
		p85      = "Patient/85"
		p355     = "Patient/355"
		pClient  = "Patient/us-core-client-tests-patient"
		obsCat   = "http://terminology.hl7.org/CodeSystem/observation-category"
		condCat  = "http://terminology.hl7.org/CodeSystem/condition-category"
		noteCat  = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
		hospital = "http://hospital.smarthealthit.org"
	)
	subject := func(p string) func(oracleResource) bool {
		return func(r oracleResource) bool { return o.refersTo(r, "subject", p) }
	}
	patient := func(p string) func(oracleResource) bool {
		return func(r oracleResource) bool { return o.refersTo(r, "patient", p) }
	}
	and := func(preds ...func(oracleResource) bool) func(oracleResource) bool {
		return func(r oracleResource) bool {
			for _, p := range preds {
				if !p(r) {
					return false
				}
			}
			return true
		}
	}
	code := func(field, system, c string) func(oracleResource) bool {
		return func(r oracleResource) bool { return hasCode(r, field, system, c) }
	}
	anyCode := func(field string, codes ...string) func(oracleResource) bool {
		return func(r oracleResource) bool {
			return slices.ContainsFunc(codes, func(c string) bool { return hasCode(r, field, "", c) })
		}
	}
	from := func(field, day string) func(oracleResource) bool {
		return func(r oracleResource) bool { return onOrAfter(t, fieldOrChoice(r, field), day) }
	}
	until := func(field, day string) func(oracleResource) bool {
		return func(r oracleResource) bool { return before(t, fieldOrChoice(r, field), day) }
	}
	id := func(want string) func(oracleResource) bool {
		return func(r oracleResource) bool { return r.id == want }
	}
	named := func(prefix string) func(oracleResource) bool {
		return func(r oracleResource) bool {
			for _, n := range asList(r.doc["name"]) {
				m := n.(map[string]any)
				parts := append(asList(m["given"]), m["family"], m["text"])
				for _, p := range parts {
					if s, ok := p.(string); ok && strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix)) {
						return true
					}
				}
			}
			return false
		}
	}
	bethany := o.first("Patient", func(r oracleResource) bool { return named("Bethany")(r) && named("Hauck")(r) })
	if bethany == "" {
		t.Fatal("the oracle found no Bethany Hauck in the Synthea data")
	}
	pBethany := "Patient/" + bethany

	encounter := o.first("Encounter", subject(p85))
	document := o.first("DocumentReference", subject(p85))
	serviceRequest := o.first("ServiceRequest", subject(p355))
	relatedPerson := o.first("RelatedPerson", patient(p85))
	specimen := o.first("Specimen", subject(p85))

	cases := []struct {
		query string
		want  func(oracleResource) bool
	}{
		// Patient: _id; identifier; name; birthdate+name; gender+name
		{"Patient?_id=85", id("85")},
		{"Patient?identifier=" + hospital + "|d831ec91-c7a3-4a61-9312-7ff0c4a32134",
			code("identifier", hospital, "d831ec91-c7a3-4a61-9312-7ff0c4a32134")},
		{"Patient?name=bosco", named("bosco")},
		{"Patient?name=hauck", named("hauck")},
		{"Patient?birthdate=1940-03-29&name=Bosco882", and(named("Bosco882"), func(r oracleResource) bool { return r.doc["birthDate"] == "1940-03-29" })},
		{"Patient?gender=male&name=Ritchie", and(named("Ritchie"), code("gender", "", "male"))},
		// Observation: patient+category; patient+category+date; patient+code
		{"Observation?patient=85&category=laboratory", and(subject(p85), code("category", "", "laboratory"))},
		{"Observation?patient=Patient/85&category=" + obsCat + "|social-history", and(subject(p85), code("category", obsCat, "social-history"))},
		{"Observation?patient=" + bethany + "&category=laboratory", and(subject(pBethany), code("category", "", "laboratory"))},
		{"Observation?patient=" + bethany + "&category=vital-signs&date=ge2015-01-01", and(subject(pBethany), code("category", "", "vital-signs"), from("effective", "2015-01-01"))},
		{"Observation?patient=" + bethany + "&category=vital-signs&date=lt2015-01-01", and(subject(pBethany), code("category", "", "vital-signs"), until("effective", "2015-01-01"))},
		{"Observation?patient=355&category=vital-signs,laboratory&date=ge1990-01-01", and(subject(p355), anyCode("category", "vital-signs", "laboratory"), from("effective", "1990-01-01"))},
		{"Observation?patient=85&code=http://loinc.org|72166-2", and(subject(p85), code("code", "http://loinc.org", "72166-2"))},
		{"Observation?patient=85&code=72166-2,59408-5", and(subject(p85), anyCode("code", "72166-2", "59408-5"))},
		// Condition: patient; patient+category
		{"Condition?patient=85", subject(p85)},
		{"Condition?patient=355&category=" + condCat + "|problem-list-item", and(subject(p355), code("category", condCat, "problem-list-item"))},
		{"Condition?patient=355&category=encounter-diagnosis,problem-list-item", and(subject(p355), anyCode("category", "encounter-diagnosis", "problem-list-item"))},
		// MedicationRequest: patient+intent; patient+intent+status
		{"MedicationRequest?patient=85&intent=order", and(subject(p85), code("intent", "", "order"))},
		{"MedicationRequest?patient=85&intent=order&status=active", and(subject(p85), code("intent", "", "order"), code("status", "", "active"))},
		{"MedicationRequest?patient=85&intent=order&status=active,stopped", and(subject(p85), code("intent", "", "order"), anyCode("status", "active", "stopped"))},
		{"MedicationRequest?patient=" + bethany + "&intent=order&status=active,completed,stopped", and(subject(pBethany), code("intent", "", "order"), anyCode("status", "active", "completed", "stopped"))},
		// Encounter: _id; patient; date+patient
		{"Encounter?_id=" + encounter, id(encounter)},
		{"Encounter?patient=85", subject(p85)},
		{"Encounter?date=ge1975-01-01&patient=85", and(subject(p85), from("period", "1975-01-01"))},
		{"Encounter?date=lt1950-01-01&patient=355", and(subject(p355), until("period", "1950-01-01"))},
		// DiagnosticReport: patient; patient+category; patient+category+date; patient+code
		{"DiagnosticReport?patient=85", subject(p85)},
		{"DiagnosticReport?patient=355&category=LAB", and(subject(p355), code("category", "", "LAB"))},
		{"DiagnosticReport?patient=85&category=http://loinc.org|LP29684-5&date=ge1950-01-01", and(subject(p85), code("category", "http://loinc.org", "LP29684-5"), from("effective", "1950-01-01"))},
		{"DiagnosticReport?patient=85&code=http://loinc.org|11506-3", and(subject(p85), code("code", "http://loinc.org", "11506-3"))},
		// DocumentReference: _id; patient; patient+category; patient+category+date; patient+type
		{"DocumentReference?_id=" + document, id(document)},
		{"DocumentReference?patient=85", subject(p85)},
		{"DocumentReference?patient=85&category=" + noteCat + "|clinical-note", and(subject(p85), code("category", noteCat, "clinical-note"))},
		{"DocumentReference?patient=85&category=clinical-note&date=ge1970-01-01", and(subject(p85), code("category", "", "clinical-note"), from("date", "1970-01-01"))},
		{"DocumentReference?patient=355&type=http://loinc.org|11488-4", and(subject(p355), code("type", "http://loinc.org", "11488-4"))},
		// ServiceRequest: _id; patient; patient+category; patient+category+authored; patient+code
		{"ServiceRequest?_id=" + serviceRequest, id(serviceRequest)},
		{"ServiceRequest?patient=355", subject(p355)},
		{"ServiceRequest?patient=355&category=http://snomed.info/sct|387713003", and(subject(p355), code("category", "http://snomed.info/sct", "387713003"))},
		{"ServiceRequest?patient=355&category=387713003,410606002&authored=ge2020-01-01", and(subject(p355), anyCode("category", "387713003", "410606002"), from("authoredOn", "2020-01-01"))},
		{"ServiceRequest?patient=us-core-client-tests-patient&code=http://snomed.info/sct|467771000124109", and(subject(pClient), code("code", "http://snomed.info/sct", "467771000124109"))},
		// Procedure: patient; patient+date
		{"Procedure?patient=85", subject(p85)},
		{"Procedure?patient=355&date=ge2000-01-01", and(subject(p355), from("performed", "2000-01-01"))},
		// CarePlan: patient+category
		{"CarePlan?patient=85&category=assess-plan", and(subject(p85), code("category", "", "assess-plan"))},
		// CareTeam: patient+status
		{"CareTeam?patient=355&status=active", and(subject(p355), code("status", "", "active"))},
		{"CareTeam?patient=85&status=active,inactive", and(subject(p85), anyCode("status", "active", "inactive"))},
		// QuestionnaireResponse: _id; patient
		{"QuestionnaireResponse?_id=us-core-client-tests-questionnaire-response", id("us-core-client-tests-questionnaire-response")},
		{"QuestionnaireResponse?patient=us-core-client-tests-patient", subject(pClient)},
		// RelatedPerson, Specimen: _id
		{"RelatedPerson?_id=" + relatedPerson, id(relatedPerson)},
		{"Specimen?_id=" + specimen, id(specimen)},
		// AllergyIntolerance, Coverage, Device, Goal, Immunization, MedicationDispense: patient
		{"AllergyIntolerance?patient=355", patient(p355)},
		{"Coverage?patient=85", func(r oracleResource) bool { return o.refersTo(r, "beneficiary", p85) }},
		{"Device?patient=355", patient(p355)},
		{"Goal?patient=355", subject(p355)},
		{"Immunization?patient=85", patient(p85)},
		{"Immunization?patient=" + bethany, patient(pBethany)},
		{"MedicationDispense?patient=85", subject(p85)},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			typ, _, _ := strings.Cut(tc.query, "?")
			want := o.where(typ, tc.want)
			if len(want) == 0 {
				t.Fatalf("the oracle selects nothing: the case tests nothing")
			}
			// A small page size makes most cases page.
			got := matchRefs(t, searchAll(t, srv, "/"+tc.query+"&_count=7"))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %d matches, want %d\n got: %v\nwant: %v", len(got), len(want), got, want)
			}
		})
	}
}

// fieldOrChoice reads an element, or a choice element (effective[x]) by its prefix.
func fieldOrChoice(r oracleResource, field string) any {
	if v, ok := r.doc[field]; ok {
		return v
	}
	return choice(r, field)
}

// TestSearchReferenceForms checks that Patient/85, 85 and an absolute URL
// name the same patient, and subject works like patient.
func TestSearchReferenceForms(t *testing.T) {
	srv := loadedServer(t)
	want := matchRefs(t, searchAll(t, srv, "/Condition?patient=85"))
	if len(want) == 0 {
		t.Fatal("no Conditions for patient 85")
	}
	for _, q := range []string{
		"/Condition?patient=Patient/85",
		"/Condition?patient=" + url.QueryEscape("https://elsewhere.example/fhir/Patient/85"),
		"/Condition?subject=Patient/85",
		"/Condition?subject:Patient=85",
		"/Condition?subject=85",
	} {
		got := matchRefs(t, searchAll(t, srv, q))
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d matches, want the %d of patient=85", q, len(got), len(want))
		}
	}
	wantStatus(t, get(t, srv, "/Condition?patient=Practitioner/1"), http.StatusBadRequest)
}

// TestSearchTokenForms checks system|code, |code and code.
func TestSearchTokenForms(t *testing.T) {
	srv := loadedServer(t)
	const obsCat = "http://terminology.hl7.org/CodeSystem/observation-category"
	bare := matchRefs(t, searchAll(t, srv, "/Observation?patient=85&category=social-history"))
	if len(bare) == 0 {
		t.Fatal("no social-history Observations for patient 85")
	}
	full := matchRefs(t, searchAll(t, srv, "/Observation?patient=85&category="+url.QueryEscape(obsCat+"|social-history")))
	if !slices.Equal(bare, full) {
		t.Errorf("system|code found %d, code alone %d", len(full), len(bare))
	}
	if n := len(matchRefs(t, searchAll(t, srv, "/Observation?patient=85&category="+url.QueryEscape("|social-history")))); n != 0 {
		t.Errorf("|code (no system) matched %d codings that have a system", n)
	}
	if n := len(matchRefs(t, searchAll(t, srv, "/Observation?patient=85&category="+url.QueryEscape("http://wrong.example|social-history")))); n != 0 {
		t.Errorf("a wrong system matched %d", n)
	}
	all := matchRefs(t, searchAll(t, srv, "/Observation?patient=85"))
	not := matchRefs(t, searchAll(t, srv, "/Observation?patient=85&category:not=social-history"))
	if len(not)+len(bare) != len(all) {
		t.Errorf(":not found %d, the code %d, together %d, want %d", len(not), len(bare), len(not)+len(bare), len(all))
	}
	if got := matchRefs(t, searchAll(t, srv, "/Patient?gender=male&name=Bosco882")); !slices.Equal(got, []string{"Patient/85"}) {
		t.Errorf("gender token on a code element: %v", got)
	}
}
