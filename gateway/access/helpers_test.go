package access_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/tenants"
)

// testNow is the clock of every test: decisions and release states are computed at it.
var testNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

const (
	loinc       = "http://loinc.org"
	obsCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	hivScreen   = "56888-1" // held by the seed policy
	hemoglobin  = "718-7"
)

// networks is a fixed set of networks.
type networks map[string]*tenants.Network

func (n networks) Network(id string) (*tenants.Network, bool) { nw, ok := n[id]; return nw, ok }

func seedNetwork(t testing.TB) *tenants.Network {
	t.Helper()
	policy, ok := tenants.Preset(tenants.PresetSeed)
	if !ok {
		t.Fatal("no seed preset")
	}
	return &tenants.Network{ID: "lakeside", AccountModel: tenants.AccountModelConsent, Policy: policy}
}

func newDecider(t testing.TB) *access.Decider {
	t.Helper()
	d, err := access.NewDecider(access.Options{
		Networks: networks{"lakeside": seedNetwork(t)},
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var danaRecords = []access.Record{
	{Org: "lakeside-hospital", Patient: "pat-dana-h"},
	{Org: "lakeside-clinics", Patient: "pat-dana-c"},
}

// selfRequest is Dana asking about her own records.
func selfRequest(purpose access.Purpose, i access.Interaction, typ string, scopes ...string) access.Request {
	actor := access.Actor{Network: "lakeside", Account: "acct-dana", Person: "dana", Scopes: scopes, Records: danaRecords}
	if purpose == access.PurposeApp {
		actor.Client = "healthapp"
	}
	return access.Request{Actor: actor, Subject: "dana", Purpose: purpose, Interaction: i, ResourceType: typ}
}

// resultPolicy is the seed's result policy: HIV screens held, others released after 4 days.
func resultPolicy(t testing.TB) tenants.ResultPolicy {
	return seedNetwork(t).Policy.Results
}

// observation builds a laboratory Observation as an upstream would send it.
func observation(code, issued string, extra ...string) json.RawMessage {
	parts := []string{
		`"resourceType":"Observation"`, `"id":"obs-1"`,
		`"meta":{"lastUpdated":"2026-11-20T10:00:00Z","tag":[{"system":"urn:org","code":"lakeside-lab"}]}`,
		`"status":"final"`,
		`"category":[{"coding":[{"system":"` + obsCategory + `","code":"laboratory"}]}]`,
		`"code":{"coding":[{"system":"` + loinc + `","code":"` + code + `"}],"text":"Test ` + code + `"}`,
		`"subject":{"reference":"Patient/pat-dana-h"}`,
		`"effectiveDateTime":"2026-11-17T09:00:00Z"`,
	}
	if issued != "" {
		parts = append(parts, `"issued":"`+issued+`"`)
	}
	parts = append(parts,
		`"valueQuantity":{"value":13.2,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}`,
		`"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]`,
		`"referenceRange":[{"low":{"value":12},"high":{"value":16}}]`,
		`"note":[{"text":"value 13.2 is normal"}]`,
		`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">13.2 g/dL</div>"}`,
	)
	parts = append(parts, extra...)
	return json.RawMessage("{" + strings.Join(parts, ",") + "}")
}

// report builds a DiagnosticReport with a conclusion and an attached report.
func report(code, issued string) json.RawMessage {
	return json.RawMessage(`{"resourceType":"DiagnosticReport","id":"dr-1","status":"final",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],` +
		`"code":{"coding":[{"system":"` + loinc + `","code":"` + code + `"}]},` +
		`"subject":{"reference":"Patient/pat-dana-h"},"effectiveDateTime":"2026-11-17T09:00:00Z",` +
		`"issued":"` + issued + `",` +
		`"result":[{"reference":"Observation/obs-1","display":"Hemoglobin 13.2"}],` +
		`"conclusion":"Reactive","_conclusion":{"extension":[]},` +
		`"conclusionCode":[{"text":"Reactive"}],` +
		`"presentedForm":[{"contentType":"application/pdf","data":"SGVsbG8="}],` +
		`"media":[{"link":{"reference":"Media/m1"}}],"imagingStudy":[{"reference":"ImagingStudy/i1"}]}`)
}

// withheldKeys are elements that must not survive in a withheld result, at any depth.
var withheldKeys = []string{
	"interpretation", "note", "referenceRange", "contained", "result", "conclusion", "_conclusion",
	"conclusionCode", "presentedForm", "media", "imagingStudy",
}

// checkWithheld fails unless raw is a withheld result in the given state: valid JSON with no
// value anywhere, the release tag, the REDACTED label and a patient-readable narrative.
func checkWithheld(t testing.TB, raw json.RawMessage, state tenants.ReleaseState) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("withheld result is not JSON: %v\n%s", err, raw)
	}
	walkKeys(doc, "", func(path, key string) {
		if (strings.HasPrefix(key, "value") || strings.HasPrefix(key, "_value")) && !strings.HasPrefix(path, "meta.") {
			if path != "extension." || key != "valueDateTime" {
				t.Errorf("withheld result keeps %s%s", path, key)
			}
		}
		for _, w := range withheldKeys {
			if key == w && !strings.HasPrefix(path, "meta.") {
				t.Errorf("withheld result keeps %s%s", path, key)
			}
		}
	})
	meta, _ := doc["meta"].(map[string]any)
	if !hasCoding(meta["tag"], access.ReleaseStateSystem, string(state)) {
		t.Errorf("meta.tag lacks release state %q: %v", state, meta["tag"])
	}
	if !hasCoding(meta["security"], "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "REDACTED") {
		t.Errorf("meta.security lacks REDACTED: %v", meta["security"])
	}
	text, _ := doc["text"].(map[string]any)
	if div, _ := text["div"].(string); !strings.Contains(div, "not available yet") {
		t.Errorf("narrative = %q", div)
	}
	return doc
}

// walkKeys calls fn for every object key in v, with the dotted path of its object.
func walkKeys(v any, path string, fn func(path, key string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			fn(path, k)
			walkKeys(child, path+k+".", fn)
		}
	case []any:
		for _, child := range v {
			walkKeys(child, path, fn)
		}
	}
}

func hasCoding(list any, system, code string) bool {
	items, _ := list.([]any)
	for _, it := range items {
		c, _ := it.(map[string]any)
		if c["system"] == system && c["code"] == code {
			return true
		}
	}
	return false
}

// releaseAtOf returns the release-at extension's value, "" when there is none.
func releaseAtOf(doc map[string]any) string {
	exts, _ := doc["extension"].([]any)
	for _, e := range exts {
		ext, _ := e.(map[string]any)
		if ext["url"] == access.ReleaseAtExtension {
			s, _ := ext["valueDateTime"].(string)
			return s
		}
	}
	return ""
}
