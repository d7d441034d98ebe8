package tenants

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/configs"
)

// FuzzLoad feeds arbitrary files to the loader: it must never panic, and it
// either returns a config or only well-formed field errors.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(baseConfig))
	f.Add([]byte(baseConfig + "    policy: {preset: seed, session: {idleTimeout: 5m}}\n"))
	f.Add([]byte(baseConfig + "sandbox:\n  network: acme\n  people:\n    - {id: a, given: A, family: B, gender: male, age: 40, records: [acme-hospital]}\n"))
	f.Add([]byte("networks:\n  - id: [x\n"))
	f.Add([]byte("x-a: &a {k: v}\nnetworks: [{<<: *a}]\n"))
	f.Add([]byte("networks: [{id: ${X:-a}, name: '$$'}]\n---\n"))
	_ = fs.WalkDir(configs.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".yaml") && !strings.HasPrefix(path, "platforms/") {
			data, _ := fs.ReadFile(configs.FS, path)
			f.Add(data)
		}
		return nil
	})
	opts := testOptions(f, map[string]string{"X": "b"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load("fuzz.yaml", data, opts...)
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			fes := FieldErrors(err)
			if len(fes) == 0 {
				t.Fatalf("error without field errors: %v", err)
			}
			for _, fe := range fes {
				if fe.File != "fuzz.yaml" || fe.Err == nil || fe.Line < 0 || fe.Column < 0 {
					t.Fatalf("malformed field error: %#v", fe)
				}
			}
			return
		}
		for _, n := range cfg.Networks {
			if !validID(n.ID) || len(n.Orgs) == 0 || n.Policy.Preset == "" {
				t.Fatalf("invalid network accepted: %+v", n)
			}
			for _, o := range n.Orgs {
				for _, e := range o.Endpoints {
					if e.Quirks().Name != e.Platform {
						t.Fatalf("endpoint without its platform: %+v", e)
					}
				}
			}
		}
	})
}

// FuzzUnits checks that every value parser either refuses its input or
// accepts what it prints back.
func FuzzUnits(f *testing.F) {
	for _, s := range []string{"20m", "45d", "1h30m", "P4D", "PT20M", "3y", "1mo", "P1Y6M", "10MiB", "2016-02-29", "http://loinc.org|7917-8", "1.5w", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("negative duration from %q", s)
			}
			if back, err := ParseDuration(d.String()); err != nil || back != d {
				t.Fatalf("duration %q → %q → %v, %v", s, d, back, err)
			}
		}
		if p, err := ParsePeriod(s); err == nil {
			if back, err := ParsePeriod(p.String()); err != nil || back != p {
				t.Fatalf("period %q → %q → %v, %v", s, p, back, err)
			}
		}
		if d, err := ParseDate(s); err == nil {
			if back, err := ParseDate(d.String()); err != nil || back != d {
				t.Fatalf("date %q → %q → %v, %v", s, d, back, err)
			}
		}
		if b, err := ParseByteSize(s); err == nil && b < 0 {
			t.Fatalf("negative size from %q", s)
		}
		if tok, err := ParseCodeToken(s); err == nil {
			if back, err := ParseCodeToken(tok.String()); err != nil || back != tok {
				t.Fatalf("code %q → %q → %v, %v", s, tok, back, err)
			}
		}
	})
}
