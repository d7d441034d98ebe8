package fhir

import (
	"errors"
	"strings"
	"testing"
)

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
