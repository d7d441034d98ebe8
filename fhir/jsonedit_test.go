package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMembers(t *testing.T) {
	tests := []struct {
		in   string
		want []Member
	}{
		{`{}`, []Member{}},
		{` { } `, []Member{}},
		{`{"a":1}`, []Member{{"a", json.RawMessage(`1`)}}},
		{
			"{ \"resourceType\" : \"Patient\" ,\n\t\"name\":[{\"family\":\"]}\\\"\"}], \"\\u0069d\":\"p\",\"a\":null,\"a\":-1.5e3 }",
			[]Member{
				{"resourceType", json.RawMessage(`"Patient"`)},
				{"name", json.RawMessage(`[{"family":"]}\""}]`)},
				{"id", json.RawMessage(`"p"`)},
				{"a", json.RawMessage(`null`)},
				{"a", json.RawMessage(`-1.5e3`)},
			},
		},
		{`{"k":{"nested":{"k":true}},"":false}`, []Member{{"k", json.RawMessage(`{"nested":{"k":true}}`)}, {"", json.RawMessage(`false`)}}},
	}
	for _, tt := range tests {
		got, err := Members([]byte(tt.in))
		if err != nil || !slices.EqualFunc(got, tt.want, sameMember) {
			t.Errorf("Members(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func sameMember(a, b Member) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }

// notObjects are inputs every editor refuses.
var notObjects = []string{
	``, `   `, `[]`, `"s"`, `null`, `{`, `{"a":}`, `{"a" 1}`, `{"a":1`, `{"a":"x}`, `{"a":1,}`,
	`{a:1}`, `{"a":1 "b":2}`, `{"a":[1,2}`, `{"a":1}{}`, `{"a":1} x`, `{"a":"\"}`,
}

func TestMembersRefusesWhatIsNotAnObject(t *testing.T) {
	for _, in := range notObjects {
		if got, err := Members([]byte(in)); !errors.Is(err, errMalformedJSON) {
			t.Errorf("Members(%q) = %s, %v; want a malformed JSON error", in, got, err)
		}
	}
}

func TestSetMembers(t *testing.T) {
	id := Member{"id", json.RawMessage(`"x"`)}
	tests := []struct {
		name string
		in   string
		set  []Member
		want string
	}{
		{"replaces in place", `{"a":{"id":"inner"},"id":"old","b":2}`, []Member{id}, `{"a":{"id":"inner"},"id":"x","b":2}`},
		{"inserts after resourceType", `{"resourceType":"Patient"}`, []Member{id}, `{"resourceType":"Patient","id":"x"}`},
		{"keeps the spacing", `{"resourceType" : "Patient" , "a":1}`, []Member{id}, `{"resourceType" : "Patient","id":"x" , "a":1}`},
		{"inserts first without a header", ` { "a":[1,2,{"id":1}] }`, []Member{id}, ` {"id":"x", "a":[1,2,{"id":1}] }`},
		{"fills an empty object", `{}`, []Member{id}, `{"id":"x"}`},
		{"fills a spaced empty object", "{\n}", []Member{id}, "{\"id\":\"x\"\n}"},
		{"sets nothing", ` {"a" : 1} `, nil, ` {"a" : 1} `},
		{
			"inserts after the whole header",
			`{"resourceType":"Observation","id":"o","status":"final"}`,
			[]Member{{"meta", json.RawMessage(`{"source":"s"}`)}},
			`{"resourceType":"Observation","id":"o","meta":{"source":"s"},"status":"final"}`,
		},
		{
			"replaces and inserts in one pass",
			`{"resourceType":"Observation","status":"final","id":"o"}`,
			[]Member{{"status", json.RawMessage(`"amended"`)}, {"meta", json.RawMessage(`{}`)}, {"language", json.RawMessage(`"en"`)}},
			`{"resourceType":"Observation","meta":{},"language":"en","status":"amended","id":"o"}`,
		},
		{
			"meta's header",
			`{"versionId":"1","lastUpdated":"2024","profile":["p"]}`,
			[]Member{{"source", json.RawMessage(`"ehr"`)}, {"tag", json.RawMessage(`[{"code":"c"}]`)}},
			`{"versionId":"1","lastUpdated":"2024","source":"ehr","tag":[{"code":"c"}],"profile":["p"]}`,
		},
		{"matches escaped keys", `{"\u0069d":"old"}`, []Member{id}, `{"\u0069d":"x"}`},
		{"drops later duplicates", `{"id":"1", "a":0 ,"id":"2","id":3}`, []Member{id}, `{"id":"x", "a":0}`},
		{
			"inserts after a dropped duplicate",
			`{"resourceType":"X","id":"1","id":"2","z":0}`,
			[]Member{id, {"meta", json.RawMessage(`{}`)}},
			`{"resourceType":"X","id":"x","meta":{},"z":0}`,
		},
		{"quotes new keys", `{}`, []Member{{"a\"b\n", json.RawMessage(`1`)}}, `{"a\"b\n":1}`},
		{"takes any JSON value", `{"a":1}`, []Member{{"a", json.RawMessage(` [ {"b": null} ] `)}}, `{"a": [ {"b": null} ] }`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SetMembers([]byte(tt.in), tt.set...)
			if err != nil || string(got) != tt.want {
				t.Fatalf("SetMembers(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("SetMembers(%s) made invalid JSON %s", tt.in, got)
			}
		})
	}
}

func TestSetMembersLeavesItsInputAlone(t *testing.T) {
	in := []byte(`{"resourceType":"Patient","id":"a"}`)
	orig := slices.Clone(in)
	for _, set := range [][]Member{{{"id", json.RawMessage(`"bb"`)}}, {{"meta", json.RawMessage(`{}`)}}} {
		if _, err := SetMembers(in, set...); err != nil || !bytes.Equal(in, orig) {
			t.Fatalf("SetMembers changed its input to %s (%v)", in, err)
		}
	}
}

func TestSetMembersErrors(t *testing.T) {
	for _, in := range notObjects {
		if got, err := SetMembers([]byte(in), Member{"id", json.RawMessage(`"x"`)}); !errors.Is(err, errMalformedJSON) {
			t.Errorf("SetMembers(%q) = %s, %v; want a malformed JSON error", in, got, err)
		}
	}
	bad := map[string][]Member{
		"invalid value":     {{"a", json.RawMessage(`{"b":}`)}},
		"empty value":       {{"a", nil}},
		"two values":        {{"a", json.RawMessage(`1 2`)}},
		"bad string":        {{"a", json.RawMessage("\"tab\there\"")}},
		"key given twice":   {{"a", json.RawMessage(`1`)}, {"a", json.RawMessage(`2`)}},
		"invalid UTF-8 key": {{"\xec", json.RawMessage(`1`)}},
		"too many":          slices.Repeat([]Member{{"a", json.RawMessage(`1`)}}, 65),
	}
	for name, set := range bad {
		if got, err := SetMembers([]byte(`{"a":0}`), set...); err == nil {
			t.Errorf("%s: SetMembers = %s, want an error", name, got)
		}
	}
}

func TestEditMeta(t *testing.T) {
	addSource := func(meta json.RawMessage) (json.RawMessage, error) {
		return SetMembers(meta, Member{"source", json.RawMessage(`"#ehr"`)})
	}
	tests := []struct {
		name, in string
		set      []Member
		want     string
	}{
		{"no meta", `{"resourceType":"Patient","id":"p","active":true}`, nil, `{"resourceType":"Patient","id":"p","meta":{"source":"#ehr"},"active":true}`},
		{"null meta", `{"resourceType":"Patient","meta":null,"id":"p"}`, nil, `{"resourceType":"Patient","meta":{"source":"#ehr"},"id":"p"}`},
		{
			"keeps the rest of meta",
			`{"resourceType":"Patient", "meta": {"versionId":"3", "tag":[{"code":"t"}]}, "id":"p"}`,
			nil,
			`{"resourceType":"Patient", "meta": {"versionId":"3","source":"#ehr", "tag":[{"code":"t"}]}, "id":"p"}`,
		},
		{"edits the meta decoders read", `{"meta":{"a":1},"x":0,"meta":{"b":2}}`, nil, `{"meta":{"source":"#ehr","b":2},"x":0}`},
		{
			"sets members in the same pass",
			`{"resourceType":"Patient","active":true}`,
			[]Member{{"id", json.RawMessage(`"p"`)}},
			`{"resourceType":"Patient","id":"p","meta":{"source":"#ehr"},"active":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EditMeta([]byte(tt.in), addSource, tt.set...)
			if err != nil || string(got) != tt.want {
				t.Fatalf("EditMeta(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEditMetaErrors(t *testing.T) {
	keep := func(meta json.RawMessage) (json.RawMessage, error) { return meta, nil }
	for _, in := range append(slices.Clone(notObjects), `{"meta":[]}`, `{"meta":"m"}`, `{"meta":1}`) {
		if got, err := EditMeta([]byte(in), keep); err == nil {
			t.Errorf("EditMeta(%q) = %s, want an error", in, got)
		}
	}
	errEdit := errors.New("edit failed")
	fail := func(json.RawMessage) (json.RawMessage, error) { return nil, errEdit }
	if _, err := EditMeta([]byte(`{}`), fail); !errors.Is(err, errEdit) {
		t.Errorf("EditMeta error = %v, want the edit's error wrapped", err)
	}
	for _, meta := range []string{``, `[]`, `null`, `{"a":}`} {
		edit := func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(meta), nil }
		if got, err := EditMeta([]byte(`{"id":"x"}`), edit); err == nil {
			t.Errorf("edit returning %q: EditMeta = %s, want an error", meta, got)
		}
	}
	if got, err := EditMeta([]byte(`{}`), keep, Member{"meta", json.RawMessage(`{}`)}); err == nil {
		t.Errorf("setting meta beside the edit: EditMeta = %s, want an error", got)
	}
}

func TestReplaceStrings(t *testing.T) {
	upper := func(s string) (string, bool) {
		return strings.ToUpper(s), strings.HasPrefix(s, "urn:")
	}
	tests := []struct{ in, want string }{
		{`{"reference":"urn:a"}`, `{"reference":"URN:A"}`},
		{
			`{"a":[{"reference":"urn:b"},{"x":{"reference" : "urn:c"}}], "reference":"Patient/1", "ref":"urn:d"}`,
			`{"a":[{"reference":"URN:B"},{"x":{"reference" : "URN:C"}}], "reference":"Patient/1", "ref":"urn:d"}`,
		},
		{`{"reference":{"reference":"urn:e"},"n":[1,"urn:f",null]}`, `{"reference":{"reference":"URN:E"},"n":[1,"urn:f",null]}`},
		{`{"reference":"urn:\u0067\"q"}`, `{"reference":"URN:G\"Q"}`},
		{`[{"reference":"urn:h"}, "reference"]`, `[{"reference":"URN:H"}, "reference"]`},
		{`"urn:i"`, `"urn:i"`},
	}
	for _, tt := range tests {
		got, err := replaceStrings([]byte(tt.in), "reference", upper)
		if err != nil || string(got) != tt.want {
			t.Errorf("replaceStrings(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`{"reference":"urn:a"`, `[{"reference":"urn:a"},]`, `{"reference":"urn:a"} 1`, `{"a":[1 2]}`} {
		if got, err := replaceStrings([]byte(in), "reference", upper); !errors.Is(err, errMalformedJSON) {
			t.Errorf("replaceStrings(%s) = %s, %v; want a malformed JSON error", in, got, err)
		}
	}
}

func TestTopLevelStrings(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: `{"resourceType":"Patient","contained":[{"id":"inner","x":"]}\""}],"id":"p"}`, want: map[string]string{"resourceType": "Patient", "id": "p"}},
		{in: ` { "id" : "a\u002fb" , "n": -1.5e3, "t": true, "z": null } `, want: map[string]string{"id": "a/b"}},
		{in: `{}`, want: map[string]string{}},
		{in: `{"id":7}`, wantErr: true},
		{in: `{"id":"x"`, wantErr: true},
		{in: `{"a":[1,2}`, wantErr: true},
		{in: `["id"]`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := topLevelStrings([]byte(tt.in), "resourceType", "id")
		if tt.wantErr {
			if err == nil {
				t.Errorf("topLevelStrings(%s) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) || got["id"] != tt.want["id"] || got["resourceType"] != tt.want["resourceType"] {
			t.Errorf("topLevelStrings(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzSetMembers checks SetMembers on arbitrary objects: on valid input the
// result is valid JSON, the member is set exactly once, every other member
// keeps its exact bytes and order, and a member set once changes one span.
func FuzzSetMembers(f *testing.F) {
	for _, seed := range []struct{ obj, key, value string }{
		{`{"resourceType":"Patient","id":"old","meta":{"versionId":"3"}}`, "id", `"new"`},
		{`{"resourceType":"Patient"}`, "meta", `{"source":"#x"}`},
		{`{}`, "a", `[1,{"b":null}]`},
		{" {\n\t\"a\" : \"\\\"}{\" ,\"b\":[{\"c\":\"]\"}] }\n", "b", `true`},
		{`{"\u0069d":1,"id":2,"x":{"id":3}}`, "id", `"i"`},
		{`{"versionId":"1","profile":["p"]}`, "lastUpdated", `"2026-01-01T00:00:00Z"`},
		{`{"a":1}`, "a", `{"b":}`},
		{`[1]`, "a", `1`},
		{`{}`, "\xec", `""`},
	} {
		f.Add([]byte(seed.obj), seed.key, []byte(seed.value))
	}
	f.Fuzz(func(t *testing.T, obj []byte, key string, value []byte) {
		out, err := SetMembers(obj, Member{Key: key, Value: value})
		before, membersErr := Members(obj)
		if !json.Valid(obj) || membersErr != nil {
			return // not an object: it was enough not to panic
		}
		if !json.Valid(value) || !utf8.ValidString(key) {
			if err == nil {
				t.Fatalf("SetMembers accepted the invalid member %q: %q", key, value)
			}
			return
		}
		if err != nil {
			t.Fatalf("SetMembers(%s, %q, %s): %v", obj, key, value, err)
		}
		if !json.Valid(out) {
			t.Fatalf("SetMembers(%s, %q, %s) made invalid JSON %s", obj, key, value, out)
		}
		after, err := Members(out)
		if err != nil {
			t.Fatal(err)
		}
		others := func(ms []Member) []Member {
			return slices.DeleteFunc(slices.Clone(ms), func(m Member) bool { return m.Key == key })
		}
		if !slices.EqualFunc(others(before), others(after), sameMember) {
			t.Fatalf("other members changed:\n%s\n%s", obj, out)
		}
		if set := len(after) - len(others(after)); set != 1 {
			t.Fatalf("%q is set %d times in %s", key, set, out)
		}
		occurrences := len(before) - len(others(before))
		if occurrences <= 1 {
			prefix, suffix := commonEnds(obj, out)
			if changed := len(obj) - prefix - suffix; changed > 0 && (occurrences == 0 || changed > len(obj)) {
				t.Fatalf("more than one span changed:\n%s\n%s", obj, out)
			}
		}
	})
}

// commonEnds returns the lengths of the longest common prefix of a and b
// and of the longest common suffix of what follows it.
func commonEnds(a, b []byte) (prefix, suffix int) {
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	for suffix < len(a)-prefix && suffix < len(b)-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	return prefix, suffix
}

// observation is a typical US Core blood pressure reading, about 2 kB compact.
const observation = `{
	"resourceType": "Observation",
	"id": "bp-3c766796",
	"meta": {"versionId":"4","lastUpdated":"2025-03-02T10:15:00.000Z","profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"]},
	"status": "final",
	"category": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}],"text":"Vital Signs"}],
	"code": {"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}],"text":"Blood pressure"},
	"subject": {"reference":"Patient/e91975f5-9445-c11f-cabf-c3c6dae161f2","display":"Ms. Dana Feest"},
	"encounter": {"reference":"Encounter/9030cedd-7de1-9f69-89c5-9968cc4c2789"},
	"effectiveDateTime": "2024-05-19T19:33:18-04:00",
	"issued": "2024-05-19T19:33:18.715-04:00",
	"performer": [{"reference":"Practitioner/618787f5-2588-3dca-b90e-5e8fd27b1a36","display":"Dr. Blossom Christiansen"}],
	"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}],"text":"Above high normal"}],
	"note": [{"text":"Measured seated, left arm, after five minutes of rest."}],
	"component": [
		{
			"code": {"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}],"text":"Systolic"},
			"valueQuantity": {"value":142,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},
			"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}]}],
			"referenceRange": [{"low":{"value":90,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"high":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]
		},
		{
			"code": {"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic blood pressure"}],"text":"Diastolic"},
			"valueQuantity": {"value":91,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},
			"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}]}],
			"referenceRange": [{"low":{"value":60,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"high":{"value":80,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]
		}
	]
}`

func compactObservation(b *testing.B) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(observation)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkSetMembers sets the id of a stored resource, as LoadBundle does.
func BenchmarkSetMembers(b *testing.B) {
	raw := compactObservation(b)
	id := Member{Key: "id", Value: json.RawMessage(`"0f8fad5b-d9cb-469f-a165-70867728950e"`)}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SetMembers(raw, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEditMeta tags an upstream resource with its source, as the
// gateway does to every resource it passes on.
func BenchmarkEditMeta(b *testing.B) {
	raw := compactObservation(b)
	source := Member{Key: "source", Value: json.RawMessage(`"https://ehr.example/fhir"`)}
	tag := Member{Key: "tag", Value: json.RawMessage(`[{"system":"https://portalgate.example/source","code":"ehr-1"}]`)}
	edit := func(meta json.RawMessage) (json.RawMessage, error) { return SetMembers(meta, source, tag) }
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EditMeta(raw, edit); err != nil {
			b.Fatal(err)
		}
	}
}
