package fhirtest_test

import (
	"encoding/json"
	"fmt"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

func Example() {
	ts := fhirtest.NewTestServer(fhirtest.WithPlatform(fhir.Platform{
		Name:   "epic",
		Search: fhir.SearchQuirks{RequireOneOf: map[string][]string{"Observation": {"category", "code"}}},
	}))
	defer ts.Close()

	err := ts.Load(
		json.RawMessage(`{"resourceType":"Patient","id":"123","name":[{"family":"Doe"}]}`),
		json.RawMessage(`{"resourceType":"Observation","id":"a1c","status":"final","subject":{"reference":"Patient/123"},
			"category":[{"coding":[{"code":"laboratory"}]}],"code":{"text":"HbA1c"},"effectiveDateTime":"2024-05-01"}`),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, query := range []string{"/Observation?patient=123", "/Observation?patient=123&category=laboratory"} {
		resp, err := ts.Client().Get(ts.URL + query)
		if err != nil {
			fmt.Println(err)
			return
		}
		var b fhir.Bundle
		_ = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, len(b.Entry))
	}

	_ = ts.SetFaults(fhirtest.Faults{RateLimitRate: 1, RetryAfter: 2})
	resp, err := ts.Client().Get(ts.URL + "/Patient/123")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), len(ts.Requests()))
	// Output:
	// 400 0
	// 200 1
	// 429 2 3
}
