package fhir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sharedDataFiles returns the shared Synthea and Inferno bundles, or skips.
func sharedDataFiles(t testing.TB) []string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory; shared FHIR data unavailable")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "fhir-data")
	var files []string
	for _, sub := range []string{"synthea", "inferno"} {
		matches, _ := filepath.Glob(filepath.Join(data, sub, "*.json"))
		files = append(files, matches...)
	}
	if len(files) == 0 {
		t.Skipf("shared FHIR test data not found in %s (see the project README)", data)
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var referenceValue = regexp.MustCompile(`"reference"\s*:\s*"([^"]*)"`)

func TestLoadBundleSharedData(t *testing.T) {
	for _, path := range sharedDataFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			resources, err := LoadBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(resources) != len(b.Entry) {
				t.Fatalf("loaded %d resources from %d entries", len(resources), len(b.Entry))
			}
			ids := map[string]bool{}
			for _, raw := range resources {
				h, err := ReadHeader(raw)
				if err != nil {
					t.Fatal(err)
				}
				if h.ID == "" || ids[h.Ref()] {
					t.Fatalf("id of %s is empty or not unique", h.Ref())
				}
				ids[h.Ref()] = true
			}
			for i, raw := range resources {
				h, _ := ReadHeader(raw)
				before := referenceValue.FindAllSubmatch(b.Entry[i].Resource, -1)
				after := referenceValue.FindAllSubmatch(raw, -1)
				if len(before) != len(after) {
					t.Fatalf("%s: %d references before loading, %d after", h.Ref(), len(before), len(after))
				}
				for k := range after {
					was, now := string(before[k][1]), string(after[k][1])
					switch {
					case strings.HasPrefix(now, "urn:uuid:"):
						t.Fatalf("%s still refers to %s", h.Ref(), now)
					case strings.HasPrefix(was, "urn:uuid:") && !ids[now]:
						t.Errorf("%s: %s became %s, which is not in the bundle", h.Ref(), was, now)
					case !strings.HasPrefix(was, "urn:uuid:") && now != was:
						t.Errorf("%s: reference %s changed to %s", h.Ref(), was, now)
					}
				}
				orig, _ := ReadHeader(b.Entry[i].Resource)
				if orig.ID == h.ID && !bytes.Equal(blankReferences(b.Entry[i].Resource), blankReferences(raw)) {
					t.Errorf("%s changed beyond its references", h.Ref())
				}
			}
			if strings.Contains(path, "patient_355") && !ids["Patient/355"] {
				t.Error("the PUT Patient/355 did not keep its id")
			}
		})
	}
}

func blankReferences(raw []byte) []byte {
	return referenceValue.ReplaceAll(raw, []byte(`"reference":""`))
}

func TestLoadBundleIDsAndReferences(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	{"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
	 "resource":{"resourceType":"Patient","id":"old","name":[{"family":"Ünïcode"}]},
	 "request":{"method":"PUT","url":"Patient/p1"}},
	{"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222",
	 "resource":{"resourceType":"Observation",  "status":"final",
	   "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
	   "identifier":[{"value":"urn:uuid:11111111-1111-1111-1111-111111111111"}],
	   "contained":[{"resourceType":"Device","id":"d"}],
	   "device":{"reference":"#d"}},
	 "request":{"method":"POST","url":"Observation"}},
	{"fullUrl":"urn:uuid:33333333-3333-3333-3333-333333333333",
	 "resource":{"resourceType":"Encounter","id":"e9","subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}},
	 "request":{"method":"POST","url":"Encounter"}},
	{"request":{"method":"DELETE","url":"Patient/gone"}},
	{"resource":{"resourceType":"Condition","id":"c1","encounter":{"reference":"urn:uuid:33333333-3333-3333-3333-333333333333"}},
	 "request":{"method":"PUT","url":"Condition?identifier=x"}}
	]}`
	got, err := LoadBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Ünïcode"}]}`,
		`{"resourceType":"Observation","id":"22222222-2222-2222-2222-222222222222",  "status":"final",
	   "subject":{"reference":"Patient/p1"},
	   "identifier":[{"value":"urn:uuid:11111111-1111-1111-1111-111111111111"}],
	   "contained":[{"resourceType":"Device","id":"d"}],
	   "device":{"reference":"#d"}}`,
		`{"resourceType":"Encounter","id":"e9","subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Condition","id":"c1","encounter":{"reference":"Encounter/e9"}}`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d resources, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("resource %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestLoadBundleErrors(t *testing.T) {
	tests := map[string]string{
		"not json":      `{`,
		"not a bundle":  `{"resourceType":"Patient"}`,
		"history":       `{"resourceType":"Bundle","type":"history","entry":[]}`,
		"no type":       `{"resourceType":"Bundle","entry":[{"resource":{"id":"x"}}]}`,
		"bad type":      `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"not-a-type","id":"x"}}]}`,
		"no resType":    `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"id":"x"}}]}`,
		"bad id":        `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"a b"}}]}`,
		"bad PUT id":    `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/a_b"}}]}`,
		"PUT type":      `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Group/a"}}]}`,
		"duplicate":     `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"a"}}]}`,
		"dangling uuid": `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","id":"a","subject":{"reference":"urn:uuid:nowhere"}}}]}`,
		"array entry":   `{"resourceType":"Bundle","type":"collection","entry":[{"resource":[1]}]}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadBundle([]byte(in)); !errors.Is(err, ErrBadBundle) {
				t.Errorf("LoadBundle error = %v, want ErrBadBundle", err)
			}
		})
	}
}

func TestLoadBundleSearchsetSkipsOutcomes(t *testing.T) {
	in := `{"resourceType":"Bundle","type":"searchset","entry":[
	{"fullUrl":"https://ehr.example/fhir/Patient/1","resource":{"resourceType":"Patient","id":"1"},"search":{"mode":"match"}},
	{"resource":{"resourceType":"OperationOutcome","issue":[]},"search":{"mode":"outcome"}},
	{"fullUrl":"https://ehr.example/fhir/Organization/o","resource":{"resourceType":"Organization"},"search":{"mode":"include"}}]}`
	got, err := LoadBundle([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[1]) != `{"resourceType":"Organization","id":"o"}` {
		t.Errorf("got %s", got)
	}
}

func TestLoadBundleAssignsMissingID(t *testing.T) {
	in := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Basic"},"request":{"method":"POST","url":"Basic"}}]}`
	got, err := LoadBundle([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(got[0])
	if err != nil || !isID(h.ID) || len(h.ID) != 36 {
		t.Errorf("assigned header %+v, %v", h, err)
	}
}

func TestLoadNDJSON(t *testing.T) {
	in := strings.Join([]string{
		`{"resourceType":"Patient","id":"aaaa"}`,
		``,
		`{"resourceType":"Observation","id":"o1","subject":{"reference":"urn:uuid:aaaa"}}` + "\r",
		`   `,
		`{"resourceType":"Observation","subject":{"reference":"Patient/aaaa"}}`,
	}, "\n")
	got, err := LoadNDJSON(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d resources, want 3", len(got))
	}
	if want := `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/aaaa"}}`; string(got[1]) != want {
		t.Errorf("got %s, want %s", got[1], want)
	}
	if h, _ := ReadHeader(got[2]); h.ID == "" {
		t.Error("no id assigned to the third resource")
	}

	for name, bad := range map[string]string{
		"not json":  "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{oops}",
		"dangling":  `{"resourceType":"Observation","id":"o","subject":{"reference":"urn:uuid:zzz"}}`,
		"duplicate": "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"a\"}",
	} {
		if _, err := LoadNDJSON(strings.NewReader(bad)); !errors.Is(err, ErrBadBundle) {
			t.Errorf("%s: error = %v, want ErrBadBundle", name, err)
		}
	}
}

func TestSetTopLevelString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"resourceType":"Patient"}`, `{"resourceType":"Patient","id":"x"}`},
		{`{"resourceType" : "Patient" , "a":1}`, `{"resourceType" : "Patient","id":"x" , "a":1}`},
		{`{"a":{"id":"inner"},"id":"old"}`, `{"a":{"id":"inner"},"id":"x"}`},
		{`{}`, `{"id":"x"}`},
		{` { "a":[1,2,{"id":1}] }`, ` {"id":"x", "a":[1,2,{"id":1}] }`},
	}
	for _, tt := range tests {
		got, err := setTopLevelString([]byte(tt.in), "id", "x")
		if err != nil || string(got) != tt.want {
			t.Errorf("setTopLevelString(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a" 1}`, `{"a":1`, `{"a":"x}`} {
		if _, err := setTopLevelString([]byte(bad), "id", "x"); err == nil {
			t.Errorf("setTopLevelString(%q) = nil error", bad)
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
