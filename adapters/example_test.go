package adapters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/url"

	"github.com/portalgate/portalgate/adapters"
	_ "github.com/portalgate/portalgate/adapters/all" // the code of every shipped platform
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/tenants"
)

// An athena endpoint refuses MedicationRequest searches without an intent;
// athena's adapter (adapters/athena, linked by adapters/all) adds every
// intent, so the search finds what it would anywhere.
func ExampleAdapter_Search() {
	platforms, err := tenants.DefaultPlatforms()
	if err != nil {
		log.Fatal(err)
	}
	ehr := fhirtest.NewTestServer(fhirtest.WithPlatform(platforms["athena"]))
	defer ehr.Close()
	err = ehr.Load(
		json.RawMessage(`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/p1"}}`),
		json.RawMessage(`{"resourceType":"MedicationRequest","id":"m2","status":"active","intent":"plan","subject":{"reference":"Patient/p1"}}`),
	)
	if err != nil {
		log.Fatal(err)
	}

	endpoint := adapters.Endpoint{Name: "riverbend", BaseURL: ehr.URL, Platform: platforms["athena"],
		Auth: adapters.Auth{Kind: adapters.AuthNone}}
	a, err := adapters.New(endpoint, adapters.Options{})
	if err != nil {
		log.Fatal(err)
	}
	res, err := a.Search(context.Background(), "MedicationRequest", url.Values{"patient": {"p1"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Matches), "medication requests")
	// Output: 2 medication requests
}
