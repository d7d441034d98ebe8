package fhirtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// skipRecorder stands in for a test, recording the skip that SharedData
// asks for instead of skipping the real test.
type skipRecorder struct{ skipped string }

func (r *skipRecorder) Helper() {}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit() // as testing.T does: SharedData must not go on
}

// sharedDataIn runs SharedData from dir and returns its result or skip.
func sharedDataIn(t *testing.T, dir string) (found, skipped string) {
	t.Helper()
	t.Chdir(dir)
	rec := &skipRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		found = SharedData(rec)
	}()
	<-done
	return found, rec.skipped
}

func TestSharedData(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(root, "portalgate")
	pkg := filepath.Join(module, "fhir", "fhirtest")
	data := filepath.Join(root, "shared", "fhir-data")
	mkdir := func(dirs ...string) {
		for _, d := range dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkdir(pkg)

	if _, skipped := sharedDataIn(t, pkg); !strings.Contains(skipped, "no go.mod") {
		t.Errorf("without go.mod: skip %q, want one naming the missing go.mod", skipped)
	}

	if err := os.WriteFile(filepath.Join(module, "go.mod"), []byte("module example.com/m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, skipped := sharedDataIn(t, pkg); !strings.Contains(skipped, filepath.Join(data, "synthea")) {
		t.Errorf("without the data: skip %q, want one naming %s", skipped, filepath.Join(data, "synthea"))
	}

	mkdir(filepath.Join(data, "synthea"))
	if _, skipped := sharedDataIn(t, pkg); !strings.Contains(skipped, filepath.Join(data, "inferno")) {
		t.Errorf("without inferno/: skip %q, want one naming %s", skipped, filepath.Join(data, "inferno"))
	}

	mkdir(filepath.Join(data, "inferno"))
	for _, dir := range []string{pkg, module} {
		if found, skipped := sharedDataIn(t, dir); found != data || skipped != "" {
			t.Errorf("from %s: SharedData = %q (skip %q), want %s", dir, found, skipped, data)
		}
	}
}
