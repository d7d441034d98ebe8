package access_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/portalgate/portalgate/gateway/access"
)

// The decision and its filters sit on every request: a cached read of a page of 20 results
// must stay far below DESIGN §11's budget of 200 µs a request at 5,000 requests a second.

func BenchmarkDecide(b *testing.B) {
	d := newDecider(b)
	appReq := selfRequest(access.PurposeApp, access.Search, "Observation", "openid", "fhirUser", "launch/patient",
		labScope, vitalsScope, "patient/Condition.rs", "patient/Patient.r", "patient/Immunization.rs")
	appReq.Params = url.Values{"category": {"laboratory"}, "date": {"ge2026-01-01"}}
	for _, bench := range []struct {
		name string
		req  access.Request
	}{
		{"portal", selfRequest(access.PurposePortal, access.Search, "Observation")},
		{"app-fine-grained", appReq},
	} {
		b.Run(bench.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				dec, err := d.Decide(ctx, bench.req)
				if err != nil || !dec.Allowed {
					b.Fatal(dec.Reason, err)
				}
			}
		})
	}
}

func BenchmarkReleaseFilter(b *testing.B) {
	f := access.ReleaseFilter{Policy: resultPolicy(b), Now: testNow}
	condition := json.RawMessage(`{"resourceType":"Condition","id":"c1","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],` +
		`"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"subject":{"reference":"Patient/p"}}`)
	for _, bench := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"other-type", condition},
		{"released", observation(hemoglobin, "2026-10-01T10:00:00Z")},
		{"pending", observation(hemoglobin, "2026-11-21T10:00:00Z")},
		{"held-report", report(hivScreen, "2026-11-21T10:00:00Z")},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bench.raw)))
			for b.Loop() {
				if _, err := f.Apply(bench.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPostProcessPage filters a page of 20 laboratory results for an app with a
// fine-grained scope: the grant filter and the release filter on each.
func BenchmarkPostProcessPage(b *testing.B) {
	dec, err := newDecider(b).Decide(context.Background(), selfRequest(access.PurposeApp, access.Search, "Observation", labScope))
	if err != nil || !dec.Allowed {
		b.Fatal(dec.Reason, err)
	}
	page := make([]json.RawMessage, 20)
	for k := range page {
		issued := "2026-10-01T10:00:00Z"
		if k%5 == 0 {
			issued = "2026-11-21T10:00:00Z"
		}
		page[k] = observation(hemoglobin, issued)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range page {
			if _, err := dec.PostProcess(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
}
