package store

import "errors"

// Sentinel errors of the port. Engines wrap them with the operation that failed.
var (
	// ErrNotFound: the key is absent or expired.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: CompareAndSwap found a value other than the expected one.
	ErrConflict = errors.New("store: value changed")
	// ErrInvalid: an argument breaks the port's rules (a bad key, a negative TTL, an ID
	// that no log of this engine issued, ...). Retrying will not help.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)
