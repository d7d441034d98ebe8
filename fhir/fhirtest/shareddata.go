package fhirtest

import (
	"os"
	"path/filepath"
)

// Skipper is the part of testing.TB that SharedData uses: *testing.T, B and F
// satisfy it. Asking for no more keeps package testing out of the binaries
// that ship the sandbox.
type Skipper interface {
	Helper()
	Skipf(format string, args ...any)
}

// SharedData returns the directory of the project's shared FHIR data set
// (synthea/ and inferno/ transaction bundles): ../shared/fhir-data beside the
// module root, found by walking up from the working directory, which go test
// sets to the package's directory, to the one holding go.mod. When the data
// set is absent it skips the test, so that tests over real records run
// wherever the data is and pass quietly elsewhere.
func SharedData(tb Skipper) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Skipf("shared FHIR data not looked for: no working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skipf("shared FHIR data not found: no go.mod above the working directory")
		}
		dir = parent
	}
	data := filepath.Join(dir, "..", "shared", "fhir-data")
	for _, sub := range []string{"synthea", "inferno"} {
		if fi, err := os.Stat(filepath.Join(data, sub)); err != nil || !fi.IsDir() {
			tb.Skipf("shared FHIR data not found: %s is absent (see the project README)", filepath.Join(data, sub))
		}
	}
	return filepath.Clean(data)
}
