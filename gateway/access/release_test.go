package access_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/tenants"
)

const day = 24 * time.Hour

func TestReleaseFilterBoundaries(t *testing.T) {
	issued := time.Date(2026, 11, 18, 16, 5, 0, 0, time.UTC)
	at := issued.Add(4 * day)
	stamp := issued.Format(time.RFC3339)
	zeroDelay := resultPolicy(t)
	zeroDelay.AutoReleaseAfter = 0

	tests := []struct {
		name   string
		policy *tenants.ResultPolicy // the seed's when nil
		raw    json.RawMessage
		now    time.Time
		state  tenants.ReleaseState // "" passes unchanged: released, or not a result
		at     time.Time            // the release instant of a pending result
	}{
		{name: "just issued", raw: observation(hemoglobin, stamp), now: issued, state: tenants.ResultPending, at: at},
		{name: "a nanosecond before the delay", raw: observation(hemoglobin, stamp), now: at.Add(-time.Nanosecond), state: tenants.ResultPending, at: at},
		{name: "exactly at the delay", raw: observation(hemoglobin, stamp), now: at},
		{name: "after the delay", raw: observation(hemoglobin, stamp), now: at.Add(time.Nanosecond)},
		{name: "issued in another zone", raw: observation(hemoglobin, "2026-11-18T10:05:00-06:00"), now: at.Add(-time.Second),
			state: tenants.ResultPending, at: at},
		{name: "no delay", policy: &zeroDelay, raw: observation(hemoglobin, stamp), now: issued},
		{name: "held code, just issued", raw: observation(hivScreen, stamp), now: issued, state: tenants.ResultHeld},
		{name: "held code never auto-releases", raw: observation(hivScreen, stamp), now: issued.AddDate(100, 0, 0), state: tenants.ResultHeld},
		{name: "held code with no delay", policy: &zeroDelay, raw: observation(hivScreen, stamp), now: at, state: tenants.ResultHeld},
		{name: "held code among others", now: at.Add(day), state: tenants.ResultHeld,
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"system":"urn:local","code":"HIV"},` +
				`{"system":"` + loinc + `","code":"` + hivScreen + `"}]},"issued":"` + stamp + `","valueString":"x"}`)},
		{name: "held code in another system is not held", now: at,
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"system":"urn:local","code":"` + hivScreen + `"}]},` +
				`"issued":"` + stamp + `","valueString":"x"}`)},
		{name: "report just issued", raw: report(hemoglobin, stamp), now: issued.Add(time.Hour), state: tenants.ResultPending, at: at},
		{name: "report released", raw: report(hemoglobin, stamp), now: at},
		{name: "held report", raw: report(hivScreen, stamp), now: at.AddDate(1, 0, 0), state: tenants.ResultHeld},

		// When the result was issued.
		{name: "effective time when not issued", raw: observation(hemoglobin, ""), now: time.Date(2026, 11, 21, 8, 59, 59, 0, time.UTC),
			state: tenants.ResultPending, at: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
		{name: "effective time reached", raw: observation(hemoglobin, ""), now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
		{name: "issued on a day counts from its end", raw: observation(hemoglobin, "2026-11-18"), now: time.Date(2026, 11, 22, 23, 59, 59, 0, time.UTC),
			state: tenants.ResultPending, at: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{name: "issued on a day, released", raw: observation(hemoglobin, "2026-11-18"), now: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{name: "effective period end", now: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), state: tenants.ResultPending,
			at:  time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"effectivePeriod":{"start":"2026-11-19T12:00:00Z","end":"2026-11-20T12:00:00Z"},"valueString":"x"}`)},
		{name: "effective period start", now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"effectivePeriod":{"start":"2026-11-19T12:00:00Z"},"valueString":"x"}`)},
		{name: "no time at all is held", now: at.AddDate(1, 0, 0), state: tenants.ResultHeld,
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"valueString":"x"}`)},
		{name: "an unreadable issue time is held", now: at.AddDate(1, 0, 0), state: tenants.ResultHeld,
			raw: observation(hemoglobin, "last tuesday")},
		{name: "an unreadable code is held", now: at.AddDate(1, 0, 0), state: tenants.ResultHeld,
			raw: json.RawMessage(`{"resourceType":"Observation","code":"718-7","issued":"` + stamp + `","valueString":"x"}`)},

		// Which Observations are results.
		{name: "recent vital signs are not results", now: issued,
			raw: json.RawMessage(`{"resourceType":"Observation","category":[{"coding":[{"system":"` + obsCategory + `","code":"vital-signs"}]}],` +
				`"code":{"coding":[{"system":"` + loinc + `","code":"8867-4"}]},"issued":"` + stamp + `","valueQuantity":{"value":72}}`)},
		{name: "a held code is a result whatever its category", now: issued, state: tenants.ResultHeld,
			raw: json.RawMessage(`{"resourceType":"Observation","category":[{"coding":[{"system":"` + obsCategory + `","code":"survey"}]}],` +
				`"code":{"coding":[{"system":"` + loinc + `","code":"` + hivScreen + `"}]},"issued":"` + stamp + `","valueBoolean":false}`)},
		{name: "laboratory beside vital signs is a result", now: issued, state: tenants.ResultPending, at: at,
			raw: json.RawMessage(`{"resourceType":"Observation","category":[{"coding":[{"system":"` + obsCategory + `","code":"vital-signs"}]},` +
				`{"coding":[{"system":"` + obsCategory + `","code":"laboratory"}]}],"code":{"coding":[{"code":"x"}]},"issued":"` + stamp + `","valueInteger":1}`)},
		{name: "no category is a result", now: issued, state: tenants.ResultPending, at: at,
			raw: json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"issued":"` + stamp + `","valueInteger":1}`)},
		{name: "only an unknown category is a result", now: issued, state: tenants.ResultPending, at: at,
			raw: json.RawMessage(`{"resourceType":"Observation","category":{"coding":[{"system":"urn:epic","code":"vital-signs"}]},` +
				`"code":{"coding":[{"code":"x"}]},"issued":"` + stamp + `","valueInteger":1}`)},
		{name: "a US Core category is not a result", now: issued,
			raw: json.RawMessage(`{"resourceType":"Observation","category":[{"coding":[{"system":"http://hl7.org/fhir/us/core/CodeSystem/us-core-category","code":"sdoh"}]}],` +
				`"code":{"coding":[{"code":"x"}]},"issued":"` + stamp + `","valueInteger":1}`)},

		// Other resources pass.
		{name: "a condition", now: issued, raw: json.RawMessage(`{"resourceType":"Condition","code":{"coding":[{"system":"` + loinc + `","code":"` + hivScreen + `"}]}}`)},
		{name: "a reference to an observation", now: issued,
			raw: json.RawMessage(`{"resourceType":"Encounter","reasonReference":[{"reference":"Observation/obs-1"}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := resultPolicy(t)
			if tt.policy != nil {
				policy = *tt.policy
			}
			f := access.ReleaseFilter{Policy: policy, Now: tt.now}
			out, err := f.Apply(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if tt.state == "" {
				if !bytes.Equal(out, tt.raw) {
					t.Fatalf("a released result or another resource was changed:\n%s", out)
				}
				return
			}
			doc := checkWithheld(t, out, tt.state)
			wantAt := ""
			if !tt.at.IsZero() {
				wantAt = tt.at.Format(time.RFC3339Nano)
			}
			if got := releaseAtOf(doc); got != wantAt {
				t.Errorf("release at = %q, want %q", got, wantAt)
			}
			release, isResult, err := f.Release(tt.raw)
			if err != nil || !isResult || release.State != tt.state || !release.At.Equal(tt.at) {
				t.Errorf("Release = %+v, %v, %v; want %s at %v", release, isResult, err, tt.state, tt.at)
			}
		})
	}
}

func TestWithheldObservationKeepsWhatWasTested(t *testing.T) {
	raw := observation(hemoglobin, "2026-11-21T10:00:00Z",
		`"component":[{"id":"c1","code":{"coding":[{"system":"`+loinc+`","code":"8480-6"}]},"valueQuantity":{"value":120},`+
			`"interpretation":[{"text":"high"}],"referenceRange":[{"text":"<120"}],"dataAbsentReason":{"text":"x"}},"not an object"]`,
		`"extension":[{"url":"urn:other","valueString":"an extension's value"},{"url":"`+access.ReleaseAtExtension+`","valueDateTime":"2000-01-01"}]`,
		`"contained":[{"resourceType":"Observation","valueString":"hidden"}]`,
		`"_valueString":{"extension":[]}`, `"valueString":"second value"`)
	out, err := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow, Location: time.FixedZone("CST", -6*3600)}.Apply(raw)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceType, ID, Status, Issued, EffectiveDateTime string
		Code, Subject                                       json.RawMessage
		Meta                                                struct {
			LastUpdated   string
			Tag, Security []map[string]string
		}
		DataAbsentReason struct{ Coding []map[string]string }
		Component        []map[string]json.RawMessage
		Extension        []map[string]string
		Text             struct{ Status, Div string }
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	checkWithheld(t, out, tenants.ResultPending)
	if doc.ResourceType != "Observation" || doc.ID != "obs-1" || doc.Status != "final" || doc.Issued != "2026-11-21T10:00:00Z" ||
		doc.EffectiveDateTime == "" || !strings.Contains(string(doc.Code), hemoglobin) || !strings.Contains(string(doc.Subject), "pat-dana-h") {
		t.Errorf("the withheld result lost what was tested and when:\n%s", out)
	}
	if doc.Meta.LastUpdated == "" || len(doc.Meta.Tag) != 2 || doc.Meta.Tag[0]["code"] != "lakeside-lab" {
		t.Errorf("meta lost its own members: %+v", doc.Meta)
	}
	if len(doc.DataAbsentReason.Coding) != 1 || doc.DataAbsentReason.Coding[0]["code"] != "masked" {
		t.Errorf("dataAbsentReason = %+v", doc.DataAbsentReason)
	}
	if len(doc.Component) != 1 || len(doc.Component[0]) != 3 || doc.Component[0]["code"] == nil ||
		!strings.Contains(string(doc.Component[0]["dataAbsentReason"]), "masked") {
		t.Errorf("components = %s", out)
	}
	if len(doc.Extension) != 1 || doc.Extension[0]["valueDateTime"] != "2026-11-25T10:00:00Z" {
		t.Errorf("extensions = %+v", doc.Extension)
	}
	if want := "released on November 25, 2026 at 4:00 AM CST."; !strings.Contains(doc.Text.Div, want) {
		t.Errorf("narrative %q lacks %q", doc.Text.Div, want)
	}
	for _, leak := range []string{"13.2", "120", "second value", "hidden", "an extension's value", "normal", "high"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("withheld result still holds %q:\n%s", leak, out)
		}
	}
}

func TestWithheldReportKeepsNoFindings(t *testing.T) {
	out, err := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow}.Apply(report(hivScreen, "2026-01-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	checkWithheld(t, out, tenants.ResultHeld)
	for _, leak := range []string{"Reactive", "Hemoglobin", "SGVsbG8=", "Media/m1", "ImagingStudy/i1", access.ReleaseAtExtension} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("withheld report still holds %q:\n%s", leak, out)
		}
	}
	for _, kept := range []string{`"status":"final"`, `"LAB"`, hivScreen, "Patient/pat-dana-h", "after your clinician has reviewed it"} {
		if !bytes.Contains(out, []byte(kept)) {
			t.Errorf("withheld report lost %q:\n%s", kept, out)
		}
	}
}

// A resource cannot slip its value past the filter by spelling a key twice or with escapes.
func TestReleaseFilterReadsKeysAsDecodersDo(t *testing.T) {
	f := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow}
	tests := map[string]string{
		"escaped value key": `{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"issued":"2026-11-21T00:00:00Z","value\u0053tring":"secret"}`,
		"escaped type":      `{"resourceType":"Ob\u0073ervation","code":{"coding":[{"code":"x"}]},"issued":"2026-11-21T00:00:00Z","valueString":"secret"}`,
		"capitalised keys": `{"resourceType":"Observation","Code":{"coding":[{"code":"x"}]},"Issued":"2026-11-21T00:00:00Z","ValueString":"secret",` +
			`"Component":[{"code":{"text":"a"},"valueString":"secret"}],"TEXT":{"div":"secret"},"Extension":[{"valueString":"secret"}]}`,
		"capitalised held code": `{"resourceType":"Observation","issued":"2026-01-01T00:00:00Z","CODE":{"Coding":[{"System":"` + loinc +
			`","Code":"` + hivScreen + `"}]},"valueString":"secret"}`,
		"duplicate value": `{"resourceType":"Observation","valueString":"secret","code":{"coding":[{"code":"x"}]},"issued":"2026-11-21T00:00:00Z","valueString":"secret"}`,
		"the last code counts": `{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"issued":"2026-11-01T00:00:00Z",` +
			`"code":{"coding":[{"system":"` + loinc + `","code":"` + hivScreen + `"}]},"valueString":"secret"}`,
		"the last issued counts": `{"resourceType":"Observation","issued":"2026-01-01T00:00:00Z","code":{"coding":[{"code":"x"}]},` +
			`"issued":"2026-11-21T00:00:00Z","valueString":"secret"}`,
		"duplicate meta": `{"resourceType":"Observation","meta":{"tag":[]},"meta":{"versionId":"2"},"code":{"coding":[{"code":"x"}]},` +
			`"issued":"2026-11-21T00:00:00Z","valueString":"secret"}`,
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := f.Apply(json.RawMessage(raw))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte("secret")) {
				t.Errorf("value survived:\n%s", out)
			}
			var doc map[string]any
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
		})
	}
}

func TestReleaseFilterIsIdempotent(t *testing.T) {
	f := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow}
	for _, raw := range []json.RawMessage{
		observation(hemoglobin, "2026-11-21T10:00:00Z", `"component":[{"code":{"text":"a"},"valueInteger":1}]`),
		observation(hivScreen, "2026-11-01T10:00:00Z"),
		report(hemoglobin, "2026-11-21T10:00:00Z"),
	} {
		once, err := f.Apply(raw)
		if err != nil {
			t.Fatal(err)
		}
		twice, err := f.Apply(once)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("filtering twice differs:\n%s\n%s", once, twice)
		}
	}
}

func TestReleaseFilterRefusesMalformedResults(t *testing.T) {
	f := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow}
	for _, raw := range []string{
		`{"resourceType":"Observation","valueString":"x",`,
		`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"issued":"2026-11-21T00:00:00Z","valueQuantity":{"value":}}`,
		`["Observation"]`,
		`"Observation"`,
	} {
		out, err := f.Apply(json.RawMessage(raw))
		if err == nil || out != nil {
			t.Errorf("Apply(%s) = %s, %v; want an error", raw, out, err)
		}
	}
	_, err := f.Apply(json.RawMessage(`{"resourceType":"Observation","code":{"coding":[{"code":"x"}]},"issued":"2026-11-21T00:00:00Z","valueQuantity":{"value":}}`))
	if !errors.Is(err, access.ErrMalformedResult) {
		t.Errorf("err = %v, want ErrMalformedResult", err)
	}
	if _, _, err := f.Release(json.RawMessage(`[1]`)); err == nil {
		t.Error("Release of an array succeeded")
	}
}

// FHIR arrays are never empty: a result whose components are all unreadable loses them.
func TestWithheldComponentsNeverEmpty(t *testing.T) {
	f := access.ReleaseFilter{Policy: resultPolicy(t), Now: testNow}
	for _, components := range []string{`"component":"x"`, `"component":[1,"two"]`, `"component":[]`} {
		out, err := f.Apply(observation(hivScreen, "2026-11-01T00:00:00Z", components))
		if err != nil {
			t.Fatal(err)
		}
		checkWithheld(t, out, tenants.ResultHeld)
		if bytes.Contains(out, []byte(`"component"`)) {
			t.Errorf("%s: component survives:\n%s", components, out)
		}
	}
}
