// Package audit owns the gateway's audit trail: every sign-in, failed sign-in, sign-out,
// activation-code use, consent change and record access, and every registration of a person
// and code issued by an operator, becomes a FHIR R4 AuditEvent, kept on the storage port's
// append logs, so that operators can review a network's activity and a patient can see who
// accessed their records, when, and from which app (DESIGN §7, security).
//
// # Shape of the events
//
// Events follow IHE Basic Audit Log Patterns (BALP 1.1.4). Record access and consent changes
// are RESTful events (type rest, subtype the FHIR interaction) carrying the BALP profile that
// fits in meta.profile: IHE.BasicAudit.PatientRead, PatientQuery, PatientCreate, PatientUpdate
// or PatientDelete when one patient record was touched, and the plain Read, Query, Create,
// Update or Delete patterns when none was. BALP asks for one event per patient, so an access
// that touched records at several orgs is written as one AuditEvent per record, linked by the
// request id. BALP describes successes only ("failures are recorded differently"): a failed
// access keeps the same structure without claiming a profile. BALP has no pattern for sign-in
// or enrollment, so those follow the DICOM vocabulary that ATNA uses: type 110114 User
// Authentication with subtype 110122 Login or 110123 Logout, and type 110113 Security Alert
// with subtype 110137 User Security Attributes Changed for activation codes (action C when an
// operator issues one, E when it is used).
//
// An operator's registration of a person is the RESTful update of a Person (BALP Update, or
// PatientUpdate once per record). In operators' events the requestor is the operator, and the
// person acted on is named by the Person entity; such events also go to that person's log.
//
// Agents and entities carry element ids ("user", "operator", "client", "server"; "patient",
// "org", "person", "data", "query", "request") so that readers find them without guessing
// from codes.
//
// # What an event never holds
//
// Events name things by reference only: Person/{id} for the actor, Patient/{id} with its
// Organization/{org} for a record, {type}/{id} for the resource touched, the names (never the
// values) of search parameters, and the request id. Clinical content, codes, tokens and
// secrets have no field to go in. Event.Detail, the one free text, is kept only for failures.
//
// # Storage and reading
//
// Each event is appended to its network's log and, when it concerns a person, to that
// person's own log, so a patient's view never scans the network. Both are read oldest first,
// the order of the store's logs, with an opaque cursor for the next page. Each Entry read
// back holds a Summary, for the patient, and Details (why it failed, the client's address,
// the request id) for operators only. Record returns every error: callers fail closed,
// releasing no record whose access could not be recorded.
package audit
