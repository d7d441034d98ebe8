package configs_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/portalgate/portalgate/configs"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/tenants"
)

// now is the fixed clock for sandbox ages.
var now = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

func TestPlatformQuirks(t *testing.T) {
	files, err := fs.Glob(configs.FS, "platforms/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	platforms := map[string]fhir.Platform{}
	for _, file := range files {
		data, err := fs.ReadFile(configs.FS, file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := fhir.ParsePlatform(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if want := strings.TrimSuffix(path.Base(file), ".yaml"); p.Name != want {
			t.Errorf("%s names platform %q", file, p.Name)
		}
		if p.PreviousRelation == "" {
			t.Errorf("%s: previousRelation is not set", file)
		}
		// Each shipped platform has its own adapter package, adapters/<name>.
		if p.Adapter != p.Name {
			t.Errorf("%s names adapter %q; the shipped files name their own", file, p.Adapter)
		}
		platforms[p.Name] = p
	}
	if names := slices.Sorted(maps.Keys(platforms)); !slices.Equal(names, []string{"athena", "cerner", "epic", "smart"}) {
		t.Fatalf("platforms = %v", names)
	}

	searches := []struct {
		platform, typ string
		params        []string
		ok            bool
	}{
		{"epic", "Observation", []string{"patient"}, false},
		{"epic", "Observation", []string{"patient", "category"}, true},
		{"epic", "Observation", []string{"patient", "code"}, true},
		{"epic", "Condition", []string{"patient"}, true},
		{"cerner", "Observation", []string{"category"}, false},
		{"cerner", "Observation", []string{"patient", "category"}, true},
		{"cerner", "Observation", []string{"subject"}, true},
		{"cerner", "Observation", []string{"patient", "date", "_lastUpdated"}, false},
		{"cerner", "AllergyIntolerance", []string{"clinical-status"}, false},
		{"cerner", "Patient", []string{"name"}, true},
		{"athena", "MedicationRequest", []string{"patient"}, false},
		{"athena", "MedicationRequest", []string{"patient", "intent"}, true},
		{"athena", "Observation", []string{"patient"}, true},
		{"smart", "Observation", []string{"patient"}, true},
		{"smart", "Observation", []string{"date", "_lastUpdated"}, true},
	}
	for _, s := range searches {
		err := platforms[s.platform].CheckSearch(s.typ, s.params)
		if (err == nil) != s.ok {
			t.Errorf("%s: %s?%v: %v, want accepted=%v", s.platform, s.typ, s.params, err, s.ok)
		}
	}

	epic, cerner, smart := platforms["epic"], platforms["cerner"], platforms["smart"]
	if !epic.Search.OutcomeWarnings || epic.Everything || epic.Auth.BackendClientAuth != "private_key_jwt" || epic.Auth.BackendAssertionAlg != "RS384" {
		t.Errorf("epic quirks: %+v", epic)
	}
	for _, c := range []string{"laboratory", "vital-signs", "social-history", "survey", "exam", "imaging", "procedure", "sdoh"} {
		if !slices.Contains(epic.ObservationCategories, c) {
			t.Errorf("epic fans out without category %s", c)
		}
	}
	if cerner.PageSize(500) != 200 || cerner.PageSize(0) != 50 {
		t.Errorf("cerner page sizes: %d, %d", cerner.PageSize(500), cerner.PageSize(0))
	}
	if !smart.Everything || smart.PageSize(500) != 500 {
		t.Errorf("smart quirks: %+v", smart)
	}
	// Both spellings of the previous-page link occur, so readers must accept both.
	relations := map[string]bool{}
	for _, p := range platforms {
		relations[p.PreviousRelation] = true
	}
	if !relations["prev"] || !relations["previous"] {
		t.Errorf("previous-page relations in use: %v", relations)
	}
}

// TestShippedConfigs loads every shipped configuration with the loader and
// validates it against the JSON Schema.
func TestShippedConfigs(t *testing.T) {
	schema := compileSchema(t)
	files := shippedConfigs(t)
	if !slices.Contains(files, "sandbox.yaml") || !slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, "examples/") }) {
		t.Fatalf("shipped configs = %v, want sandbox.yaml and examples", files)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			if _, err := tenants.LoadFS(configs.FS, file, loadOptions(t)...); err != nil {
				t.Errorf("loader: %v", err)
			}
			data, err := fs.ReadFile(configs.FS, file)
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(yamlToJSONValue(t, data)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}

func TestSchemaRejectsBrokenConfigs(t *testing.T) {
	schema := compileSchema(t)
	base, err := fs.ReadFile(configs.FS, "sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edits := map[string][2]string{
		"unknown platform": {"platform: epic", "platform: epik"},
		"unknown key":      {"accountModel: consent", "accountModel: consent\n    colour: blue"},
		"bad duration":     {"preset: seed", "preset: seed\n      session: {idleTimeout: 20 minutes}"},
		"unknown preset":   {"preset: seed", "preset: sed"},
		"http issuer":      {"issuer: ${SANDBOX_URL}/sandbox/idp", "issuer: http://idp.example"},
		"age and birth":    {"age: 42", "age: 42\n      birthDate: 1984-01-01"},
		"bad category":     {"preset: seed", "preset: seed\n      guarantor: {categories: [labs]}"},
		"missing org id":   {"- id: lakeside-lab\n", "- name-only: x\n"},
	}
	for name, e := range edits {
		broken := strings.Replace(string(base), e[0], e[1], 1)
		if broken == string(base) {
			t.Fatalf("%s: edit does not apply", name)
		}
		if err := schema.Validate(yamlToJSONValue(t, []byte(broken))); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := tenants.Load("sandbox.yaml", []byte(broken), loadOptions(t)...); err == nil {
			t.Errorf("%s: the loader accepts it", name)
		}
	}
}

// TestSchemaMatchesGo keeps the schema's closed lists equal to the Go ones.
func TestSchemaMatchesGo(t *testing.T) {
	data, err := fs.ReadFile(configs.FS, "config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	enumOf := func(def string, pointer ...string) []string {
		var v any
		if err := json.Unmarshal(doc.Defs[def], &v); err != nil {
			t.Fatal(err)
		}
		for _, key := range pointer {
			switch node := v.(type) {
			case map[string]any:
				v = node[key]
			case []any:
				v = node[0]
			}
		}
		var out []string
		for _, x := range v.(map[string]any)["enum"].([]any) {
			out = append(out, x.(string))
		}
		slices.Sort(out)
		return out
	}
	var cats []string
	for _, c := range tenants.Categories() {
		cats = append(cats, string(c))
	}
	if got := enumOf("category"); !slices.Equal(got, cats) {
		t.Errorf("schema categories %v, Go %v", got, cats)
	}
	if got := enumOf("policy", "properties", "preset", "anyOf", "0"); !slices.Equal(got, tenants.PresetNames()) {
		t.Errorf("schema presets %v, Go %v", got, tenants.PresetNames())
	}
	platforms, err := tenants.DefaultPlatforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := enumOf("endpoint", "properties", "platform", "anyOf", "0"); !slices.Equal(got, slices.Sorted(maps.Keys(platforms))) {
		t.Errorf("schema platforms %v, Go %v", got, slices.Sorted(maps.Keys(platforms)))
	}
}

// TestSandboxPeople checks the people the sandbox promises (DESIGN §9).
func TestSandboxPeople(t *testing.T) {
	cfg, err := tenants.LoadFS(configs.FS, "sandbox.yaml", loadOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	net, ok := cfg.Network("lakeside")
	if !ok || net.Name != "Lakeside Health" || net.AccountModel != tenants.AccountModelConsent || net.Policy.Preset != tenants.PresetSeed {
		t.Fatalf("lakeside network: %+v", net)
	}
	if net.Identity.Issuer != "http://127.0.0.1:8080/sandbox/idp" {
		t.Errorf("issuer = %q", net.Identity.Issuer)
	}
	wantOrgs := map[string]string{"lakeside-hospital": "epic", "lakeside-clinics": "cerner", "lakeside-lab": "smart", "riverbend": "athena"}
	for id, platform := range wantOrgs {
		org, ok := net.Org(id)
		if !ok {
			t.Fatalf("org %s missing", id)
		}
		ep := org.Primary()
		if ep.Platform != platform || ep.FHIRBaseURL != "http://127.0.0.1:8080/sandbox/"+id+"/fhir" {
			t.Errorf("org %s endpoint: %s %s", id, ep.Platform, ep.FHIRBaseURL)
		}
		wantMembership := tenants.MembershipAffiliated
		if id == "riverbend" {
			wantMembership = tenants.MembershipExternal
		}
		if org.Membership != wantMembership {
			t.Errorf("org %s membership %s", id, org.Membership)
		}
	}

	sb := cfg.Sandbox
	today := now.In(net.Location())
	age := func(p *tenants.SandboxPerson) int { return tenants.AgeOn(p.BirthDateOn(today), today) }
	affiliated := []string{"lakeside-hospital", "lakeside-clinics", "lakeside-lab"}
	var (
		sharesAll, declines, child7, child12, teen17, centenarian, linker bool
	)
	for i := range sb.People {
		p := &sb.People[i]
		a := age(p)
		switch {
		case a >= 18 && p.ShareAcrossNetwork && containsAll(p.Records, affiliated):
			sharesAll = true
		case a >= 18 && !p.ShareAcrossNetwork && len(p.Records) >= 2:
			declines = true
		}
		switch a {
		case 7:
			child7 = child7 || hasProxy(sb, p.ID, tenants.RelParent)
		case 12:
			child12 = child12 || hasProxy(sb, p.ID, tenants.RelParent)
		case 17:
			teen17 = true
		case 101:
			centenarian = hasProxy(sb, p.ID, tenants.RelAdultChild)
		}
		linker = linker || slices.Contains(p.Records, "riverbend")
		if p.Username != "" {
			if q, ok := sb.ByUsername(p.Username); !ok || q.ID != p.ID {
				t.Errorf("ByUsername(%q) does not find %s", p.Username, p.ID)
			}
		}
	}
	for what, ok := range map[string]bool{
		"an adult sharing records at all three orgs":      sharesAll,
		"an adult who declines, with records at two orgs": declines,
		"a 7-year-old with a parent proxy":                child7,
		"a 12-year-old with a parent proxy":               child12,
		"a 17-year-old":                                   teen17,
		"a 101-year-old with an adult-child proxy":        centenarian,
		"someone with a record at riverbend":              linker,
	} {
		if !ok {
			t.Errorf("the sandbox has no %s", what)
		}
	}
}

// TestSandboxLoadsWithItsVariablesOnly loads the sandbox the way the
// sandbox does: SANDBOX_URL and SANDBOX_BACKEND_JWK are all it passes.
func TestSandboxLoadsWithItsVariablesOnly(t *testing.T) {
	cfg, err := tenants.LoadFS(configs.FS, "sandbox.yaml",
		tenants.WithEnv(nil),
		tenants.WithVars(sandboxVars(t, "http://127.0.0.1:9")),
		tenants.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	net, _ := cfg.Network("lakeside")
	for _, org := range net.Affiliated() {
		auth := org.Primary().Auth
		if auth.Kind != tenants.AuthBackendServices {
			t.Errorf("%s: auth kind %s", org.ID, auth.Kind)
		}
		if org.Primary().Quirks().Auth.BackendClientAuth != "private_key_jwt" {
			continue
		}
		key := auth.JWK.Key()
		if key == nil || key.IsPublic() || key.Algorithm != "RS384" || key.KeyID == "" {
			t.Fatalf("%s: sandbox signing key %v", org.ID, key)
		}
		if pub := key.Public(); !pub.Valid() || !pub.IsPublic() {
			t.Errorf("%s: the public half cannot be registered", org.ID)
		}
	}
}

func TestEmbeddedFiles(t *testing.T) {
	for _, name := range []string{"sandbox.yaml", "config.schema.json", "platforms/epic.yaml", "platforms/cerner.yaml", "platforms/athena.yaml", "platforms/smart.yaml"} {
		if _, err := fs.Stat(configs.FS, name); err != nil {
			t.Errorf("%s is not embedded: %v", name, err)
		}
	}
}

func hasProxy(sb *tenants.Sandbox, subject string, rel tenants.Relationship) bool {
	return slices.ContainsFunc(sb.People, func(p tenants.SandboxPerson) bool {
		return slices.Contains(p.ActsFor, tenants.SandboxProxy{Person: subject, Relationship: rel})
	})
}

func containsAll(have, want []string) bool {
	return !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(have, w) })
}

func shippedConfigs(t *testing.T) []string {
	var files []string
	err := fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasPrefix(p, "platforms/") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// loadOptions give the sandbox its listener URL and every other ${NAME} (the
// examples' secrets) a placeholder.
func loadOptions(t *testing.T) []tenants.LoadOption {
	return []tenants.LoadOption{
		tenants.WithEnv(func(name string) (string, bool) { return "placeholder-" + strings.ToLower(name), true }),
		tenants.WithVars(sandboxVars(t, "http://127.0.0.1:8080")),
		tenants.WithClock(func() time.Time { return now }),
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	data, err := fs.ReadFile(configs.FS, "config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("config.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// yamlToJSONValue turns YAML into the value a JSON parser would produce, so
// the schema sees the file as written (before ${NAME} expansion).
func yamlToJSONValue(t *testing.T, data []byte) any {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonable writes YAML dates back as the text they were.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonable(x)
		}
	case []any:
		for i, x := range v {
			v[i] = jsonable(x)
		}
	case time.Time:
		if v.Equal(v.Truncate(24 * time.Hour)) {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339Nano)
	}
	return v
}

// backendJWK is a signing key like the one the sandbox makes at start.
var backendJWK = sync.OnceValues(func() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: "test", Algorithm: "RS384", Use: "sig"})
	return string(b), err
})

// sandboxVars are the variables the sandbox passes when it loads its file.
func sandboxVars(t *testing.T, url string) map[string]string {
	t.Helper()
	jwk, err := backendJWK()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"SANDBOX_URL": url, "SANDBOX_BACKEND_JWK": jwk}
}
