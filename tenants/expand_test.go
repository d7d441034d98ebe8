package tenants

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"URL": "http://127.0.0.1:8080", "EMPTY": "", "A_1": "x"}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	tests := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${URL}/sandbox/idp", want: "http://127.0.0.1:8080/sandbox/idp"},
		{in: "${URL}${A_1}", want: "http://127.0.0.1:8080x"},
		{in: "${MISSING:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${EMPTY}", want: ""},
		{in: "${URL:-unused}", want: "http://127.0.0.1:8080"},
		{in: "${MISSING:-}", want: ""},
		{in: "cost: $$5", want: "cost: $5"},
		{in: "pa$word$", want: "pa$word$"},
		{in: "$URL", want: "$URL"},
		{in: "$${URL}", want: "${URL}"},
		{in: "${MISSING}", err: "variable MISSING is not set"},
		{in: "${URL", err: "unterminated ${ at offset 0"},
		{in: "${}", err: `invalid variable name "" in ${}`},
		{in: "${1ABC}", err: `invalid variable name "1ABC" in ${1ABC}`},
		{in: "${A B}", err: `invalid variable name "A B" in ${A B}`},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("expand(%q): %v", tt.in, err)
		case got != tt.want:
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestLoadExpansion checks where values come from: caller variables win over
// the environment, and nothing is read from the environment when it is off.
func TestLoadExpansion(t *testing.T) {
	src := strings.Replace(baseConfig, "https://fhir.acme.example/R4/", "${EHR_URL}/fhir", 1)
	src = strings.Replace(src, "clientID: portal", "clientID: ${CLIENT_ID:-portal-default}", 1)
	env := map[string]string{"EHR_URL": "https://env.acme.example", "CLIENT_ID": "from-env"}
	envLookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	cfg, err := Load("test.yaml", []byte(src), WithEnv(envLookup), WithVars(map[string]string{"EHR_URL": "http://127.0.0.1:9999"}))
	if err != nil {
		t.Fatal(err)
	}
	net := cfg.Networks[0]
	if got := net.Orgs[0].Endpoints[0].FHIRBaseURL; got != "http://127.0.0.1:9999/fhir" {
		t.Errorf("base URL = %q, want the caller's variable over the environment", got)
	}
	if got := net.Identity.ClientID; got != "from-env" {
		t.Errorf("client id = %q, want the environment's value", got)
	}

	cfg, err = Load("test.yaml", []byte(src), WithEnv(nil), WithVars(map[string]string{"EHR_URL": "https://x.example"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Networks[0].Identity.ClientID; got != "portal-default" {
		t.Errorf("client id = %q, want the default with no environment", got)
	}
}
