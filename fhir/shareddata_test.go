package fhir_test

// Tests and benchmarks over the shared data set live in the external test
// package: fhirtest, which finds the data, imports fhir.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// sharedBundles returns the shared Synthea and Inferno bundles, or skips.
func sharedBundles(tb testing.TB) []string {
	tb.Helper()
	dir := fhirtest.SharedData(tb)
	var files []string
	for _, sub := range []string{"synthea", "inferno"} {
		matches, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) == 0 {
		tb.Skipf("no bundles in the shared FHIR data at %s", dir)
	}
	return files
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

var referenceValue = regexp.MustCompile(`"reference"\s*:\s*"([^"]*)"`)

func TestLoadBundleSharedData(t *testing.T) {
	for _, path := range sharedBundles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			resources, err := fhir.LoadBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			b, err := fhir.ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(resources) != len(b.Entry) {
				t.Fatalf("loaded %d resources from %d entries", len(resources), len(b.Entry))
			}
			ids := map[string]bool{}
			for _, raw := range resources {
				h, err := fhir.ReadHeader(raw)
				if err != nil {
					t.Fatal(err)
				}
				if h.ID == "" || ids[h.Ref()] {
					t.Fatalf("id of %s is empty or not unique", h.Ref())
				}
				ids[h.Ref()] = true
			}
			for i, raw := range resources {
				h, _ := fhir.ReadHeader(raw)
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
				orig, _ := fhir.ReadHeader(b.Entry[i].Resource)
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

// TestDecodeSharedData decodes every resource of the shared bundles, and
// the bundles themselves, without an error.
func TestDecodeSharedData(t *testing.T) {
	for _, path := range sharedBundles(t) {
		data := readFile(t, path)
		if _, _, err := fhir.Decode(data); err != nil {
			t.Errorf("%s: bundle: %v", filepath.Base(path), err)
		}
		resources, err := fhir.LoadBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		warned := 0
		for _, raw := range resources {
			v, warnings, err := fhir.Decode(raw)
			if err != nil {
				h, _ := fhir.ReadHeader(raw)
				t.Errorf("%s: %s: %v", filepath.Base(path), h.Ref(), err)
				continue
			}
			if v == nil {
				t.Fatal("nil resource")
			}
			if len(warnings) > 0 {
				warned++
				t.Logf("%s: %q", filepath.Base(path), warnings)
			}
		}
		if warned > 0 {
			t.Logf("%s: %d of %d resources decoded with warnings", filepath.Base(path), warned, len(resources))
		}
	}
}
