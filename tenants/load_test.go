package tenants

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baseConfig is a small valid file; the line numbers in the expected
// errors below refer to it.
const baseConfig = `networks:
  - id: acme
    name: Acme Health
    accountModel: consent
    identity:
      issuer: https://id.acme.example
      clientID: portal
      redirectURL: https://portal.acme.example/auth/callback
    orgs:
      - id: acme-hospital
        name: Acme Hospital
        membership: affiliated
        endpoints:
          - platform: epic
            fhirBaseURL: https://fhir.acme.example/R4/
            auth:
              kind: none
      - id: acme-clinic
        name: Acme Clinic
        membership: affiliated
        endpoints:
          - platform: cerner
            fhirBaseURL: https://clinic.acme.example/r4
            auth: {kind: none}
`

func TestLoadValid(t *testing.T) {
	cfg, err := Load("test.yaml", []byte(baseConfig), testOptions(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	net, ok := cfg.Network("acme")
	if !ok {
		t.Fatal("network acme not found")
	}
	if net.Policy.Preset != PresetSeed {
		t.Errorf("policy preset = %q, want seed when the file names none", net.Policy.Preset)
	}
	if got := net.Identity.Scopes; strings.Join(got, " ") != "openid profile email" {
		t.Errorf("default identity scopes = %v", got)
	}
	if net.Location().String() != "UTC" {
		t.Errorf("location = %v, want UTC", net.Location())
	}
	org, ok := net.Org("acme-hospital")
	if !ok {
		t.Fatal("org not found")
	}
	ep, ok := org.Endpoint("epic")
	if !ok || ep != org.Primary() {
		t.Fatal("endpoint epic (the default id) not found")
	}
	if ep.FHIRBaseURL != "https://fhir.acme.example/R4" {
		t.Errorf("base URL = %q, want the trailing slash trimmed", ep.FHIRBaseURL)
	}
	if q := ep.Quirks(); q.Name != "epic" || q.Search.RequireOneOf["Observation"] == nil {
		t.Errorf("quirks not resolved: %+v", q)
	}
	if _, ok := net.Org("nope"); ok {
		t.Error("found an org that does not exist")
	}
	if _, ok := cfg.Network("nope"); ok {
		t.Error("found a network that does not exist")
	}
	if cfg.Sandbox != nil {
		t.Error("sandbox section set without one in the file")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		want    []string
		preload func(t *testing.T) []LoadOption
	}{
		{
			name: "bad platform",
			edit: replace("platform: cerner", "platform: epik"),
			want: []string{`test.yaml:22:23: networks[0].orgs[1].endpoints[0].platform: unknown platform "epik" (known: athena, cerner, epic, smart)`},
		},
		{
			name: "missing id",
			edit: replace("      - id: acme-clinic\n        name: Acme Clinic", "      - name: Acme Clinic"),
			want: []string{`test.yaml:18:9: networks[0].orgs[1].id: an id is required`},
		},
		{
			name: "duplicate org id",
			edit: replace("id: acme-clinic", "id: acme-hospital"),
			want: []string{`test.yaml:18:13: networks[0].orgs[1].id: duplicate org id "acme-hospital"`},
		},
		{
			name: "unknown key with suggestion",
			edit: replace("membership: affiliated\n        endpoints:\n          - platform: epic", "membershp: affiliated\n        endpoints:\n          - platform: epic"),
			want: []string{
				`test.yaml:10:9: networks[0].orgs[0].membership: a membership is required (known: affiliated, external)`,
				`test.yaml:12:9: networks[0].orgs[0].membershp: unknown key "membershp" (did you mean "membership"?)`,
			},
		},
		{
			name: "unknown key without suggestion",
			edit: replace("    name: Acme Health\n", "    name: Acme Health\n    colour: blue\n"),
			want: []string{`test.yaml:4:5: networks[0].colour: unknown key "colour" (known: accountModel, id, identity, name, orgs, policy, timeZone)`},
		},
		{
			name: "bad duration",
			edit: appendToNetwork("    policy:\n      session:\n        idleTimeout: 20 minutes\n"),
			want: []string{`test.yaml:27:22: networks[0].policy.session.idleTimeout: invalid duration "20 minutes": unknown unit " minutes" (use forms like 20m, 1h, 45d or PT20M, P4D)`},
		},
		{
			name: "unknown preset",
			edit: appendToNetwork("    policy:\n      preset: sed\n"),
			want: []string{`test.yaml:26:15: networks[0].policy.preset: unknown preset "sed" (known: adult-proxy-renewal-5y, proxy-13-scheduling, proxy-billing-immunizations, seed)`},
		},
		{
			name: "proxy referencing a missing person",
			edit: appendSandbox(`  people:
    - id: pat
      username: pat
      password: pat-pw
      given: Pat
      family: Doe
      gender: female
      age: 40
      records: [acme-hospital]
      actsFor:
        - person: kim
          relationship: parent
`),
			want: []string{`test.yaml:37:19: sandbox.people[0].actsFor[0].person: unknown person "kim"`},
		},
		{
			name: "wrong type",
			edit: replace("accountModel: consent", "accountModel: [consent]"),
			want: []string{`test.yaml:4:19: networks[0].accountModel: expected a string, found a list`},
		},
		{
			name: "duplicate key",
			edit: replace("    name: Acme Health\n", "    name: Acme Health\n    name: Acme\n"),
			want: []string{`test.yaml:4:5: networks[0].name: duplicate key "name"`},
		},
		{
			name: "plain http to a remote host",
			edit: replace("https://clinic.acme.example/r4", "http://clinic.acme.example/r4"),
			want: []string{`test.yaml:23:26: networks[0].orgs[1].endpoints[0].fhirBaseURL: "http://clinic.acme.example/r4" must use https (http is only for loopback hosts)`},
		},
		{
			name: "credentials in a URL are redacted",
			edit: replace("https://id.acme.example", "https://user:hunter2@id.acme.example"),
			want: []string{`test.yaml:6:15: networks[0].identity.issuer: "https://user:xxxxx@id.acme.example" carries credentials; put them in the client settings`},
		},
		{
			name: "unset variable",
			edit: replace("clientID: portal", "clientID: ${PORTAL_CLIENT_ID}"),
			want: []string{`test.yaml:7:17: networks[0].identity.clientID: variable PORTAL_CLIENT_ID is not set`},
		},
		{
			name: "variable in an integer field",
			edit: appendToNetwork("    policy:\n      messages:\n        maxAttachments: ${MAX_ATTACHMENTS}\n"),
			want: []string{`test.yaml:27:25: networks[0].policy.messages.maxAttachments: expected an integer that fits in 64 bits, found "many"`},
			preload: func(t *testing.T) []LoadOption {
				return testOptions(t, map[string]string{"MAX_ATTACHMENTS": "many"})
			},
		},
		{
			name: "quoted number in an integer field",
			edit: appendToNetwork("    policy:\n      billing:\n        planMaxMonths: \"36\"\n"),
			want: []string{`test.yaml:27:24: networks[0].policy.billing.planMaxMonths: expected an integer, found a string`},
		},
		{
			name: "age bands with a gap",
			edit: appendToNetwork("    policy:\n      childProxy:\n        bands:\n          - {fromAge: 0, toAge: 10, level: full}\n          - {fromAge: 12, toAge: 17, level: limited, categories: [billing, labs]}\n"),
			want: []string{
				`test.yaml:29:23: networks[0].policy.childProxy.bands[1].fromAge: bands must follow each other without gaps or overlaps: expected 11, found 12`,
				`test.yaml:29:76: networks[0].policy.childProxy.bands[1].categories[1]: unknown category "labs" (known: allergies, appointments, billing, care-team, conditions, documents, immunizations, insurance, medications, messages, notes, procedures, results, visits, vitals)`,
			},
		},
		{
			name: "backend services at an external org, without a key",
			edit: replace("        membership: affiliated\n        endpoints:\n          - platform: cerner\n            fhirBaseURL: https://clinic.acme.example/r4\n            auth: {kind: none}",
				"        membership: external\n        endpoints:\n          - platform: smart\n            fhirBaseURL: https://clinic.acme.example/r4\n            auth: {kind: backend-services, clientID: gw, scopes: [patient/*.read]}"),
			want: []string{
				`test.yaml:24:19: networks[0].orgs[1].endpoints[0].auth.jwk: platform smart needs privateKeyFile or jwk to sign client assertions`,
				`test.yaml:24:26: networks[0].orgs[1].endpoints[0].auth.kind: an external org is reached by standalone patient launch, not backend services`,
				`test.yaml:24:67: networks[0].orgs[1].endpoints[0].auth.scopes[0]: backend services use system/ scopes, found "patient/*.read"`,
			},
		},
		{
			name: "public key where a private one is needed",
			edit: replace("auth: {kind: none}", "auth: {kind: standalone, clientID: gw, scopes: [launch/patient], redirectURL: 'https://gw.acme.example/cb', jwk: '${PUBLIC_JWK}'}"),
			preload: func(t *testing.T) []LoadOption {
				return testOptions(t, map[string]string{"PUBLIC_JWK": jwkJSON(t, &testRSAKey().PublicKey, "")})
			},
			want: []string{`test.yaml:24:126: networks[0].orgs[1].endpoints[0].auth.jwk: a private key is required to sign client assertions`},
		},
		{
			name: "not YAML",
			edit: func(string) string { return "networks:\n  - id: [x\n" },
			// yaml.v3 counts this parser error's line from the start of the
			// unclosed flow sequence, from 0.
			want: []string{`test.yaml:1: invalid YAML: did not find expected ',' or ']'`},
		},
		{
			name: "two documents",
			edit: func(s string) string { return s + "---\nnetworks: []\n" },
			want: []string{`test.yaml:25:1: only one YAML document is allowed`},
		},
		{
			name: "empty",
			edit: func(string) string { return "# nothing\n" },
			want: []string{`test.yaml: the file is empty`},
		},
		{
			name: "not a mapping",
			edit: func(string) string { return "- a\n- b\n" },
			want: []string{`test.yaml:1:1: expected a mapping, found a list`},
		},
		{
			name: "no networks",
			edit: func(string) string { return "version: 2\nnetworks: []\n" },
			want: []string{
				`test.yaml:1:10: version: unsupported version 2 (known: 1)`,
				`test.yaml:2:11: networks: at least one network is required`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, nil)
			if tt.preload != nil {
				opts = tt.preload(t)
			}
			cfg, err := Load("test.yaml", []byte(tt.edit(baseConfig)), opts...)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", cfg)
			}
			if cfg != nil {
				t.Error("Load returned a config with an error")
			}
			var got []string
			for _, fe := range FieldErrors(err) {
				got = append(got, fe.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err.Error() != strings.Join(got, "\n") {
				t.Errorf("Error() = %q, want the field errors one per line", err.Error())
			}
		})
	}
}

// TestLoadReportsAllProblems checks that one load reports problems from
// every part of the file, not just the first.
func TestLoadReportsAllProblems(t *testing.T) {
	bad := replace("platform: cerner", "platform: epik")(baseConfig)
	bad = replace("id: acme-clinic", "id: acme-hospital")(bad)
	bad = replace("accountModel: consent", "accountModel: shared")(bad)
	bad = appendToNetwork("    policy:\n      preset: nope\n      session: {idleTimeout: 1h, maxLifetime: 30m}\n")(bad)
	_, err := Load("test.yaml", []byte(bad), testOptions(t, nil)...)
	fes := FieldErrors(err)
	fields := make([]string, len(fes))
	for i, fe := range fes {
		fields[i] = fe.Field
	}
	want := []string{
		"networks[0].accountModel",
		"networks[0].orgs[1].id",
		"networks[0].orgs[1].endpoints[0].platform",
		"networks[0].policy.preset",
		"networks[0].policy.session.maxLifetime",
	}
	if strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Errorf("fields with problems = %v, want %v\n%v", fields, want, err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.yaml")
	if err := os.WriteFile(path, []byte(replace("platform: cerner", "platform: epik")(baseConfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path, testOptions(t, nil)...)
	if fes := FieldErrors(err); len(fes) != 1 || fes[0].File != path || fes[0].Line != 22 {
		t.Errorf("LoadFile error = %v, want one problem at %s:22", err, path)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func TestLoadMergeKeysAndAnchors(t *testing.T) {
	src := strings.Replace(baseConfig, "            auth:\n              kind: none", "            auth: &open\n              kind: none", 1)
	src = strings.Replace(src, "auth: {kind: none}", "auth:\n              <<: *open", 1)
	if _, err := Load("test.yaml", []byte(src), testOptions(t, nil)...); err != nil {
		t.Fatalf("anchors and merge keys: %v", err)
	}
}

func TestLoadRejectsAliasBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "x-a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	// A JWK mapping is converted whole, so the bomb would expand there.
	b.WriteString(strings.Replace(baseConfig, "auth: {kind: none}", "auth: {kind: none, jwk: {k: *a8}}", 1))
	_, err := Load("bomb.yaml", []byte(b.String()), testOptions(t, nil)...)
	if err == nil || !strings.Contains(err.Error(), "too deeply aliased") {
		t.Fatalf("alias bomb: %v", err)
	}
}

func TestLoadRejectsMergeBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-m0: &m0 {id: acme}\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "x-m%d: &m%d {<<: [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*m%d", i-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("networks: [{<<: *m8}]\n")
	_, err := Load("bomb.yaml", []byte(b.String()), testOptions(t, nil)...)
	if err == nil || !strings.Contains(err.Error(), "too deeply aliased") {
		t.Fatalf("merge bomb: %v", err)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	src := strings.Replace(baseConfig, "clientID: portal", "clientID: portal\n      clientSecret: s3cret-value", 1)
	cfg, err := Load("test.yaml", []byte(src), testOptions(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	idp := cfg.Networks[0].Identity
	if idp.ClientSecret.Reveal() != "s3cret-value" {
		t.Errorf("Reveal() = %q", idp.ClientSecret.Reveal())
	}
	for _, s := range []string{idp.ClientSecret.String(), fmtAll(idp), fmtAll(cfg.Networks[0])} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// appendToNetwork adds keys at the end of the first network (after line 24).
func appendToNetwork(keys string) func(string) string {
	return func(s string) string { return s + keys }
}

// appendSandbox adds a sandbox section for network acme (from line 25).
func appendSandbox(people string) func(string) string {
	return func(s string) string { return s + "sandbox:\n  network: acme\n" + people }
}
