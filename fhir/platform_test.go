package fhir

import (
	"strings"
	"testing"
)

func TestParsePlatformAdapter(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		adapter string // AdapterName; "" when the file must be refused
	}{
		{"defaults to the name", "name: epic\n", "epic"},
		{"named", "name: epic-sandbox\nadapter: epic\n", "epic"},
		{"hyphenated", "name: x\nadapter: oracle-health\n", "oracle-health"},
		{"upper case", "name: x\nadapter: Epic\n", ""},
		{"path", "name: x\nadapter: ../epic\n", ""},
		{"space", "name: x\nadapter: 'epic '\n", ""},
		{"trailing hyphen", "name: x\nadapter: epic-\n", ""},
		{"leading digit", "name: x\nadapter: 1epic\n", ""},
		{"not a string", "name: x\nadapter: [epic]\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePlatform([]byte(tc.yaml))
			if tc.adapter == "" {
				if err == nil {
					t.Fatalf("accepted, adapter %q", p.AdapterName())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AdapterName(); got != tc.adapter {
				t.Errorf("AdapterName = %q, want %q", got, tc.adapter)
			}
		})
	}
}

func TestValidateNamesTheBadAdapter(t *testing.T) {
	err := Platform{Name: "lakeside", Adapter: "Ep ic"}.Validate()
	if err == nil || !strings.Contains(err.Error(), `"Ep ic"`) || !strings.Contains(err.Error(), "lakeside") {
		t.Errorf("err = %v, want one naming the platform and the adapter", err)
	}
	if got := (Platform{Name: "smart"}).AdapterName(); got != "smart" {
		t.Errorf("a platform built in code without an adapter: AdapterName = %q", got)
	}
}
