package accounts

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// A code is 15 symbols of Crockford's base32 (75 random bits), shown in three groups of five
// ("7KQ2M-X9D4T-HB3ZW"). The alphabet has no I, L, O or U, so what people misread as one of
// them is read back as the digit they meant.
const (
	crockford  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	codeLen    = 15
	codeGroup  = 5
	maxCodeLen = 64 // of typed input, before normalisation
)

// ErrMalformedCode: the text cannot be a code at all (see NormalizeCode).
var ErrMalformedCode = errors.New("accounts: a code is 15 letters and digits, such as 7KQ2M-X9D4T-HB3ZW")

// NormalizeCode reads a code as a person types it: any case, with or without dashes or spaces
// between groups, O for 0 and I or L for 1. It returns the 15 symbols in canonical form, or
// ErrMalformedCode. A well-formed code may still be wrong: only Redeem knows.
func NormalizeCode(typed string) (string, error) {
	if len(typed) > maxCodeLen || !utf8.ValidString(typed) {
		return "", ErrMalformedCode
	}
	var b strings.Builder
	b.Grow(codeLen)
	for _, r := range typed {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) { // any dash a keyboard or paste gives
			continue
		}
		c, ok := crockfordSymbol(r)
		if !ok || b.Len() == codeLen {
			return "", ErrMalformedCode
		}
		b.WriteByte(c)
	}
	if b.Len() != codeLen {
		return "", ErrMalformedCode
	}
	return b.String(), nil
}

// crockfordSymbol maps a typed character to its canonical symbol.
func crockfordSymbol(r rune) (byte, bool) {
	if 'a' <= r && r <= 'z' {
		r -= 'a' - 'A'
	}
	switch r {
	case 'O':
		return '0', true
	case 'I', 'L':
		return '1', true
	}
	if r < utf8.RuneSelf && strings.IndexByte(crockford, byte(r)) >= 0 {
		return byte(r), true
	}
	return 0, false
}

// formatCode groups a canonical code for display.
func formatCode(code string) string {
	var groups []string
	for i := 0; i < len(code); i += codeGroup {
		groups = append(groups, code[i:min(i+codeGroup, len(code))])
	}
	return strings.Join(groups, "-")
}

// newCode returns a fresh random code in canonical form.
func newCode() string {
	var random [codeLen]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never fails (it aborts the program instead)
	code := make([]byte, codeLen)
	for i, b := range random {
		code[i] = crockford[b&31] // 256 is a multiple of 32: each symbol is uniform
	}
	return string(code)
}

// codeRecord is what the store keeps of a code, under the hash of the code.
type codeRecord struct {
	Person  string    `json:"person"`
	Org     string    `json:"org"`
	Kind    string    `json:"kind"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// Account is the account that redeemed the code; empty while unused.
	Account string    `json:"account,omitempty"`
	Used    time.Time `json:"used,omitzero"`
}

func kindName(kind tenants.CodeKind) (string, bool) {
	switch kind {
	case tenants.ActivationCode:
		return "activation", true
	case tenants.InvitationCode:
		return "invitation", true
	}
	return "", false
}

// valid reports whether the code can be redeemed at now; it stops exactly at its expiry.
func (c *codeRecord) valid(now time.Time) bool {
	return c.Account == "" && !now.Before(c.Issued) && now.Before(c.Expires)
}

// IssueCode issues a one-time code that enrolls an account into person, with org as the
// account's home org. org must be an affiliated org of the network at which the person has a
// record. The code works until expires (the network's sign-up policy: activation codes 45
// days and invitations 24 hours by default) and only once. Only its hash is stored: hand the
// code to the person now, it cannot be read back.
func (s *Service) IssueCode(ctx context.Context, network, person, org string, kind tenants.CodeKind) (code string, expires time.Time, err error) {
	ctx, cancel, net, err := s.begin(ctx, network)
	if err != nil {
		return "", time.Time{}, err
	}
	defer cancel()
	kindText, ok := kindName(kind)
	if !ok {
		return "", time.Time{}, invalidf("unknown code kind %d", kind)
	}
	if !affiliated(net, org) {
		return "", time.Time{}, invalidf("codes are issued for the network's affiliated orgs only")
	}
	p, err := s.person(ctx, network, person)
	if err != nil {
		return "", time.Time{}, err
	}
	if _, ok := p.Record(org); !ok {
		return "", time.Time{}, invalidf("the person has no record at the org")
	}

	now := s.now()
	rec := codeRecord{Person: person, Org: org, Kind: kindText, Issued: now, Expires: net.Policy.SignUp.CodeExpiresAt(kind, now)}
	if !rec.Expires.After(now) {
		return "", time.Time{}, fmt.Errorf("accounts: the network's code expiry is not positive: %w", ErrInvalid)
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("accounts: encoding a code: %w", err)
	}
	// A collision of 75 random bits will not happen; retrying keeps Create's promise honest.
	for range 3 {
		code = newCode()
		err = s.kv.Create(ctx, codeKey(network, hashHex(code)), value, rec.Expires.Sub(now)+expirySlack)
		if !errors.Is(err, store.ErrExists) {
			break
		}
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("accounts: storing a code: %w", err)
	}
	return formatCode(code), rec.Expires, nil
}
