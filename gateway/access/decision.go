package access

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
)

// Decision is the answer to a Request.
type Decision struct {
	// Allowed says whether the request may go on. When it is false, Status suggests the HTTP
	// status (401, 403, 404) and Reason says why in words a patient understands.
	Allowed bool
	Status  int
	Reason  string
	// Records are the records to read or write, in the order they were given.
	Records []Record
	// Grants are what the actor may do with this interaction, by type ("*" for every type).
	// For a whole-record request, Permits tells which types to fetch.
	Grants []Grant
	// AddParams are search parameters to add to the upstream search, each ANDed with what the
	// request asked (a repeated parameter is an AND in FHIR): the conditions of fine-grained
	// scopes. They narrow the search; Filters still check every resource.
	AddParams url.Values
	// Filters post-process every resource: run each returned resource through PostProcess.
	// For create and update, run the resource to be written through it too: nil means the
	// actor may not write it.
	Filters []Filter
	// Audit says whose records the request is about, for the audit trail.
	Audit AuditSubject
}

// deny returns a refusal.
func deny(status int, reason string, audit AuditSubject) Decision {
	return Decision{Status: status, Reason: reason, Audit: audit}
}

// Permits reports whether the decision lets its interaction reach resources of type typ (at
// least some of them, when conditions apply).
func (d Decision) Permits(typ string) bool {
	return d.Allowed && slices.ContainsFunc(d.Grants, func(g Grant) bool { return g.Type == "*" || g.Type == typ })
}

// PostProcess runs a resource through the decision's filters. It returns the resource as the
// actor may see it (the same bytes when nothing applies), or nil when the actor may not see it
// at all. resource must be valid JSON; an error means it could not be read, and the caller
// must then leave it out.
func (d Decision) PostProcess(resource json.RawMessage) (json.RawMessage, error) {
	if !d.Allowed {
		return nil, nil
	}
	for _, f := range d.Filters {
		var err error
		if resource, err = f.Apply(resource); err != nil || resource == nil {
			return nil, err
		}
	}
	return resource, nil
}

// Filter post-processes resources on their way to the actor.
type Filter interface {
	// Apply returns the resource as the actor may see it: unchanged, a rewritten copy, or nil
	// when the actor may not see it.
	Apply(resource json.RawMessage) (json.RawMessage, error)
}

// typeWords name resource types as a patient would.
var typeWords = map[string]string{
	"Account":            "billing accounts",
	"AllergyIntolerance": "allergies",
	"Appointment":        "appointments",
	"CarePlan":           "care plans",
	"CareTeam":           "care team",
	"Communication":      "messages",
	"Condition":          "health problems",
	"Coverage":           "insurance",
	"Device":             "devices",
	"DiagnosticReport":   "test reports",
	"DocumentReference":  "documents and notes",
	"Encounter":          "visits",
	"Goal":               "goals",
	"Immunization":       "immunizations",
	"Invoice":            "bills",
	"MedicationRequest":  "medications",
	"Observation":        "test results and measurements",
	"Patient":            "personal details",
	"Procedure":          "procedures",
}

func describeType(typ string) string {
	switch words, ok := typeWords[typ]; {
	case ok:
		return words
	case typ == "":
		return "health record"
	default:
		return typ + " records"
	}
}

var interactionVerbs = map[Interaction]string{
	Create: "add to", Read: "see", Update: "change", Delete: "delete", Search: "see",
}

// notGranted explains why no grant allows the request.
func notGranted(req Request) string {
	what, verb := describeType(req.ResourceType), interactionVerbs[req.Interaction]
	switch {
	case req.Interaction.writes() && !purposeGrants[req.Purpose][0].Interactions.Has(req.Interaction):
		return "Health records can only be viewed here, not changed."
	case req.Purpose == PurposeShare:
		return fmt.Sprintf("This share code does not include your %s.", what)
	case req.Purpose == PurposeApp || req.Actor.Client != "":
		return fmt.Sprintf("This app was not given permission to %s your %s.", verb, what)
	}
	return fmt.Sprintf("You cannot %s your %s here.", verb, what)
}

// notGrantedKind explains why the grants leave out what the request's search asks for.
func notGrantedKind(req Request) string {
	what := describeType(req.ResourceType)
	if req.Purpose == PurposeShare {
		return fmt.Sprintf("This share code includes only some kinds of your %s, not the ones asked for.", what)
	}
	return fmt.Sprintf("This app was given permission to see only some kinds of your %s, not the ones asked for.", what)
}
