package fhir_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/synth"
)

// benchOrgs are the three orgs of the merge benchmark.
var benchOrgs = []synth.Org{
	{ID: "north", Name: "North Health", Platform: "epic"},
	{ID: "south", Name: "South Medical Group", Platform: "cerner"},
	{ID: "east", Name: "East Clinics", Platform: "athena"},
}

// mergeInput100k is 100,000 generated resources: batches of people, each
// batch (with a seed of its own) seen at all three orgs, so that every
// person's immunizations, problems, allergies and medications are reported
// three times under different ids.
var mergeInput100k = sync.OnceValues(func() (mergeInput, error) {
	const total, perBatch = 100_000, 8
	now := time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)
	opts := fhir.MergeOptions{}
	for _, o := range benchOrgs {
		opts.Orgs = append(opts.Orgs, fhir.SourceOrg{ID: o.ID, Name: o.Name, Source: "https://" + o.ID + ".ehr.example/fhir/r4"})
	}
	var in []fhir.Sourced
	for batch := uint64(1); len(in) < total; batch++ {
		people := make([]synth.Person, perBatch)
		for k := range people {
			age := 5 + (int(batch)*7+k*9)%85 // children to the very old
			people[k] = synth.Person{
				Key:       fmt.Sprintf("person-%d-%d", batch, k),
				Given:     []string{"Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana"}[k],
				Family:    fmt.Sprintf("Family%d", batch),
				Gender:    []string{"female", "male"}[k%2],
				BirthDate: now.AddDate(-age, -k, -int(batch)),
			}
		}
		synthOpts := synth.Options{Now: now, Seed: batch}
		for _, org := range benchOrgs {
			resources, err := synth.Records(people, org, synthOpts)
			if err != nil {
				return mergeInput{}, err
			}
			for _, r := range resources {
				in = append(in, fhir.Sourced{Org: org.ID, Resource: r})
			}
			for _, p := range people {
				opts.Patients = append(opts.Patients, fhir.PatientRecord{Org: org.ID, Patient: synth.PatientID(p.Key, org.ID, batch), Person: p.Key})
			}
		}
	}
	return mergeInput{in[:total], opts}, nil
})

type mergeInput struct {
	in   []fhir.Sourced
	opts fhir.MergeOptions
}

// BenchmarkMerge100k merges 100,000 resources from three orgs (DESIGN.md
// §11: at most 0.5 s, memory linear in the input).
func BenchmarkMerge100k(b *testing.B) {
	input, err := mergeInput100k()
	if err != nil {
		b.Fatal(err)
	}
	in, opts := input.in, input.opts
	var size int64
	for _, s := range in {
		size += int64(len(s.Resource))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var out []fhir.Merged
	for b.Loop() {
		if out, err = fhir.Merge(in, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "entries")
}
