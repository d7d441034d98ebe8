package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// Visible returns the records an account sees, in the order of its person's records. It reads
// the person and their consent afresh, so a change of either applies at the next request:
//
//   - in a "network" network, every account of the person sees their records at all
//     affiliated orgs;
//   - in a "consent" network, so does each account of a person who consents to share;
//     an account of a person who declines sees only the record at its home org.
//
// Records at external orgs are never returned: those are linked, not enrolled.
func (s *Service) Visible(ctx context.Context, account *Account) ([]Record, error) {
	if account == nil {
		return nil, invalidf("an account is required")
	}
	ctx, cancel, network, err := s.begin(ctx, account.Network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	person, err := s.person(ctx, account.Network, account.Person)
	if err != nil {
		return nil, err
	}
	share, err := s.sharing(ctx, person)
	if err != nil {
		return nil, err
	}
	return visible(network, person, account.HomeOrg, share), nil
}

// visible is the account model's rule, apart from the store.
func visible(network *tenants.Network, person *Person, homeOrg string, share bool) []Record {
	oneAccount := network.AccountModel.OneAccount(share)
	records := []Record{}
	for _, r := range person.Records {
		if affiliated(network, r.Org) && (oneAccount || r.Org == homeOrg) {
			records = append(records, r)
		}
	}
	return records
}

// sharing returns the person's current consent to share across the network: their recorded
// choice, or else the default kept with the person.
func (s *Service) sharing(ctx context.Context, person *Person) (bool, error) {
	var rec ConsentState
	_, err := getJSON(ctx, s.kv, consentKey(person.Network, person.ID), &rec)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return person.ShareAcrossNetwork, nil
	case err != nil:
		return false, fmt.Errorf("accounts: reading a consent: %w", err)
	}
	return rec.Share, nil
}
