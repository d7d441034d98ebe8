package access

import (
	"encoding/json"
	"slices"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/tenants"
)

// grantFilter lets through the resources some grant covers: of a granted type, and meeting
// every condition of that grant. It stands behind AddParams, which upstreams may not honour,
// and checks what a read by id or a search's includes bring back.
type grantFilter struct {
	grants []Grant
}

func (f grantFilter) Apply(resource json.RawMessage) (json.RawMessage, error) {
	switch typ := resourceTypeOf(resource); typ {
	case "": // not a resource
		return nil, nil
	case "OperationOutcome": // the gateway's own word on a failed org, never patient data
		return resource, nil
	default:
		for _, g := range f.grants {
			if g.covers(typ) && meetsAll(g.Where, typ, resource) {
				return resource, nil
			}
		}
		return nil, nil
	}
}

// meetsAll reports whether the resource meets every condition. A resource without the element
// a condition reads, or with one that cannot be read, does not meet it.
func meetsAll(where []Condition, typ string, resource []byte) bool {
	for _, c := range where {
		var element [1]json.RawMessage
		if !pick(resource, []string{conditionElement(typ, c.Param)}, element[:]) {
			return false
		}
		codings, ok := codingsOf(element[0])
		if !ok || !slices.ContainsFunc(codings, func(cd tenants.Coding) bool {
			return slices.ContainsFunc(c.AnyOf, func(t fhir.Token) bool { return t.Matches(cd.System, cd.Code) })
		}) {
			return false
		}
	}
	return true
}

// conditionElement returns the element a search parameter reads on a resource type. Only
// elements that are CodeableConcepts are named: a MedicationRequest whose medication is a
// reference has no code to check and meets no code condition.
func conditionElement(typ, param string) string {
	if param == "code" {
		switch typ {
		case "Immunization":
			return "vaccineCode"
		case "MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration":
			return "medicationCodeableConcept"
		}
	}
	return param
}
