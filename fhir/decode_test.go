package fhir

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestRegistryCoversEveryResourceType(t *testing.T) {
	if len(resourceTypes) < 140 {
		t.Fatalf("only %d resource types registered", len(resourceTypes))
	}
	for name := range resourceTypes {
		v, warnings, err := Decode([]byte(`{"resourceType":"` + name + `","id":"x"}`))
		if err != nil || len(warnings) > 0 {
			t.Errorf("%s: %v %v", name, err, warnings)
			continue
		}
		rt := reflect.TypeOf(v)
		if rt.Kind() != reflect.Pointer || rt.Elem().Name() != name || rt.Elem().PkgPath() != modelsPkg {
			t.Errorf("%s decodes into %s", name, rt)
		}
	}
	for _, want := range []string{"Patient", "Observation", "Bundle", "Appointment", "Consent", "Task", "RelatedPerson", "QuestionnaireResponse"} {
		if _, ok := resourceTypes[want]; !ok {
			t.Errorf("%s is not registered", want)
		}
	}
}

func TestDecodeTolerance(t *testing.T) {
	tests := []struct {
		name         string
		raw          string
		wantWarnings []string // path prefixes, sorted
		check        func(t *testing.T, v any)
	}{
		{
			name: "clean",
			raw:  `{"resourceType":"Patient","id":"1","gender":"female","_gender":{"extension":[]}}`,
			check: func(t *testing.T, v any) {
				if p := v.(*models.Patient); p.Gender == nil || *p.Gender != models.AdministrativeGenderFemale {
					t.Errorf("gender = %v", p.Gender)
				}
			},
		},
		{
			name:         "unknown codes and odd types",
			raw:          `{"resourceType":"Patient","id":"1","gender":"x","active":"yes","name":[{"use":"weird","family":"F"},{"use":"official","family":"G"}],"birthDate":"2000-01-01","multipleBirthInteger":1.5}`,
			wantWarnings: []string{"Patient.active:", "Patient.gender: value left out of the decoded view: unknown AdministrativeGender code `x`", "Patient.multipleBirthInteger:", "Patient.name[0].use:"},
			check: func(t *testing.T, v any) {
				p := v.(*models.Patient)
				if p.Gender != nil || p.Active != nil || *p.BirthDate != "2000-01-01" || len(p.Name) != 2 ||
					*p.Name[0].Family != "F" || p.Name[0].Use != nil || *p.Name[1].Use != models.NameUseOfficial {
					t.Errorf("decoded %+v", p)
				}
			},
		},
		{
			name:         "enum in a list and a list where an object belongs",
			raw:          `{"resourceType":"AllergyIntolerance","id":"a","category":["food","snacks","medication",null],"code":[1,2],"patient":{"reference":"Patient/1"}}`,
			wantWarnings: []string{"AllergyIntolerance.category[1]:", "AllergyIntolerance.category[3]:", "AllergyIntolerance.code:"},
			check: func(t *testing.T, v any) {
				a := v.(*models.AllergyIntolerance)
				want := []models.AllergyIntoleranceCategory{models.AllergyIntoleranceCategoryFood, models.AllergyIntoleranceCategoryMedication}
				if !slices.Equal(a.Category, want) || a.Code != nil || *a.Patient.Reference != "Patient/1" {
					t.Errorf("decoded %+v", a)
				}
			},
		},
		{
			name:         "case-insensitive member and required enum",
			raw:          `{"resourceType":"Observation","id":"o","Status":"draft","code":{"text":"t"},"valueQuantity":{"value":1.50,"unit":"kg"}}`,
			wantWarnings: []string{"Observation.Status:"},
			check: func(t *testing.T, v any) {
				o := v.(*models.Observation)
				if o.ValueQuantity == nil || o.ValueQuantity.Value.String() != "1.50" || *o.Code.Text != "t" {
					t.Errorf("decoded %+v", o)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			before := bytes.Clone(raw)
			v, warnings, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, before) {
				t.Error("Decode changed the raw bytes")
			}
			if len(warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings = %q, want %q", warnings, tt.wantWarnings)
			}
			for i, w := range warnings {
				if !strings.HasPrefix(w, tt.wantWarnings[i]) {
					t.Errorf("warning %d = %q, want prefix %q", i, w, tt.wantWarnings[i])
				}
			}
			tt.check(t, v)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := map[string]struct {
		raw  string
		want error
	}{
		"unknown type":    {`{"resourceType":"Spaceship"}`, ErrUnknownResourceType},
		"abstract type":   {`{"resourceType":"DomainResource"}`, ErrUnknownResourceType},
		"no type":         {`{"id":"1"}`, ErrNotResource},
		"not json":        {`{"resourceType":"Patient",`, nil},
		"array":           {`[{"resourceType":"Patient"}]`, nil},
		"id not a string": {`{"resourceType":"Patient","id":7}`, nil},
	}
	for name, tt := range tests {
		_, _, err := Decode([]byte(tt.raw))
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: error = %v, want %v", name, err, tt.want)
		}
	}
}

func TestDecodeAs(t *testing.T) {
	raw := []byte(`{"resourceType":"Patient","id":"p","gender":"robot"}`)
	p, warnings, err := DecodeAs[models.Patient](raw)
	if err != nil || *p.Id != "p" || len(warnings) != 1 {
		t.Errorf("DecodeAs[Patient] = %+v, %q, %v", p, warnings, err)
	}
	pp, _, err := DecodeAs[*models.Patient](raw)
	if err != nil || pp == nil || *pp.Id != "p" {
		t.Errorf("DecodeAs[*Patient] = %+v, %v", pp, err)
	}
	if _, _, err := DecodeAs[models.Observation](raw); err == nil {
		t.Error("a Patient decoded as an Observation")
	}
	cc, warnings, err := DecodeAs[models.CodeableConcept]([]byte(`{"coding":[{"system":"s","code":"c","userSelected":"no"}],"text":"t"}`))
	if err != nil || *cc.Text != "t" || *cc.Coding[0].Code != "c" || len(warnings) != 1 {
		t.Errorf("DecodeAs[CodeableConcept] = %+v, %q, %v", cc, warnings, err)
	}
	if _, _, err := DecodeAs[models.CodeableConcept]([]byte(`"text"`)); err == nil {
		t.Error("a string decoded as a CodeableConcept")
	}
}
