package identity

import (
	"fmt"
	"net/url"
)

// maxReturnTo bounds the length of a return path.
const maxReturnTo = 2048

// ValidateReturnTo checks that returnTo is a path on this site, so that the
// redirect after sign-in cannot send the user elsewhere (an open redirect),
// and returns it, with "" meaning "/".
//
// It must start with a single "/": "//host" is another site to a browser.
// It must be printable ASCII, other characters percent-encoded, without
// spaces or backslashes: browsers read "\" as "/" and drop tabs and
// newlines, so "/\evil.example" and "/<tab>/evil.example" would both become
// "//evil.example".
func ValidateReturnTo(returnTo string) (string, error) {
	if returnTo == "" {
		return "/", nil
	}
	if len(returnTo) > maxReturnTo {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidReturnTo, maxReturnTo)
	}
	for i := 0; i < len(returnTo); i++ {
		if c := returnTo[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "", fmt.Errorf("%w: byte %d must be percent-encoded", ErrInvalidReturnTo, i)
		}
	}
	if returnTo[0] != '/' {
		return "", fmt.Errorf("%w: it must be a path starting with /", ErrInvalidReturnTo)
	}
	if len(returnTo) > 1 && returnTo[1] == '/' {
		return "", fmt.Errorf("%w: it must not start with //", ErrInvalidReturnTo)
	}
	// Catches malformed escapes such as "%zz"; the checks above already
	// rule out a scheme or a host.
	if u, err := url.Parse(returnTo); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "", fmt.Errorf("%w: it must be a path on this site", ErrInvalidReturnTo)
	}
	return returnTo, nil
}
