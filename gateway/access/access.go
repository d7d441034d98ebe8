package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/portalgate/portalgate/tenants"
)

// Purpose is the surface a request comes through.
type Purpose string

// The purposes.
const (
	// PurposePortal: the network's portal API, used by the patient in person.
	PurposePortal Purpose = "portal"
	// PurposeFHIR: the FHIR face, read by the signed-in patient.
	PurposeFHIR Purpose = "fhir-api"
	// PurposeApp: a third-party SMART app acting for the patient, within its scopes.
	PurposeApp Purpose = "app"
	// PurposeShare: the holder of a share code the patient made, reading within the code's
	// scopes. The share-code service builds the Actor from the code: the patient as Person and
	// Subject, the code as Client, what it shares as Scopes.
	PurposeShare Purpose = "share"
)

// purposeGrants is the most each purpose allows, before scopes.
var purposeGrants = map[Purpose][]Grant{
	PurposePortal: {{Type: "*", Interactions: AllInteractions}},
	PurposeFHIR:   {{Type: "*", Interactions: ReadOnly}},
	PurposeApp:    {{Type: "*", Interactions: AllInteractions}},
	PurposeShare:  {{Type: "*", Interactions: ReadOnly}},
}

// scoped reports whether requests of the purpose are limited to the actor's scopes.
func (p Purpose) scoped() bool { return p == PurposeApp || p == PurposeShare }

// Record is a person's Patient at one org. It converts to and from accounts.Record and
// audit.Record.
type Record struct {
	Org     string
	Patient string
}

// Actor is who makes a request.
type Actor struct {
	Network string
	// Account is the login acting; Person is the person behind it ("" when nobody signed in).
	Account string
	Person  string
	// Client is the OAuth client id of the app acting for the account, "" for the portal.
	Client string
	// Scopes are the SMART scopes granted to Client, or those a share code carries.
	Scopes []string
	// Records are the records the account may see now (accounts.Service.Visible).
	Records []Record
}

// Request is one read or write of a person's records.
type Request struct {
	Actor Actor
	// Subject is the id of the person whose records are asked for.
	Subject     string
	Purpose     Purpose
	Interaction Interaction
	// ResourceType is the type read or written; "" asks about the whole record ($everything,
	// a portal summary), which Decision.Grants then narrows.
	ResourceType string
	// Params are the request's search parameters.
	Params url.Values
}

// ErrInvalidRequest is wrapped by every error about a Request that no caller should build.
var ErrInvalidRequest = errors.New("access: invalid request")

func (r *Request) validate() error {
	switch {
	case r.Actor.Network == "":
		return fmt.Errorf("%w: no network", ErrInvalidRequest)
	case r.Subject == "":
		return fmt.Errorf("%w: no subject", ErrInvalidRequest)
	case purposeGrants[r.Purpose] == nil:
		return fmt.Errorf("%w: unknown purpose %q", ErrInvalidRequest, r.Purpose)
	case !r.Interaction.valid():
		return fmt.Errorf("%w: unknown interaction %v", ErrInvalidRequest, r.Interaction)
	case r.ResourceType != "" && !isResourceType(r.ResourceType):
		return fmt.Errorf("%w: %q is not a resource type", ErrInvalidRequest, r.ResourceType)
	}
	return nil
}

// AuditSubject says who accessed whose records, for the audit trail (audit.Event).
type AuditSubject struct {
	Network string
	Account string
	Person  string
	// Subject is the person whose records were asked for, "" when it is Person.
	Subject string
	Client  string
	Purpose Purpose
	// Records are those the request may touch.
	Records []Record
}

// Networks finds a network's configuration; *tenants.Config is one.
type Networks interface {
	Network(id string) (*tenants.Network, bool)
}

// Options configure a Decider.
type Options struct {
	Networks Networks
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Decider makes access decisions under the networks' policies.
type Decider struct {
	networks Networks
	now      func() time.Time
}

// NewDecider returns a Decider.
func NewDecider(opts Options) (*Decider, error) {
	if opts.Networks == nil {
		return nil, errors.New("access: Options.Networks is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Decider{networks: opts.Networks, now: opts.Now}, nil
}

// Decide decides a request. A refusal is a Decision with Allowed false, not an error; errors
// are for requests no handler should build (ErrInvalidRequest) and for a done context.
func (d *Decider) Decide(ctx context.Context, req Request) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("access: deciding: %w", err)
	}
	if err := req.validate(); err != nil {
		return Decision{}, err
	}
	network, ok := d.networks.Network(req.Actor.Network)
	if !ok {
		return Decision{}, fmt.Errorf("%w: unknown network %q", ErrInvalidRequest, req.Actor.Network)
	}
	audit := AuditSubject{
		Network: req.Actor.Network, Account: req.Actor.Account, Person: req.Actor.Person,
		Client: req.Actor.Client, Purpose: req.Purpose,
	}
	if req.Actor.Person == "" {
		audit.Subject = req.Subject
		return deny(http.StatusUnauthorized, "Please sign in to see your health records.", audit), nil
	}
	if req.Subject != req.Actor.Person {
		audit.Subject = req.Subject
		return forAnotherPerson(audit), nil
	}
	grants := purposeGrants[req.Purpose]
	if req.Purpose.scoped() || req.Actor.Client != "" {
		grants = intersect(grants, ScopeGrants(req.Actor.Scopes))
	}
	return decide(req, grants, network, d.now(), audit), nil
}

// forAnotherPerson decides a request for someone else's records. Proxies (DESIGN §7) plug in
// here: a lookup of the grant that lets the actor act for the subject, the subject's records,
// and tenants.Policy.ProxyAccess turned into grants, intersected with the purpose's grants as
// for the patient themself. Until then nobody acts for anybody else.
func forAnotherPerson(audit AuditSubject) Decision {
	return deny(http.StatusForbidden, "You can see only your own health records. "+
		"To see someone else's, they or their guardian must give you access first.", audit)
}

// decide narrows the actor's grants to the request, on the records the actor may see.
func decide(req Request, grants []Grant, network *tenants.Network, now time.Time, audit AuditSubject) Decision {
	var held []Grant // the grants allowing this interaction, on any type
	for _, g := range grants {
		if g.Interactions.Has(req.Interaction) {
			held = append(held, g)
		}
	}
	relevant := slices.DeleteFunc(slices.Clone(held), func(g Grant) bool { return !g.covers(req.ResourceType) })
	if len(relevant) == 0 {
		return deny(http.StatusForbidden, notGranted(req), audit)
	}
	if req.ResourceType != "" {
		relevant = slices.DeleteFunc(relevant, func(g Grant) bool { return excludedBy(g, req.Params) })
		if len(relevant) == 0 {
			return deny(http.StatusForbidden, notGrantedKind(req), audit)
		}
	}
	if len(req.Actor.Records) == 0 {
		return deny(http.StatusNotFound, "There are no health records linked to your account yet.", audit)
	}

	records := slices.Clone(req.Actor.Records)
	audit.Records = records
	dec := Decision{Allowed: true, Status: http.StatusOK, Records: records, Grants: held, Audit: audit}
	if req.Interaction == Search && req.ResourceType != "" {
		dec.AddParams = narrowing(relevant)
	}
	if req.Interaction.writes() {
		if !slices.ContainsFunc(held, Grant.unrestricted) {
			dec.Filters = []Filter{grantFilter{grants: held}}
		}
		return dec
	}
	// Reads see resources of any type the actor may read or search (a search's includes).
	var readable []Grant
	for _, g := range grants {
		if g.Interactions&ReadOnly != 0 {
			readable = append(readable, g)
		}
	}
	if !slices.ContainsFunc(readable, Grant.unrestricted) {
		dec.Filters = append(dec.Filters, grantFilter{grants: readable})
	}
	dec.Filters = append(dec.Filters, ReleaseFilter{Policy: network.Policy.Results, Now: now, Location: network.Location()})
	return dec
}
