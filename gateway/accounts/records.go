package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

// The record index ties each patient record (an org and a Patient id) to the one person who
// holds it, so that no record is ever given to two people.
//
// Claims change only by Create and CompareAndSwap. A released record keeps an entry with no
// holder rather than being deleted: a compare-and-swap can release it only while this person
// still holds it, which a plain delete could not promise.

// recordClaim is the index entry of a record.
type recordClaim struct {
	// Person holds the record; "" once released.
	Person  string    `json:"person,omitempty"`
	Claimed time.Time `json:"claimed"`
}

func recordKey(network string, r Record) string {
	return keyPrefix + "record/" + network + "/" + r.Org + "/" + r.Patient
}

// claimRecords claims every record for person and returns those this call newly claimed.
// When one is held by another person it releases what it claimed and fails with ErrConflict.
func (s *Service) claimRecords(ctx context.Context, network, person string, records []Record) ([]Record, error) {
	var claimed []Record
	for i, r := range records {
		fresh, err := s.claimRecord(ctx, network, person, r)
		if err != nil {
			if errors.Is(err, ErrConflict) {
				err = fmt.Errorf("%w (record %d)", ErrConflict, i)
			}
			return nil, withCleanup(err, s.releaseRecords(ctx, network, person, claimed))
		}
		if fresh {
			claimed = append(claimed, r)
		}
	}
	return claimed, nil
}

// claimRecord claims one record for person, reporting whether it was not theirs before. A
// claim whose holder does not list the record is taken over once it is older than any call
// could still be working on it: it was left by a write that was cut short.
func (s *Service) claimRecord(ctx context.Context, network, person string, r Record) (fresh bool, err error) {
	key := recordKey(network, r)
	now := s.now()
	mine, err := json.Marshal(recordClaim{Person: person, Claimed: now})
	if err != nil {
		return false, fmt.Errorf("accounts: encoding a record claim: %w", err)
	}
	for range maxCASRetries {
		err := s.kv.Create(ctx, key, mine, 0)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return false, fmt.Errorf("accounts: claiming a record: %w", err)
		}
		var cur recordClaim
		raw, err := getJSON(ctx, s.kv, key, &cur)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return false, fmt.Errorf("accounts: reading a record claim: %w", err)
		case cur.Person == person:
			return false, nil
		case cur.Person != "":
			stale, err := s.staleClaim(ctx, network, cur, r, now)
			if err != nil {
				return false, err
			}
			if !stale {
				return false, ErrConflict
			}
		}
		switch err := s.kv.CompareAndSwap(ctx, key, raw, mine, 0); {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			continue // another writer changed the claim: look again
		default:
			return false, fmt.Errorf("accounts: claiming a record: %w", err)
		}
	}
	return false, fmt.Errorf("accounts: %d concurrent changes in a row: %w", maxCASRetries, store.ErrConflict)
}

// staleClaim reports whether another person's claim on r was left behind: its holder does not
// list r, and the claim is older than the time a call may take, so no write of it is under way.
func (s *Service) staleClaim(ctx context.Context, network string, claim recordClaim, r Record, now time.Time) (bool, error) {
	holder, err := s.person(ctx, network, claim.Person)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return false, err
	default:
		if held, ok := holder.Record(r.Org); ok && held == r {
			return false, nil
		}
	}
	return now.Sub(claim.Claimed) > s.timeout+expirySlack, nil
}

// releaseRecords releases the records person holds among records. It works on a context of
// its own, since it also undoes claims when the caller's context has ended.
func (s *Service) releaseRecords(ctx context.Context, network, person string, records []Record) error {
	if len(records) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	var errs []error
	for _, r := range records {
		err := update(ctx, s.kv, recordKey(network, r), func(cur *recordClaim) (*recordClaim, time.Duration, error) {
			if cur == nil || cur.Person != person {
				return nil, 0, nil // not theirs (any more)
			}
			return &recordClaim{Claimed: s.now()}, 0, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("accounts: releasing a record: %w", err))
		}
	}
	return errors.Join(errs...)
}
