package access_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/access"
)

func TestParseScope(t *testing.T) {
	lab := fhir.Token{System: obsCategory, Code: "laboratory", SystemSet: true}
	tests := []struct {
		scope   string
		context string
		typ     string
		letters string
		where   []access.Condition
		err     error
	}{
		// v1
		{scope: "patient/Observation.read", context: "patient", typ: "Observation", letters: "rs"},
		{scope: "patient/*.read", context: "patient", typ: "*", letters: "rs"},
		{scope: "user/Condition.write", context: "user", typ: "Condition", letters: "cud"},
		{scope: "patient/*.*", context: "patient", typ: "*", letters: "cruds"},
		{scope: "system/*.read", context: "system", typ: "*", letters: "rs"},
		// v2
		{scope: "patient/Observation.rs", context: "patient", typ: "Observation", letters: "rs"},
		{scope: "patient/Observation.r", context: "patient", typ: "Observation", letters: "r"},
		{scope: "patient/*.cruds", context: "patient", typ: "*", letters: "cruds"},
		{scope: "patient/Observation.cd", context: "patient", typ: "Observation", letters: "cd"},
		// fine-grained
		{scope: "patient/Observation.rs?category=" + obsCategory + "|laboratory", context: "patient", typ: "Observation", letters: "rs",
			where: []access.Condition{{Param: "category", AnyOf: []fhir.Token{lab}}}},
		{scope: "patient/Observation.rs?category=" + obsCategory + "%7Claboratory", context: "patient", typ: "Observation", letters: "rs",
			where: []access.Condition{{Param: "category", AnyOf: []fhir.Token{lab}}}},
		{scope: "patient/Observation.rs?category=laboratory,vital-signs", context: "patient", typ: "Observation", letters: "rs",
			where: []access.Condition{{Param: "category", AnyOf: []fhir.Token{{Code: "laboratory"}, {Code: "vital-signs"}}}}},
		{scope: "patient/Observation.rs?code=http://loinc.org|718-7&category=laboratory", context: "patient", typ: "Observation", letters: "rs",
			where: []access.Condition{
				{Param: "category", AnyOf: []fhir.Token{{Code: "laboratory"}}},
				{Param: "code", AnyOf: []fhir.Token{{System: loinc, Code: "718-7", SystemSet: true}}},
			}},
		{scope: "patient/Condition.rs?category=a&category=b", context: "patient", typ: "Condition", letters: "rs",
			where: []access.Condition{{Param: "category", AnyOf: []fhir.Token{{Code: "a"}}}, {Param: "category", AnyOf: []fhir.Token{{Code: "b"}}}}},
		// not resource scopes
		{scope: "openid", err: access.ErrNotResourceScope},
		{scope: "fhirUser", err: access.ErrNotResourceScope},
		{scope: "launch/patient", err: access.ErrNotResourceScope},
		{scope: "offline_access", err: access.ErrNotResourceScope},
		{scope: "", err: access.ErrNotResourceScope},
		// invalid
		{scope: "patient/Observation", err: access.ErrInvalidScope},
		{scope: "patient/Observation.", err: access.ErrInvalidScope},
		{scope: "patient/observation.read", err: access.ErrInvalidScope},
		{scope: "patient/.read", err: access.ErrInvalidScope},
		{scope: "patient/Obs1.read", err: access.ErrInvalidScope},
		{scope: "patient/Observation.readwrite", err: access.ErrInvalidScope},
		{scope: "patient/Observation.sr", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rr", err: access.ErrInvalidScope},
		{scope: "patient/Observation.x", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?status=final", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?category:not=laboratory", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?category=", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?category=|", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?category=%zz", err: access.ErrInvalidScope},
		{scope: "patient/Observation.rs?category=" + strings.Repeat("a", 3000), err: access.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			got, err := access.ParseScope(tt.scope)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseScope = %+v, %v; want %v", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Context != tt.context || got.Type != tt.typ || got.Interactions.String() != tt.letters {
				t.Errorf("ParseScope = %s/%s.%s", got.Context, got.Type, got.Interactions)
			}
			if !reflect.DeepEqual(got.Where, tt.where) {
				t.Errorf("Where = %+v, want %+v", got.Where, tt.where)
			}
		})
	}
}

func TestScopeGrants(t *testing.T) {
	got := access.ScopeGrants([]string{
		"openid", "fhirUser", "launch/patient", "system/*.read", "patient/Observation.rs",
		"patient/Bad.scope", "user/Condition.read", "patient/Observation.rs?status=final",
	})
	want := []access.Grant{
		{Type: "Observation", Interactions: access.ReadOnly},
		{Type: "Condition", Interactions: access.ReadOnly},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScopeGrants = %+v, want %+v", got, want)
	}
}

func TestInteractions(t *testing.T) {
	for _, tt := range []struct {
		set  access.Interactions
		want string
		has  []access.Interaction
		not  []access.Interaction
	}{
		{access.AllInteractions, "cruds", []access.Interaction{access.Create, access.Read, access.Update, access.Delete, access.Search}, nil},
		{access.ReadOnly, "rs", []access.Interaction{access.Read, access.Search}, []access.Interaction{access.Create, access.Update, access.Delete, 'x', 0}},
		{0, "", nil, []access.Interaction{access.Read}},
	} {
		if got := tt.set.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		for _, i := range tt.has {
			if !tt.set.Has(i) {
				t.Errorf("%s lacks %v", tt.set, i)
			}
		}
		for _, i := range tt.not {
			if tt.set.Has(i) {
				t.Errorf("%s has %v", tt.set, i)
			}
		}
	}
	if access.Search.String() != "search" || access.Interaction('x').String() != `Interaction('x')` {
		t.Errorf("names: %v, %v", access.Search, access.Interaction('x'))
	}
}

func TestConditionValueEscapes(t *testing.T) {
	c := access.Condition{Param: "code", AnyOf: []fhir.Token{
		{System: "urn:a,b", Code: "x|y", SystemSet: true},
		{Code: `back\slash$`},
		{System: "", Code: "nosys", SystemSet: true},
	}}
	want := `urn:a\,b|x\|y,back\\slash\$,|nosys`
	if got := c.Value(); got != want {
		t.Fatalf("Value() = %q, want %q", got, want)
	}
	// What Value writes, a search reads back.
	var back []fhir.Token
	for _, part := range fhir.SplitOR(want) {
		tok, err := fhir.ParseToken(part)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, tok)
	}
	if !reflect.DeepEqual(back, c.AnyOf) {
		t.Errorf("read back %+v, want %+v", back, c.AnyOf)
	}
}
