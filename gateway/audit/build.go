package audit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Code systems used by the events.
const (
	dicomSystem          = "http://dicom.nema.org/resources/ontology/DCM"
	eventTypeSystem      = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	interactionSystem    = "http://hl7.org/fhir/restful-interaction"
	entityTypeSystem     = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	objectRoleSystem     = "http://terminology.hl7.org/CodeSystem/object-role"
	participationSystem  = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	provenanceSystem     = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	sourceTypeSystem     = "http://terminology.hl7.org/CodeSystem/security-source-type"
	balpEntityTypeSystem = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
)

// ProfileBase prefixes the canonical URL of every BALP profile the events claim, such as
// ProfileBase+"PatientRead".
const ProfileBase = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."

// instantLayout writes AuditEvent.recorded as a FHIR instant with milliseconds.
const instantLayout = "2006-01-02T15:04:05.000Z07:00"

// Element ids of agents and entities, by which Summary finds them.
const (
	agentUser      = "user"
	agentClient    = "client"
	agentServer    = "server"
	entityPatient  = "patient"
	entityOrg      = "org"
	entityData     = "data"
	entityQuery    = "query"
	entityRequest  = "request"
	portalDisplay  = "patient portal"
	networkMachine = fhir.AuditEventAgentNetworkType1 // machine name
	networkIP      = fhir.AuditEventAgentNetworkType2 // IP address
)

// The codings the events use; shared, never modified.
var (
	typeRest         = coding(eventTypeSystem, "rest", "Restful Operation")
	typeUserAuth     = coding(dicomSystem, "110114", "User Authentication")
	typeSecurity     = coding(dicomSystem, "110113", "Security Alert")
	subtypeLogin     = coding(dicomSystem, "110122", "Login")
	subtypeLogout    = coding(dicomSystem, "110123", "Logout")
	subtypeUserAttrs = coding(dicomSystem, "110137", "User Security Attributes Changed")

	roleDestination = coding(dicomSystem, "110152", "Destination Role ID")
	roleSource      = coding(dicomSystem, "110153", "Source Role ID")
	roleApplication = coding(dicomSystem, "110150", "Application")
	roleCustodian   = coding(provenanceSystem, "custodian", "Custodian")
	roleRecipient   = coding(participationSystem, "IRCP", "information recipient")
	roleAuthor      = coding(participationSystem, "AUT", "author (originator)")

	entityPerson       = coding(entityTypeSystem, "1", "Person")
	entitySystemObject = coding(entityTypeSystem, "2", "System Object")
	entityOrganization = coding(entityTypeSystem, "3", "Organization")
	entityRequestID    = coding(balpEntityTypeSystem, "XrequestId", "")
	objectPatient      = coding(objectRoleSystem, "1", "Patient")
	objectResource     = coding(objectRoleSystem, "4", "Domain Resource")
	objectQuery        = coding(objectRoleSystem, "24", "Query")

	sourceAppServer = []fhir.Coding{coding(sourceTypeSystem, "4", "Application Server")}
)

// restPattern is what a BALP RESTful pattern fixes for one kind of interaction.
type restPattern struct {
	profile     string // the pattern's name without a patient; "Patient"+profile with one
	action      fhir.AuditEventAction
	client      fhir.Coding
	server      fhir.Coding
	user        fhir.Coding
	queryEntity bool // a query entity in place of the data entity
}

var restPatterns = map[string]restPattern{
	"read":          {profile: "Read", action: fhir.AuditEventActionR, client: roleDestination, server: roleSource, user: roleRecipient},
	"vread":         {profile: "Read", action: fhir.AuditEventActionR, client: roleDestination, server: roleSource, user: roleRecipient},
	"search-type":   {profile: "Query", action: fhir.AuditEventActionE, client: roleSource, server: roleDestination, user: roleRecipient, queryEntity: true},
	"search-system": {profile: "Query", action: fhir.AuditEventActionE, client: roleSource, server: roleDestination, user: roleRecipient, queryEntity: true},
	"search":        {profile: "Query", action: fhir.AuditEventActionE, client: roleSource, server: roleDestination, user: roleRecipient, queryEntity: true},
	"operation":     {profile: "Query", action: fhir.AuditEventActionE, client: roleSource, server: roleDestination, user: roleRecipient, queryEntity: true},
	"create":        {profile: "Create", action: fhir.AuditEventActionC, client: roleSource, server: roleDestination, user: roleAuthor},
	"update":        {profile: "Update", action: fhir.AuditEventActionU, client: roleSource, server: roleDestination, user: roleAuthor},
	"patch":         {profile: "Update", action: fhir.AuditEventActionU, client: roleSource, server: roleDestination, user: roleAuthor},
	"delete":        {profile: "Delete", action: fhir.AuditEventActionD, client: roleApplication, server: roleCustodian, user: roleAuthor},
}

// build turns a normalized event into its AuditEvents: one per record touched, or one when
// none was.
func build(e Event, recorded time.Time, observer string) []fhir.AuditEvent {
	base := fhir.AuditEvent{
		Recorded: recorded.UTC().Format(instantLayout),
		Outcome:  ptr(outcomeCode(e.Outcome)),
		Source: fhir.AuditEventSource{
			Site:     ptr(e.Network),
			Observer: fhir.Reference{Display: &observer},
			Type:     sourceAppServer,
		},
	}
	if e.Detail != "" {
		base.OutcomeDesc = ptr(e.Detail)
	}
	pattern, rest := restPatterns[e.Interaction]
	if rest {
		base.Type = typeRest
		base.Subtype = []fhir.Coding{coding(interactionSystem, e.Interaction, e.Interaction)}
		base.Action = ptr(pattern.action)
	} else {
		base.Type, base.Subtype = nonRestType(e.Kind)
		base.Action = ptr(fhir.AuditEventActionE)
	}
	base.Agent = buildAgents(e, pattern, rest, observer)

	// Entities every event of this one shares: what was touched and the request.
	var shared []fhir.AuditEventEntity
	switch {
	case rest && pattern.queryEntity:
		shared = append(shared, queryEntity(e))
	case rest:
		shared = append(shared, dataEntity(e))
	}
	if e.RequestID != "" {
		shared = append(shared, fhir.AuditEventEntity{
			Id:   ptr(entityRequest),
			What: &fhir.Reference{Identifier: &fhir.Identifier{Value: ptr(e.RequestID)}},
			Type: &entityRequestID,
		})
	}
	profiled := rest && e.Outcome == Success

	if len(e.Records) == 0 {
		ev := base
		ev.Id = ptr(newID())
		ev.Entity = shared
		if profiled {
			ev.Meta = &fhir.Meta{Profile: []string{ProfileBase + pattern.profile}}
		}
		return []fhir.AuditEvent{ev}
	}
	events := make([]fhir.AuditEvent, len(e.Records))
	for i, r := range e.Records {
		ev := base
		ev.Id = ptr(newID())
		ev.Entity = make([]fhir.AuditEventEntity, 0, 2+len(shared))
		ev.Entity = append(ev.Entity,
			fhir.AuditEventEntity{
				Id:   ptr(entityPatient),
				What: &fhir.Reference{Reference: ptr("Patient/" + r.Patient), Type: ptr("Patient")},
				Type: &entityPerson,
				Role: &objectPatient,
			},
			fhir.AuditEventEntity{
				Id:   ptr(entityOrg),
				What: &fhir.Reference{Reference: ptr("Organization/" + r.Org), Type: ptr("Organization")},
				Type: &entityOrganization,
			})
		ev.Entity = append(ev.Entity, shared...)
		if profiled {
			ev.Meta = &fhir.Meta{Profile: []string{ProfileBase + "Patient" + pattern.profile}}
		}
		events[i] = ev
	}
	return events
}

// nonRestType is the DICOM type and subtype of the events BALP has no pattern for.
func nonRestType(k Kind) (fhir.Coding, []fhir.Coding) {
	switch k {
	case SignIn, SignInFailed:
		return typeUserAuth, []fhir.Coding{subtypeLogin}
	case SignOut:
		return typeUserAuth, []fhir.Coding{subtypeLogout}
	default: // CodeRedeemed, CodeRejected
		return typeSecurity, []fhir.Coding{subtypeUserAttrs}
	}
}

// buildAgents returns the user (when known), the client app or portal with the request's
// address, and the gateway as server. BALP keeps network addresses off the user: people
// are not network nodes.
func buildAgents(e Event, pattern restPattern, rest bool, observer string) []fhir.AuditEventAgent {
	agents := make([]fhir.AuditEventAgent, 0, 3)
	hasUser := e.Person != "" || e.Account != ""
	if hasUser {
		who := &fhir.Reference{}
		if e.Person != "" {
			who.Reference = ptr("Person/" + e.Person)
			who.Type = ptr("Person")
		}
		if e.Account != "" {
			who.Identifier = &fhir.Identifier{Value: ptr(e.Account)}
		}
		user := fhir.AuditEventAgent{Id: ptr(agentUser), Who: who, Requestor: true}
		if rest {
			user.Type = concept(pattern.user)
		}
		agents = append(agents, user)
	}

	client := fhir.AuditEventAgent{Id: ptr(agentClient), Requestor: !hasUser}
	server := fhir.AuditEventAgent{
		Id:      ptr(agentServer),
		Who:     &fhir.Reference{Display: &observer},
		Network: &fhir.AuditEventAgentNetwork{Address: &observer, Type: ptr(networkMachine)},
	}
	if rest {
		client.Type, server.Type = concept(pattern.client), concept(pattern.server)
	} else {
		client.Type, server.Type = concept(roleApplication), concept(roleDestination)
	}
	if e.Client != "" {
		client.Who = &fhir.Reference{Identifier: &fhir.Identifier{Value: ptr(e.Client)}}
		if e.ClientName != "" {
			client.Who.Display = ptr(e.ClientName)
		}
	} else {
		client.Who = &fhir.Reference{Display: ptr(portalDisplay)}
	}
	if e.ClientIP != "" {
		client.Network = &fhir.AuditEventAgentNetwork{Address: ptr(e.ClientIP), Type: ptr(networkIP)}
	}
	return append(agents, client, server)
}

// dataEntity names the resource read or written; without an id (a create that failed) it
// names only the type.
func dataEntity(e Event) fhir.AuditEventEntity {
	what := &fhir.Reference{Type: ptr(e.ResourceType)}
	if e.ResourceID != "" {
		what.Reference = ptr(e.ResourceType + "/" + e.ResourceID)
	}
	return fhir.AuditEventEntity{Id: ptr(entityData), What: what, Type: &entitySystemObject, Role: &objectResource}
}

// queryEntity describes a search by its path and parameter names only ("Observation?category&
// date"). BALP wants the raw request in .query; the values are what must never be kept, so
// both .query and .description hold this redacted form.
func queryEntity(e Event) fhir.AuditEventEntity {
	var b strings.Builder
	b.WriteString(e.ResourceType)
	if e.ResourceID != "" {
		b.WriteString("/" + e.ResourceID)
	}
	if e.Operation != "" {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString("$" + e.Operation)
	}
	b.WriteByte('?')
	b.WriteString(strings.Join(e.SearchParams, "&"))
	text := b.String()
	return fhir.AuditEventEntity{
		Id:          ptr(entityQuery),
		Type:        &entitySystemObject,
		Role:        &objectQuery,
		Description: ptr(text),
		Query:       ptr(base64.StdEncoding.EncodeToString([]byte(text))),
	}
}

func outcomeCode(o Outcome) fhir.AuditEventOutcome {
	switch o {
	case MinorFailure:
		return fhir.AuditEventOutcome4
	case SeriousFailure:
		return fhir.AuditEventOutcome8
	default:
		return fhir.AuditEventOutcome0
	}
}

// newID returns a random FHIR id for an AuditEvent.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it aborts the program instead)
	return hex.EncodeToString(b[:])
}

func coding(system, code, display string) fhir.Coding {
	c := fhir.Coding{System: &system, Code: &code}
	if display != "" {
		c.Display = &display
	}
	return c
}

func concept(c fhir.Coding) *fhir.CodeableConcept {
	return &fhir.CodeableConcept{Coding: []fhir.Coding{c}}
}

func ptr[T any](v T) *T { return &v }
