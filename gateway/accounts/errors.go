package accounts

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the service; test them with errors.Is. Messages are safe to show to the person:
// they never say which part of a code was wrong, nor repeat an identifier.
var (
	// ErrInvalid: an argument is missing or malformed (a bad id, an empty subject, ...).
	ErrInvalid = errors.New("accounts: invalid argument")
	// ErrUnknownNetwork: no network has the given id.
	ErrUnknownNetwork = errors.New("accounts: unknown network")
	// ErrNotFound: no person (or account) has the given id in the network.
	ErrNotFound = errors.New("accounts: not found")
	// ErrConflict: the change would give a patient record to a second person; a record
	// belongs to one person of the network at a time.
	ErrConflict = errors.New("accounts: a record of the person is held by another person")
	// ErrNotEnrolled: the login has not redeemed a code yet, so it is tied to no person.
	ErrNotEnrolled = errors.New("accounts: this login is not enrolled")
	// ErrAlreadyEnrolled: the login is already tied to a person and cannot enroll again.
	ErrAlreadyEnrolled = errors.New("accounts: this login is already enrolled")
	// ErrCodeRejected: the code is wrong, expired, already used or unknown; deliberately one
	// error for all of them, so that a guesser learns nothing.
	ErrCodeRejected = errors.New("accounts: the code was not accepted")
	// ErrLocked: too many wrong codes; the error is a *LockedError that says until when.
	ErrLocked = errors.New("accounts: too many wrong codes")
	// ErrTooYoung: the person is below the network's minimum age for sign-up.
	ErrTooYoung = errors.New("accounts: below the minimum age to sign up")
)

// LockedError refuses an attempt during a lockout. errors.Is(err, ErrLocked) holds for it.
type LockedError struct {
	// Until is when attempts are accepted again.
	Until time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v; try again after %s", ErrLocked, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
