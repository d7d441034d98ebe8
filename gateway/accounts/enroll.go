package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// AccountID is the id of the account of a login: the issuer and subject of its ID token at
// the network's provider. It is the id the account has once enrolled, so events of a login
// recorded before enrollment can be tied to the account it becomes. The subject is no
// secret, but hashing keeps it, and any character an issuer allows in it, out of store keys
// and audit trails.
func AccountID(network, issuer, subject string) string {
	return hashHex("account", network, issuer, subject)[:32]
}

func checkLogin(issuer, subject string) error {
	if issuer == "" || subject == "" {
		return invalidf("an issuer and a subject are required")
	}
	if len(issuer) > 2048 || len(subject) > 255 { // OpenID Connect caps sub at 255 ASCII characters
		return invalidf("the issuer or subject is too long")
	}
	return nil
}

// AccountFor returns the account of a login (the issuer and subject of a verified ID token),
// or an error wrapping ErrNotEnrolled when it has not redeemed a code yet.
func (s *Service) AccountFor(ctx context.Context, network, issuer, subject string) (*Account, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := checkLogin(issuer, subject); err != nil {
		return nil, err
	}
	acct, err := s.account(ctx, network, AccountID(network, issuer, subject))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotEnrolled
	}
	return acct, err
}

// Account returns an account by its id, or an error wrapping ErrNotFound.
func (s *Service) Account(ctx context.Context, network, id string) (*Account, error) {
	ctx, cancel, _, err := s.begin(ctx, network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := validateFHIRID("account id", id); err != nil {
		return nil, err
	}
	return s.account(ctx, network, id)
}

func (s *Service) account(ctx context.Context, network, id string) (*Account, error) {
	var acct Account
	if _, err := getJSON(ctx, s.kv, accountKey(network, id), &acct); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: no such account", ErrNotFound)
		}
		return nil, fmt.Errorf("accounts: reading an account: %w", err)
	}
	return &acct, nil
}

// Redemption is an attempt to enroll a login with a code.
type Redemption struct {
	Network string
	// Issuer and Subject identify the login, from a verified ID token.
	Issuer  string
	Subject string
	// Code is as the person typed it (see NormalizeCode).
	Code string
	// ClientIP is the address the attempt came from, for the per-address attempt limit
	// (which counts an IPv6 address's whole /64 together).
	ClientIP string
}

// Redeem enrolls a login into the person a code was issued for, with the code's org as the
// account's home org, and uses the code up.
//
// It refuses with ErrAlreadyEnrolled a login that already has an account; with a
// *LockedError (ErrLocked) any attempt, right code or not, while the login or the client
// address is locked out after too many wrong codes; with ErrCodeRejected a code that is wrong,
// expired, used or unknown, without saying which; and with ErrTooYoung a person below the
// network's minimum age for sign-up. Of concurrent redemptions of one code, exactly one wins.
//
// The login's failures count in a row (a success clears them); the address's failures are
// never cleared by a success, which does not show that the address is not guessing.
func (s *Service) Redeem(ctx context.Context, r Redemption) (*Account, error) {
	ctx, cancel, network, err := s.begin(ctx, r.Network)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if err := checkLogin(r.Issuer, r.Subject); err != nil {
		return nil, err
	}
	if r.ClientIP == "" {
		return nil, invalidf("the client address is required")
	}
	id := AccountID(r.Network, r.Issuer, r.Subject)
	switch _, err := s.account(ctx, r.Network, id); {
	case err == nil:
		return nil, ErrAlreadyEnrolled
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}

	now := s.now()
	policy := network.Policy.SignUp
	byLogin := attempts{kv: s.kv, key: accountAttemptsKey(r.Network, id), policy: policy}
	byAddress := attempts{kv: s.kv, key: addressAttemptsKey(r.Network, r.ClientIP), policy: policy}
	if err := byLogin.take(ctx, now); err != nil {
		return nil, err
	}
	if err := byAddress.take(ctx, now); err != nil {
		return nil, withCleanup(err, byLogin.forgive(ctx, now))
	}
	// From here every return either leaves the attempt counted as a failure (a rejected
	// code) or forgives it.
	forgive := func(err error) error {
		return withCleanup(err, byLogin.forgive(ctx, now), byAddress.forgive(ctx, now))
	}

	acct, err := s.enroll(ctx, network, r, id, now)
	switch {
	case errors.Is(err, ErrCodeRejected):
		return nil, err
	case err != nil:
		return nil, forgive(err)
	}
	// The enrollment stands whatever the bookkeeping below does: a counter left behind
	// expires with its lockout window.
	_ = byLogin.reset(ctx)
	_ = byAddress.forgive(ctx, now)
	return acct, nil
}

// enroll checks the code and, if it holds, uses it up and creates the account.
func (s *Service) enroll(ctx context.Context, network *tenants.Network, r Redemption, id string, now time.Time) (*Account, error) {
	code, err := NormalizeCode(r.Code)
	if err != nil {
		return nil, ErrCodeRejected
	}
	key := codeKey(r.Network, hashHex(code))
	var rec codeRecord
	unused, err := getJSON(ctx, s.kv, key, &rec)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrCodeRejected
	case err != nil:
		return nil, fmt.Errorf("accounts: reading a code: %w", err)
	case !rec.valid(now):
		return nil, ErrCodeRejected
	}

	person, err := s.person(ctx, r.Network, rec.Person)
	if err != nil {
		return nil, err
	}
	if !network.Policy.SignUp.OldEnough(person.BirthDate, now.In(network.Location())) {
		return nil, ErrTooYoung
	}

	// Use the code up first: it is what concurrent redemptions race for.
	rec.Account, rec.Used = id, now
	used, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("accounts: encoding a code: %w", err)
	}
	ttl := rec.Expires.Sub(now) + expirySlack
	switch err := s.kv.CompareAndSwap(ctx, key, unused, used, ttl); {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		return nil, ErrCodeRejected // another redemption won
	case err != nil:
		return nil, fmt.Errorf("accounts: using a code: %w", err)
	}

	acct := &Account{
		ID: id, Network: r.Network, Issuer: r.Issuer, Subject: r.Subject,
		Person: rec.Person, HomeOrg: rec.Org, Created: now,
	}
	if err := s.createAccount(ctx, acct); err != nil {
		// The code was not what failed: give it back.
		if restoreErr := s.kv.CompareAndSwap(ctx, key, used, unused, ttl); restoreErr != nil {
			err = errors.Join(err, fmt.Errorf("accounts: giving a code back: %w", restoreErr))
		}
		return nil, err
	}
	return acct, nil
}

// createAccount stores a new account; the login's concurrent enrollment with another code
// makes it fail with ErrAlreadyEnrolled.
func (s *Service) createAccount(ctx context.Context, acct *Account) error {
	value, err := json.Marshal(acct)
	if err != nil {
		return fmt.Errorf("accounts: encoding an account: %w", err)
	}
	switch err := s.kv.Create(ctx, accountKey(acct.Network, acct.ID), value, 0); {
	case errors.Is(err, store.ErrExists):
		return ErrAlreadyEnrolled
	case err != nil:
		return fmt.Errorf("accounts: storing an account: %w", err)
	}
	return nil
}

// withCleanup returns err, joined with the errors of the cleanups that failed, if any.
func withCleanup(err error, cleanups ...error) error {
	if cerr := errors.Join(cleanups...); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}
