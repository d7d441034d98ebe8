package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// PutPerson creates or replaces a person (operator and sandbox seeding). Records must name
// orgs of the person's network, one record per org, and a record belongs to one person of the
// network at a time: a record another person holds is refused with ErrConflict, and nothing
// changes. Records the person held before and no longer lists are released for others. A
// change of records is visible to the person's accounts at their next request.
func (s *Service) PutPerson(ctx context.Context, p Person) error {
	ctx, cancel, network, err := s.begin(ctx, p.Network)
	if err != nil {
		return err
	}
	defer cancel()
	if err := validatePerson(&p, network, s.now()); err != nil {
		return err
	}
	value, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("accounts: encoding a person: %w", err)
	}
	old, err := s.person(ctx, p.Network, p.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		old = &Person{}
	case err != nil:
		return err
	}
	// Claim first: a person is never stored with a record that is not theirs.
	claimed, err := s.claimRecords(ctx, p.Network, p.ID, p.Records)
	if err != nil {
		return err
	}
	if err := s.kv.Put(ctx, personKey(p.Network, p.ID), value, 0); err != nil {
		return withCleanup(fmt.Errorf("accounts: storing a person: %w", err), s.releaseRecords(ctx, p.Network, p.ID, claimed))
	}
	dropped := slices.DeleteFunc(slices.Clone(old.Records), func(r Record) bool { return slices.Contains(p.Records, r) })
	if err := s.releaseRecords(ctx, p.Network, p.ID, dropped); err != nil {
		return fmt.Errorf("accounts: the person was stored, but releasing the records they no longer hold failed: %w", err)
	}
	return nil
}

// Person returns a person of the network, or an error wrapping ErrNotFound.
func (s *Service) Person(ctx context.Context, network, id string) (*Person, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return s.person(ctx, network, id)
}

func (s *Service) person(ctx context.Context, network, id string) (*Person, error) {
	if err := validateFHIRID("person id", id); err != nil {
		return nil, err
	}
	var p Person
	if _, err := getJSON(ctx, s.kv, personKey(network, id), &p); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: no such person", ErrNotFound)
		}
		return nil, fmt.Errorf("accounts: reading a person: %w", err)
	}
	return &p, nil
}

// PutProxy records that grant.Actor may act for grant.Subject, replacing any earlier grant
// between the two. Both must be people of the network.
func (s *Service) PutProxy(ctx context.Context, network string, grant ProxyGrant) error {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return err
	}
	defer cancel()
	if grant.Actor == grant.Subject {
		return invalidf("a person cannot be their own proxy")
	}
	if grant.Relationship.RoleCode() == "" {
		return invalidf("unknown relationship %q", grant.Relationship)
	}
	for _, id := range []string{grant.Actor, grant.Subject} {
		if _, err := s.person(ctx, network, id); err != nil {
			return err
		}
	}
	if grant.Granted.IsZero() {
		grant.Granted = s.now()
	}
	value, err := json.Marshal(grant)
	if err != nil {
		return fmt.Errorf("accounts: encoding a proxy grant: %w", err)
	}
	if err := s.kv.Put(ctx, proxyPrefix(network, grant.Actor)+grant.Subject, value, 0); err != nil {
		return fmt.Errorf("accounts: storing a proxy grant: %w", err)
	}
	return nil
}

// ActsFor lists the grants that let person act for others, ordered by subject.
func (s *Service) ActsFor(ctx context.Context, network, person string) ([]ProxyGrant, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := validateFHIRID("person id", person); err != nil {
		return nil, err
	}
	var grants []ProxyGrant
	err = s.kv.Scan(ctx, proxyPrefix(network, person), func(_ string, value []byte) error {
		var g ProxyGrant
		if err := json.Unmarshal(value, &g); err != nil {
			return fmt.Errorf("accounts: decoding a proxy grant: %w", err)
		}
		grants = append(grants, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: listing proxy grants: %w", err)
	}
	slices.SortFunc(grants, func(a, b ProxyGrant) int { return strings.Compare(a.Subject, b.Subject) })
	return grants, nil
}

// affiliated reports whether org is one of the network's own orgs.
func affiliated(network *tenants.Network, org string) bool {
	o, ok := network.Org(org)
	return ok && o.Membership == tenants.MembershipAffiliated
}
