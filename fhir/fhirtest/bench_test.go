package fhirtest

import (
	"bytes"
	"encoding/json"
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

// BenchmarkSetIDAndMeta stamps id and meta into a typical 2 kB Observation,
// as every create, update and load does.
func BenchmarkSetIDAndMeta(b *testing.B) {
	var raw bytes.Buffer
	if err := json.Compact(&raw, []byte(observation)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(raw.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := setIDAndMeta(raw.Bytes(), "bp-3c766796", "5", "2026-11-22T09:00:00.000Z"); err != nil {
			b.Fatal(err)
		}
	}
}

// observation is a US Core blood pressure reading.
const observation = `{
	"resourceType": "Observation",
	"id": "bp-3c766796",
	"meta": {"versionId":"4","lastUpdated":"2025-03-02T10:15:00.000Z","profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"]},
	"status": "final",
	"category": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}],"text":"Vital Signs"}],
	"code": {"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}],"text":"Blood pressure"},
	"subject": {"reference":"Patient/e91975f5-9445-c11f-cabf-c3c6dae161f2","display":"Ms. Dana Feest"},
	"encounter": {"reference":"Encounter/9030cedd-7de1-9f69-89c5-9968cc4c2789"},
	"effectiveDateTime": "2024-05-19T19:33:18-04:00",
	"issued": "2024-05-19T19:33:18.715-04:00",
	"performer": [{"reference":"Practitioner/618787f5-2588-3dca-b90e-5e8fd27b1a36","display":"Dr. Blossom Christiansen"}],
	"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}],"text":"Above high normal"}],
	"note": [{"text":"Measured seated, left arm, after five minutes of rest."}],
	"component": [
		{
			"code": {"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}],"text":"Systolic"},
			"valueQuantity": {"value":142,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},
			"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}]}],
			"referenceRange": [{"low":{"value":90,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"high":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]
		},
		{
			"code": {"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic blood pressure"}],"text":"Diastolic"},
			"valueQuantity": {"value":91,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},
			"interpretation": [{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"H","display":"High"}]}],
			"referenceRange": [{"low":{"value":60,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"high":{"value":80,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]
		}
	]
}`
