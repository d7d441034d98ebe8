package store

import "fmt"

// MaxKeyLen is the longest key or name, in bytes, that every engine accepts.
const MaxKeyLen = 1024

// ValidateKey reports, as an error wrapping ErrInvalid, whether key breaks the rules for keys
// and names: 1 to MaxKeyLen bytes of printable ASCII without space. The error names the
// offending byte's position, never the key, which may hold an identifier.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	return validateChars(key)
}

// ValidatePrefix is ValidateKey for a Scan prefix, which may also be empty.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return validateChars(prefix)
}

func validateChars(s string) error {
	if len(s) > MaxKeyLen {
		return fmt.Errorf("%w: key of %d bytes, longer than %d", ErrInvalid, len(s), MaxKeyLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' {
			return fmt.Errorf("%w: key byte %d is 0x%02x; keys are printable ASCII without space", ErrInvalid, i, c)
		}
	}
	return nil
}
