// Package check holds the argument checks every engine of the storage port applies, so that
// all engines reject the same input with the same error.
package check

import (
	"fmt"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

// Key checks a key.
func Key(key string) error { return store.ValidateKey(key) }

// Prefix checks a Scan prefix.
func Prefix(prefix string) error { return store.ValidatePrefix(prefix) }

// Name checks the name of a log, group, consumer or channel; kind says which, for the error.
func Name(kind, name string) error {
	if err := store.ValidateKey(name); err != nil {
		return fmt.Errorf("%s name: %w", kind, err)
	}
	return nil
}

// Names checks several names of the same call, in order: kind and name alternate.
func Names(kindsAndNames ...string) error {
	for i := 0; i+1 < len(kindsAndNames); i += 2 {
		if err := Name(kindsAndNames[i], kindsAndNames[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// TTL checks an expiry: zero (none) or positive.
func TTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%w: negative ttl %s", store.ErrInvalid, ttl)
	}
	return nil
}

// Positive checks a count or limit that must be at least 1.
func Positive(what string, n int) error {
	if n < 1 {
		return fmt.Errorf("%w: %s is %d, must be at least 1", store.ErrInvalid, what, n)
	}
	return nil
}

// NonNegative checks a length that may be zero.
func NonNegative(what string, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: %s is %d, must not be negative", store.ErrInvalid, what, n)
	}
	return nil
}

// Wait checks a duration that may be zero.
func Wait(what string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative %s %s", store.ErrInvalid, what, d)
	}
	return nil
}
