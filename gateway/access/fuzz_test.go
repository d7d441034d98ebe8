package access_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/gateway/access"
)

func fuzzSeeds(f *testing.F) {
	f.Add([]byte(observation(hemoglobin, "2026-11-21T10:00:00Z", `"component":[{"code":{"text":"a"},"valueInteger":1}]`)))
	f.Add([]byte(observation(hivScreen, "2026-01-01")))
	f.Add([]byte(report(hemoglobin, "2026-11-21T10:00:00Z")))
	f.Add([]byte(`{"resourceType":"Ob\u0073ervation","value\u0053tring":"x","code":[1],"issued":7}`))
	f.Add([]byte(`{"resourceType":"Observation","meta":null,"extension":{},"component":"x","effectivePeriod":[]}`))
	f.Add([]byte(`{"resourceType":"Condition","code":{"coding":[{"code":"x"}]}}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"resourceType":"Observation",`))
}

// FuzzReleaseFilter: the filter never panics; from valid JSON it makes valid JSON or an
// error; and a withheld result keeps no value.
func FuzzReleaseFilter(f *testing.F) {
	fuzzSeeds(f)
	filter := access.ReleaseFilter{Policy: resultPolicy(f), Now: testNow}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := filter.Apply(raw)
		if err != nil {
			if out != nil {
				t.Fatal("an error with output")
			}
			return
		}
		if !json.Valid(raw) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output from valid input:\n%s\n%s", raw, out)
		}
		if !bytes.Equal(out, raw) {
			checkNoValue(t, out)
		}
	})
}

// checkNoValue fails when a withheld resource keeps a value at its top level or in a component.
func checkNoValue(t *testing.T, out []byte) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("withheld output is not an object: %v", err)
	}
	for key := range doc {
		if strings.HasPrefix(key, "value") || strings.HasPrefix(key, "_value") || key == "interpretation" ||
			key == "result" || key == "conclusion" || key == "presentedForm" {
			t.Fatalf("withheld output keeps %q:\n%s", key, out)
		}
	}
	var components []map[string]json.RawMessage
	if json.Unmarshal(doc["component"], &components) == nil {
		for _, c := range components {
			for key := range c {
				if key != "id" && key != "code" && key != "dataAbsentReason" {
					t.Fatalf("withheld component keeps %q:\n%s", key, out)
				}
			}
		}
	}
}

// FuzzParseScope: scopes come from apps. Parsing never panics, and what parses is a grant of
// known letters on a resource type or "*", with conditions on category or code only.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"patient/Observation.read", "user/*.*", "patient/Observation.rs?category=" + obsCategory + "|laboratory",
		"patient/Observation.rs?code=a,b&category=c", "launch/patient", "openid", "system/*.cruds",
		"patient/Observation.rs?category=%7C", "patient/X.sr", "patient/.r?",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := access.ParseScope(s)
		if err != nil {
			if !errors.Is(err, access.ErrNotResourceScope) && !errors.Is(err, access.ErrInvalidScope) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if sc.Interactions == 0 || sc.Interactions&^access.AllInteractions != 0 || sc.Type == "" {
			t.Fatalf("ParseScope(%q) = %+v", s, sc)
		}
		for _, c := range sc.Where {
			if c.Param != "category" && c.Param != "code" || len(c.AnyOf) == 0 {
				t.Fatalf("ParseScope(%q) condition %+v", s, c)
			}
		}
	})
}

// FuzzPostProcess runs arbitrary resources through an app's fine-grained decision: the grant
// filter and the release filter together never panic and never make invalid JSON.
func FuzzPostProcess(f *testing.F) {
	fuzzSeeds(f)
	dec, err := newDecider(f).Decide(context.Background(), selfRequest(access.PurposeApp, access.Search, "",
		labScope, "patient/Condition.rs?code=x", "patient/Immunization.rs?code=http://hl7.org/fhir/sid/cvx|140"))
	if err != nil || !dec.Allowed {
		f.Fatalf("Decide = %+v, %v", dec, err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := dec.PostProcess(raw)
		if err != nil || out == nil || !json.Valid(raw) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output from valid input:\n%s\n%s", raw, out)
		}
	})
}
