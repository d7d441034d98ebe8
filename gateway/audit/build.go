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
	agentOperator  = "operator"
	agentClient    = "client"
	agentServer    = "server"
	entityPatient  = "patient"
	entitySubject  = "person"
	entityOrg      = "org"
	entityData     = "data"
	entityQuery    = "query"
	entityRequest  = "request"
	portalDisplay  = "patient portal"
	operatorAPI    = "operator API"
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
	objectSecurityUser = coding(objectRoleSystem, "11", "Security User Entity")

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
		base.Type, base.Subtype, base.Action = nonRestType(e.Kind)
	}
	base.Agent = buildAgents(e, pattern, rest, observer)

	// Entities every event of this one shares: what was touched and the request.
	var shared []fhir.AuditEventEntity
	switch {
	case rest && pattern.queryEntity:
		shared = append(shared, queryEntity(e))
	case rest:
		shared = append(shared, dataEntity(e))
	case e.Subject != "":
		shared = append(shared, subjectEntity(e))
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

// nonRestType is the DICOM type, subtype and action of the events BALP has no pattern for.
// Issuing a code creates a credential; redeeming one uses it.
func nonRestType(k Kind) (fhir.Coding, []fhir.Coding, *fhir.AuditEventAction) {
	switch k {
	case SignIn, SignInFailed:
		return typeUserAuth, []fhir.Coding{subtypeLogin}, ptr(fhir.AuditEventActionE)
	case SignOut:
		return typeUserAuth, []fhir.Coding{subtypeLogout}, ptr(fhir.AuditEventActionE)
	case CodeIssued:
		return typeSecurity, []fhir.Coding{subtypeUserAttrs}, ptr(fhir.AuditEventActionC)
	default: // CodeRedeemed, CodeRejected
		return typeSecurity, []fhir.Coding{subtypeUserAttrs}, ptr(fhir.AuditEventActionE)
	}
}

// buildAgents returns the user or operator (when known), the client app, portal or
// operator API with the request's address, and the gateway as server. BALP keeps network
// addresses off the user: people are not network nodes.
func buildAgents(e Event, pattern restPattern, rest bool, observer string) []fhir.AuditEventAgent {
	agents := make([]fhir.AuditEventAgent, 0, 3)
	var user *fhir.AuditEventAgent
	switch {
	case e.Operator != "":
		user = &fhir.AuditEventAgent{Id: ptr(agentOperator), Who: &fhir.Reference{
			Identifier: &fhir.Identifier{Value: ptr(e.Operator)}, Display: ptr("network operator"),
		}}
	case e.Person != "" || e.Account != "":
		user = &fhir.AuditEventAgent{Id: ptr(agentUser), Who: &fhir.Reference{}}
		if e.Person != "" {
			user.Who.Reference = ptr("Person/" + e.Person)
			user.Who.Type = ptr("Person")
		}
		if e.Account != "" {
			user.Who.Identifier = &fhir.Identifier{Value: ptr(e.Account)}
		}
	}
	if user != nil {
		user.Requestor = true
		if rest {
			user.Type = concept(pattern.user)
		}
		agents = append(agents, *user)
	}

	client := fhir.AuditEventAgent{Id: ptr(agentClient), Requestor: user == nil}
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
	switch {
	case e.Client != "":
		client.Who = &fhir.Reference{Identifier: &fhir.Identifier{Value: ptr(e.Client)}}
		if e.ClientName != "" {
			client.Who.Display = ptr(e.ClientName)
		}
	case e.Operator != "":
		client.Who = &fhir.Reference{Display: ptr(operatorAPI)}
	default:
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

// subjectEntity names the person someone else acted on, when no RESTful data entity does:
// the person an operator issued a code for, whose security attributes changed.
func subjectEntity(e Event) fhir.AuditEventEntity {
	return fhir.AuditEventEntity{
		Id:   ptr(entitySubject),
		What: &fhir.Reference{Reference: ptr("Person/" + e.Subject), Type: ptr("Person")},
		Type: &entityPerson,
		Role: &objectSecurityUser,
	}
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
