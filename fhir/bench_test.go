package fhir_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

// benchBundle returns one Synthea transaction bundle (about 600 kB, 166 entries).
func benchBundle(b *testing.B) []byte {
	for _, path := range sharedBundles(b) {
		if filepath.Base(path) == "Willia_Runolfsdottir.json" {
			return readFile(b, path)
		}
	}
	b.Skip("Willia_Runolfsdottir.json is not in the shared data")
	return nil
}

func BenchmarkLoadBundle(b *testing.B) {
	data := benchBundle(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := fhir.LoadBundle(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode decodes every resource of one patient's bundle per op.
func BenchmarkDecode(b *testing.B) {
	resources, err := fhir.LoadBundle(benchBundle(b))
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, r := range resources {
		size += int64(len(r))
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, raw := range resources {
			if _, _, err := fhir.Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeTolerant measures the fallback path taken when a value is rejected.
func BenchmarkDecodeTolerant(b *testing.B) {
	raw := json.RawMessage(`{"resourceType":"Patient","id":"1","gender":"x","name":[{"use":"weird","family":"F","given":["A","B"]}],"birthDate":"2000-01-01","address":[{"line":["1 Main St"],"city":"Boston","state":"MA"}]}`)
	for b.Loop() {
		if _, w, err := fhir.Decode(raw); err != nil || len(w) != 2 {
			b.Fatal(err, w)
		}
	}
}
