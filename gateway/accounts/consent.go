package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	fhir "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// ConsentState is a person's choice to share their records across the network's affiliated
// orgs.
type ConsentState struct {
	Share bool `json:"share"`
	// Resource is the FHIR R4 Consent that records the choice; nil while the person has
	// never chosen and Share is the default kept with the person.
	Resource json.RawMessage `json:"resource,omitempty"`
	// Updated is when the choice was made; zero for the default.
	Updated time.Time `json:"updated,omitzero"`
	// By is who made the choice, as given to SetConsent.
	By string `json:"by,omitempty"`
}

// Codes of the Consent resources the service writes.
const (
	consentScopeSystem    = "http://terminology.hl7.org/CodeSystem/consentscope"
	loincSystem           = "http://loinc.org"
	actCodeSystem         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	participationSystem   = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	consentHistoryPageLen = 100
)

// Consent returns the person's current choice to share across the network.
func (s *Service) Consent(ctx context.Context, network, person string) (*ConsentState, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	p, err := s.person(ctx, network, person)
	if err != nil {
		return nil, err
	}
	var state ConsentState
	_, err = getJSON(ctx, s.kv, consentKey(network, person), &state)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &ConsentState{Share: p.ShareAcrossNetwork}, nil
	case err != nil:
		return nil, fmt.Errorf("accounts: reading a consent: %w", err)
	}
	return &state, nil
}

// SetConsent records a person's choice to share (or not) across the network's affiliated
// orgs, as a new active Consent resource; the one it replaces goes to the person's consent
// history with status inactive. by says who made the choice: the person's own id, or the id
// of the person acting for them. The choice applies to every account of the person at once.
func (s *Service) SetConsent(ctx context.Context, network, person string, share bool, by string) (*ConsentState, error) {
	ctx, cancel, net, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := validateFHIRID("by", by); err != nil {
		return nil, err
	}
	p, err := s.person(ctx, network, person)
	if err != nil {
		return nil, err
	}
	now := s.now()
	resource, err := json.Marshal(buildConsent(net, p, share, by, now, newResourceID()))
	if err != nil {
		return nil, fmt.Errorf("accounts: encoding a consent: %w", err)
	}
	next := ConsentState{Share: share, Resource: resource, Updated: now, By: by}

	var previous *ConsentState
	err = update(ctx, s.kv, consentKey(network, person), func(cur *ConsentState) (*ConsentState, time.Duration, error) {
		previous = cur
		return &next, 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: storing a consent: %w", err)
	}
	// Only the writer that replaced a choice archives it, so history holds each choice once.
	if previous != nil {
		if err := s.archiveConsent(ctx, network, person, *previous); err != nil {
			return nil, err
		}
	}
	return &next, nil
}

// archiveConsent appends a replaced choice to the person's history, its resource inactive.
func (s *Service) archiveConsent(ctx context.Context, network, person string, state ConsentState) error {
	consent, err := fhir.UnmarshalConsent(state.Resource)
	if err != nil {
		return fmt.Errorf("accounts: decoding a stored consent: %w", err)
	}
	consent.Status = fhir.ConsentStateInactive
	if state.Resource, err = json.Marshal(consent); err != nil {
		return fmt.Errorf("accounts: encoding a consent: %w", err)
	}
	entry, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("accounts: encoding a consent: %w", err)
	}
	if _, err := s.log.Append(ctx, consentLog(network, person), entry); err != nil {
		return fmt.Errorf("accounts: the consent changed, but keeping the replaced one failed: %w", err)
	}
	return nil
}

// ConsentHistory returns every choice the person has recorded, newest first: the current one,
// its Consent active, then those it replaced, inactive. It is empty while the person has never
// chosen and only the default kept with the person applies.
func (s *Service) ConsentHistory(ctx context.Context, network, person string) ([]ConsentState, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if _, err := s.person(ctx, network, person); err != nil {
		return nil, err
	}
	// The current choice is read first: one replaced meanwhile is then also in the history
	// read after, and is shown once, as it was when read.
	var current ConsentState
	_, err = getJSON(ctx, s.kv, consentKey(network, person), &current)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return []ConsentState{}, nil
	case err != nil:
		return nil, fmt.Errorf("accounts: reading a consent: %w", err)
	}
	currentID := consentID(current.Resource)
	var replaced []ConsentState
	for after := ""; ; {
		entries, err := s.log.Range(ctx, consentLog(network, person), after, consentHistoryPageLen)
		if err != nil {
			return nil, fmt.Errorf("accounts: reading consent history: %w", err)
		}
		for _, e := range entries {
			var state ConsentState
			if err := json.Unmarshal(e.Value, &state); err != nil {
				return nil, fmt.Errorf("accounts: decoding consent history: %w", err)
			}
			if id := consentID(state.Resource); id == "" || id != currentID {
				replaced = append(replaced, state)
			}
		}
		if len(entries) < consentHistoryPageLen {
			break
		}
		after = entries[len(entries)-1].ID
	}
	slices.Reverse(replaced)
	return append([]ConsentState{current}, replaced...), nil
}

// consentID reads the id of a stored Consent; "" when it has none.
func consentID(resource json.RawMessage) string {
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(resource, &head) // the service wrote it; one without an id matches nothing
	return head.ID
}

// buildConsent writes a choice as an R4 Consent: a privacy consent (LOINC 59284-0) that
// permits or denies sharing among the network's affiliated orgs, which are its actors.
func buildConsent(network *tenants.Network, person *Person, share bool, by string, now time.Time, id string) fhir.Consent {
	provision := fhir.ConsentProvisionTypeDeny
	rule := fhir.Coding{System: ptr(actCodeSystem), Code: ptr("OPTOUT"), Display: ptr("opt-out")}
	if share {
		provision = fhir.ConsentProvisionTypePermit
		rule = fhir.Coding{System: ptr(actCodeSystem), Code: ptr("OPTIN"), Display: ptr("opt-in")}
	}
	var actors []fhir.ConsentProvisionActor
	for _, org := range network.Affiliated() {
		actors = append(actors, fhir.ConsentProvisionActor{
			Role: fhir.CodeableConcept{Coding: []fhir.Coding{{
				System: ptr(participationSystem), Code: ptr("IRCP"), Display: ptr("information recipient"),
			}}},
			Reference: fhir.Reference{Reference: ptr("Organization/" + org.ID), Display: nonEmpty(org.Name)},
		})
	}
	consent := fhir.Consent{
		Id:     ptr(id),
		Meta:   &fhir.Meta{LastUpdated: ptr(now.UTC().Format(time.RFC3339))},
		Status: fhir.ConsentStateActive,
		Scope: fhir.CodeableConcept{Coding: []fhir.Coding{{
			System: ptr(consentScopeSystem), Code: ptr("patient-privacy"), Display: ptr("Privacy Consent"),
		}}},
		Category: []fhir.CodeableConcept{{Coding: []fhir.Coding{{
			System: ptr(loincSystem), Code: ptr("59284-0"), Display: ptr("Patient Consent"),
		}}}},
		DateTime:   ptr(now.In(network.Location()).Format(time.RFC3339)),
		PolicyRule: &fhir.CodeableConcept{Coding: []fhir.Coding{rule}},
		Provision:  &fhir.ConsentProvision{Type: &provision, Actor: actors},
	}
	if network.Name != "" {
		consent.Organization = []fhir.Reference{{Display: ptr(network.Name)}}
	}
	if patient, ok := patientReference(network, person); ok {
		consent.Patient = &patient
		if by == person.ID {
			consent.Performer = []fhir.Reference{patient}
		}
	}
	return consent
}

// patientReference points at the person's record at their first affiliated org: absolute
// when the org has an endpoint, since each org's Patient ids mean something only there.
func patientReference(network *tenants.Network, person *Person) (fhir.Reference, bool) {
	for _, r := range person.Records {
		org, ok := network.Org(r.Org)
		if !ok || org.Membership != tenants.MembershipAffiliated {
			continue
		}
		ref := "Patient/" + r.Patient
		if ep := org.Primary(); ep != nil && ep.FHIRBaseURL != "" {
			ref = ep.FHIRBaseURL + "/" + ref
		}
		return fhir.Reference{Reference: &ref}, true
	}
	return fhir.Reference{}, false
}

// newResourceID returns a random FHIR id.
func newResourceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it aborts the program instead)
	return hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
