package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Summary is an event as a patient reads it ("who accessed my record"): who, when, from which
// app, what kind of access to what. It is read back from the stored AuditEvent, so the portal
// needs no FHIR.
type Summary struct {
	When    time.Time `json:"when"`
	Kind    Kind      `json:"kind"`
	Outcome Outcome   `json:"outcome"`
	// Actor is the person who acted; compare it with the viewer to tell "you" from a proxy.
	// Empty when no person is known (a failed sign-in) or an operator acted.
	Actor   string `json:"actor,omitempty"`
	Account string `json:"account,omitempty"`
	// Operator names the network operator who acted (PersonRegistered, CodeIssued).
	Operator string `json:"operator,omitempty"`
	// Subject is the person an operator acted on.
	Subject string `json:"subject,omitempty"`
	// App is the app's name, or its client id when it gave none; empty for the network's
	// own portal.
	App    string `json:"app,omitempty"`
	Client string `json:"client,omitempty"`
	// Interaction is the FHIR interaction of record access and consent changes ("read",
	// "search-type", "update", ...).
	Interaction string `json:"interaction,omitempty"`
	// What is the resource type read, searched or written ("Observation", "Consent").
	What string `json:"what,omitempty"`
	// Org and Patient name the record touched.
	Org     string `json:"org,omitempty"`
	Patient string `json:"patient,omitempty"`
}

// Details are what an operator needs beyond the Summary to look into an event: why it
// failed, where the request came from and which request it was. They are for operators
// only: a patient is shown the Summary.
type Details struct {
	// Detail says why the action failed; empty on success.
	Detail    string `json:"detail,omitempty"`
	ClientIP  string `json:"clientIP,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

var errNotOurs = errors.New("not an AuditEvent of this trail")

// summarize reads the id and Summary of a stored AuditEvent.
func summarize(raw []byte) (string, Summary, error) {
	id, s, _, err := readEvent(raw)
	return id, s, err
}

// readEvent reads the id, Summary and Details of a stored AuditEvent.
func readEvent(raw []byte) (string, Summary, Details, error) {
	ev, err := fhir.UnmarshalAuditEvent(raw)
	if err != nil {
		return "", Summary{}, Details{}, fmt.Errorf("decoding an AuditEvent: %w", err)
	}
	id, s, err := summary(&ev)
	if err != nil {
		return "", Summary{}, Details{}, err
	}
	return id, s, details(&ev), nil
}

// details reads an event's Details.
func details(ev *fhir.AuditEvent) Details {
	d := Details{Detail: deref(ev.OutcomeDesc)}
	for _, a := range ev.Agent {
		if deref(a.Id) == agentClient && a.Network != nil {
			d.ClientIP = deref(a.Network.Address)
		}
	}
	for _, en := range ev.Entity {
		if deref(en.Id) == entityRequest && en.What != nil && en.What.Identifier != nil {
			d.RequestID = deref(en.What.Identifier.Value)
		}
	}
	return d
}

// summary reads an event's id and Summary.
func summary(ev *fhir.AuditEvent) (string, Summary, error) {
	if ev.Id == nil || ev.Outcome == nil {
		return "", Summary{}, errNotOurs
	}
	when, err := time.Parse(time.RFC3339Nano, ev.Recorded)
	if err != nil {
		return "", Summary{}, fmt.Errorf("reading the time recorded: %w", err)
	}
	s := Summary{When: when}
	switch *ev.Outcome {
	case fhir.AuditEventOutcome0:
		s.Outcome = Success
	case fhir.AuditEventOutcome4:
		s.Outcome = MinorFailure
	default:
		s.Outcome = SeriousFailure
	}

	for _, a := range ev.Agent {
		switch deref(a.Id) {
		case agentUser:
			if a.Who != nil {
				s.Actor, _ = strings.CutPrefix(deref(a.Who.Reference), "Person/")
				if a.Who.Identifier != nil {
					s.Account = deref(a.Who.Identifier.Value)
				}
			}
		case agentOperator:
			if a.Who != nil && a.Who.Identifier != nil {
				s.Operator = deref(a.Who.Identifier.Value)
			}
		case agentClient:
			if a.Who != nil && a.Who.Identifier != nil {
				s.Client = deref(a.Who.Identifier.Value)
				s.App = s.Client
				if a.Who.Display != nil {
					s.App = *a.Who.Display
				}
			}
		}
	}
	var consent bool
	var data string // the reference of the resource read or written
	for _, en := range ev.Entity {
		switch deref(en.Id) {
		case entityPatient:
			if en.What != nil {
				s.Patient, _ = strings.CutPrefix(deref(en.What.Reference), "Patient/")
			}
		case entityOrg:
			if en.What != nil {
				s.Org, _ = strings.CutPrefix(deref(en.What.Reference), "Organization/")
			}
		case entityData:
			if en.What != nil {
				s.What = deref(en.What.Type)
				consent = s.What == "Consent"
				data = deref(en.What.Reference)
			}
		case entitySubject:
			if en.What != nil {
				s.Subject, _ = strings.CutPrefix(deref(en.What.Reference), "Person/")
			}
		case entityQuery:
			s.What = queriedType(deref(en.Description))
		}
	}

	var sub string
	if len(ev.Subtype) > 0 {
		sub = deref(ev.Subtype[0].Code)
	}
	failed := s.Outcome != Success
	switch {
	case same(ev.Type, typeUserAuth) && sub == "110122" && failed:
		s.Kind = SignInFailed
	case same(ev.Type, typeUserAuth) && sub == "110122":
		s.Kind = SignIn
	case same(ev.Type, typeUserAuth) && sub == "110123":
		s.Kind = SignOut
	case same(ev.Type, typeSecurity) && sub == "110137" && ev.Action != nil && *ev.Action == fhir.AuditEventActionC:
		s.Kind = CodeIssued
	case same(ev.Type, typeSecurity) && sub == "110137" && failed:
		s.Kind = CodeRejected
	case same(ev.Type, typeSecurity) && sub == "110137":
		s.Kind = CodeRedeemed
	case same(ev.Type, typeRest):
		s.Interaction = sub
		switch pattern := restPatterns[sub]; {
		case pattern.profile == "":
			return "", Summary{}, errNotOurs
		case consent:
			s.Kind = ConsentChanged
		case s.What == "Person" && s.Operator != "":
			s.Kind = PersonRegistered
			s.Subject, _ = strings.CutPrefix(data, "Person/")
		case pattern.profile == "Read":
			s.Kind = RecordRead
		case pattern.profile == "Query":
			s.Kind = RecordSearch
		default:
			s.Kind = RecordWrite
		}
	default:
		return "", Summary{}, errNotOurs
	}
	return *ev.Id, s, nil
}

// queriedType reads the resource type from a redacted query ("Observation?code",
// "Patient/p1/$everything?"); a system-wide search has none.
func queriedType(query string) string {
	path, _, _ := strings.Cut(query, "?")
	typ, _, _ := strings.Cut(path, "/")
	if !isResourceType(typ) {
		return ""
	}
	return typ
}

func same(a, b fhir.Coding) bool {
	return deref(a.System) == deref(b.System) && deref(a.Code) == deref(b.Code)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
