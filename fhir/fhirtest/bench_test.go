package fhirtest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// BenchmarkLoadSynthea loads the 14 Synthea bundles into a new server.
func BenchmarkLoadSynthea(b *testing.B) {
	var bundles [][]byte
	var size int64
	for _, f := range dataFiles(b, "synthea") {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bundles = append(bundles, data)
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		srv := New()
		for _, data := range bundles {
			if err := srv.LoadBundle(data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSearchLaboratory searches one Synthea patient's laboratory
// Observations (one page), the request the gateway makes most.
func BenchmarkSearchLaboratory(b *testing.B) {
	srv := loadedServer(b)
	o := loadOracle(b)
	patient := o.first("Patient", func(r oracleResource) bool {
		return len(o.where("Observation", func(obs oracleResource) bool {
			return o.refersTo(obs, "subject", "Patient/"+r.id) && hasCode(obs, "category", "", "laboratory")
		})) > 20
	})
	target := "/Observation?patient=" + patient + "&category=laboratory"
	if rec := get(b, srv, target); rec.Code != http.StatusOK {
		b.Fatalf("status %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
