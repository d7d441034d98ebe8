package adapters

import (
	"context"
	"strconv"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

// BenchmarkSearch compares one search of a page of 20 Observations through
// the adapter (the platform's quirks and data rules, breaker, retry loop,
// deadline and, for "adapter
// with token", a cached bearer token) with the same search through the raw
// fhir.Client, against a loopback fhirtest server. The difference is the
// adapter's overhead.
func BenchmarkSearch(b *testing.B) {
	open := newUpstream(b, upstreamConfig{platform: "smart", open: true})
	guarded := newUpstream(b, upstreamConfig{platform: "smart"})
	resources := []string{patient("p1")}
	for i := range 20 {
		resources = append(resources, observation("o"+strconv.Itoa(i), "p1", "", "laboratory"))
	}
	open.load(b, resources...)
	guarded.load(b, resources...)
	q := values("patient", "p1", "category", "laboratory")
	ctx := context.Background()

	b.Run("raw client", func(b *testing.B) {
		c, err := fhir.NewClient(open.URL, fhir.WithHTTPClient(open.Client()))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := c.Search(ctx, "Observation", q)
			if err != nil || len(res.Matches) != 20 {
				b.Fatalf("%v, %d matches", err, len(res.Matches))
			}
		}
	})
	b.Run("adapter", func(b *testing.B) {
		a, _ := open.adapterFor(b, endpointAt(b, open.URL, "smart"), Options{})
		for b.Loop() {
			res, err := a.Search(ctx, "Observation", q)
			if err != nil || len(res.Matches) != 20 {
				b.Fatalf("%v, %d matches", err, len(res.Matches))
			}
		}
	})
	b.Run("adapter with token", func(b *testing.B) {
		a, _ := guarded.adapterFor(b, guarded.endpoint(), Options{})
		for b.Loop() {
			res, err := a.Search(ctx, "Observation", q)
			if err != nil || len(res.Matches) != 20 {
				b.Fatalf("%v, %d matches", err, len(res.Matches))
			}
		}
	})
}

// BenchmarkDataRules measures applying a platform's data to one upstream
// search: capping _count and checking what the platform refuses.
func BenchmarkDataRules(b *testing.B) {
	p := platform(b, "cerner")
	q := values("patient", "p1", "date", "ge2024-01-01", "category", "laboratory", "_count", "500")
	for b.Loop() {
		if _, err := dataRules(p, "Observation", q); err != nil {
			b.Fatal(err)
		}
	}
}
