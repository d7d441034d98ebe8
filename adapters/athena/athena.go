// Package athena owns the code of athenahealth's platform, for what its data
// (configs/platforms/athena.yaml) cannot say: a search lacking a parameter
// the data says the platform requires (requireAll), when that parameter's
// element has a required value set, is sent with every code of that set,
// which changes nothing about what the search finds. That is how a
// MedicationRequest search gets the intent athena insists on. A required
// parameter without such a set is left missing, and package adapters
// refuses the search, as the data says the platform would.
//
// Importing the package registers it as the adapter "athena" (adapters.Register
// says why adapters register themselves); adapters/all imports every
// shipped one.
package athena

import (
	"context"
	"net/url"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
)

func init() { adapters.Register("athena", quirks{}) }

// everyCode holds, per resource type and search parameter, every code of
// the required value set of the element the parameter searches.
var everyCode = map[string]map[string]string{
	"MedicationRequest": {
		// FHIR R4 MedicationRequest.intent, required binding to
		// http://hl7.org/fhir/ValueSet/medicationrequest-intent.
		"intent": "proposal,plan,order,original-order,reflex-order,filler-order,instance-order,option",
	},
}

type quirks struct{}

func (quirks) Search(ctx context.Context, p fhir.Platform, typ string, params url.Values, next adapters.Searcher) (*fhir.SearchResult, error) {
	for _, key := range []string{typ, "*"} {
		for _, name := range p.Search.RequireAll[key] {
			if codes, ok := everyCode[typ][name]; ok && !adapters.HasParam(params, name) {
				params.Set(name, codes)
			}
		}
	}
	return next(ctx, typ, params)
}
