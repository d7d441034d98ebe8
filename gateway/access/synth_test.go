package access_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/synth"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/tenants"
)

// synthPolicy holds the generator's sensitive codes and releases the rest after 4 days, as
// the seed does.
func synthPolicy(t testing.TB) tenants.ResultPolicy {
	t.Helper()
	policy := resultPolicy(t)
	policy.HeldForClinician = nil
	for _, s := range synth.DefaultSensitiveCodes() {
		tok, err := tenants.ParseCodeToken(s)
		if err != nil {
			t.Fatal(err)
		}
		policy.HeldForClinician = append(policy.HeldForClinician, tok)
	}
	return policy
}

// synthRecords generates the records of an adult, a teenager and a child at one org, as of
// testNow.
func synthRecords(t testing.TB) []json.RawMessage {
	t.Helper()
	born := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	people := []synth.Person{
		{Key: "dana", Given: "Dana", Family: "Okafor", Gender: "female", BirthDate: born(1981, 5, 14)},
		{Key: "ines", Given: "Ines", Family: "Okafor", Gender: "female", BirthDate: born(2008, 11, 23)},
		{Key: "milo", Given: "Milo", Family: "Okafor", Gender: "male", BirthDate: born(2020, 4, 9)},
	}
	records, err := synth.Records(people, synth.Org{ID: "lakeside-lab", Platform: "smart"}, synth.Options{Now: testNow, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// result is what the test reads of a generated result.
type result struct {
	ResourceType string
	ID           string
	Issued       string
	Code         struct {
		Coding []struct{ System, Code string }
	}
	Meta struct {
		Security []struct{ System, Code string }
	}
}

func (r result) sensitive(policy tenants.ResultPolicy) bool {
	var codes []tenants.Coding
	for _, c := range r.Code.Coding {
		codes = append(codes, tenants.Coding{System: c.System, Code: c.Code})
	}
	return policy.Holds(codes)
}

func (r result) labelled() bool {
	return slices.ContainsFunc(r.Meta.Security, func(c struct{ System, Code string }) bool {
		return c.System == "http://terminology.hl7.org/CodeSystem/v3-Confidentiality" && c.Code == "R"
	})
}

// On generated records: every result with a sensitive code is held with no value left, the
// results of the last days are pending until 4 days after they were issued, and older ones
// pass byte for byte.
func TestReleaseFilterOnGeneratedRecords(t *testing.T) {
	policy := synthPolicy(t)
	f := access.ReleaseFilter{Policy: policy, Now: testNow}
	later := access.ReleaseFilter{Policy: policy, Now: testNow.AddDate(10, 0, 0)}
	counts := map[tenants.ReleaseState]int{}
	for _, raw := range synthRecords(t) {
		header, err := fhir.ReadHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.Apply(raw)
		if err != nil {
			t.Fatalf("%s: %v", header.Ref(), err)
		}
		if header.ResourceType != "Observation" && header.ResourceType != "DiagnosticReport" {
			if !bytes.Equal(out, raw) {
				t.Errorf("%s was changed", header.Ref())
			}
			continue
		}
		var r result
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		release, isResult, err := f.Release(raw)
		if err != nil {
			t.Fatal(err)
		}
		state := release.State
		if !isResult {
			state = tenants.ResultReleased
		}
		counts[state]++
		switch {
		case r.sensitive(policy) || r.labelled():
			if state != tenants.ResultHeld {
				t.Errorf("%s/%s has a sensitive code or label and is %s", r.ResourceType, r.ID, state)
			}
		case r.Issued != "":
			issued, err := time.Parse(time.RFC3339, r.Issued)
			if err != nil {
				t.Fatal(err)
			}
			want := tenants.ResultReleased
			if testNow.Sub(issued) < 4*day {
				want = tenants.ResultPending
			}
			if isResult && state != want {
				t.Errorf("%s/%s issued %s is %s, want %s", r.ResourceType, r.ID, r.Issued, state, want)
			}
		}
		if state == tenants.ResultReleased {
			if !bytes.Equal(out, raw) {
				t.Errorf("released %s/%s was changed", r.ResourceType, r.ID)
			}
			continue
		}
		checkWithheld(t, out, state)

		// Ten years on, everything is released but what a clinician holds.
		out, err = later.Apply(raw)
		if err != nil {
			t.Fatal(err)
		}
		if state == tenants.ResultHeld {
			checkWithheld(t, out, tenants.ResultHeld)
		} else if !bytes.Equal(out, raw) {
			t.Errorf("%s/%s is still withheld ten years on", r.ResourceType, r.ID)
		}
	}
	t.Logf("results by state: %v", counts)
	for _, state := range []tenants.ReleaseState{tenants.ResultHeld, tenants.ResultPending, tenants.ResultReleased} {
		if counts[state] == 0 {
			t.Errorf("no %s result in the generated records: the test proves nothing", state)
		}
	}
}

// On the shared Synthea and Inferno records, under the seed policy: the filter reads every
// resource, and whatever it withholds keeps no value.
func TestReleaseFilterOnSharedRecords(t *testing.T) {
	dir := fhirtest.SharedData(t)
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no shared bundles in %s: %v", dir, err)
	}
	// The Synthea records end years before testNow: judge them a day after their newest result
	// too, so that some are pending.
	filters := []access.ReleaseFilter{
		{Policy: resultPolicy(t), Now: testNow},
		{Policy: resultPolicy(t), Now: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	withheld := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		resources, err := fhir.LoadBundle(data)
		if err != nil {
			continue // not a bundle (a license, a manifest)
		}
		for _, raw := range resources {
			for _, f := range filters {
				out, err := f.Apply(raw)
				if err != nil {
					t.Fatalf("%s: %v", filepath.Base(file), err)
				}
				if bytes.Equal(out, raw) {
					continue
				}
				withheld++
				release, _, _ := f.Release(raw)
				checkWithheld(t, out, release.State)
			}
		}
	}
	t.Logf("withheld %d results", withheld)
}
