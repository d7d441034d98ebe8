package fhir

import (
	"errors"
	"time"
)

// ErrBadParam is wrapped by every search-parameter parse error, so callers can
// answer 400 with the message.
var ErrBadParam = errors.New("fhir: invalid search parameter")

// Token is a token search value: "system|code", "|code" (no system),
// "system|" (any code in system) or "code" (any system).
type Token struct {
	System string
	Code   string
	// SystemSet is true when the value had a "|": System is then meant
	// exactly, even when empty ("|code" means a code with no system).
	SystemSet bool
}

// ParseToken parses one token value (not a comma list).
func ParseToken(s string) (Token, error) { panic("unimplemented") }

// Matches reports whether a coding (system, code) satisfies the token.
func (t Token) Matches(system, code string) bool { panic("unimplemented") }

// Prefix is a comparator of date, number and quantity searches.
type Prefix string

// Prefixes defined by FHIR R4 search.
const (
	PrefixEq Prefix = "eq"
	PrefixNe Prefix = "ne"
	PrefixGt Prefix = "gt"
	PrefixLt Prefix = "lt"
	PrefixGe Prefix = "ge"
	PrefixLe Prefix = "le"
	PrefixSa Prefix = "sa"
	PrefixEb Prefix = "eb"
	PrefixAp Prefix = "ap"
)

// DateParam is a date search value: a prefix and the instant range
// [Start, End) that the value's precision covers ("2024" covers the year).
type DateParam struct {
	Prefix Prefix
	Start  time.Time
	End    time.Time
}

// ParseDate parses a date search value such as "ge2024-01-01",
// "2024-03", "lt2024-03-05T10:00:00Z". A missing prefix means eq.
// Values without a zone are read as UTC.
func ParseDate(s string) (DateParam, error) { panic("unimplemented") }

// Matches reports whether a target period [start, end) satisfies the
// parameter under FHIR's range semantics. A point in time has end == start.
func (d DateParam) Matches(start, end time.Time) bool { panic("unimplemented") }

// ParseDateTime parses a FHIR date, dateTime or instant as it appears in a
// resource and returns the range its precision covers.
func ParseDateTime(s string) (start, end time.Time, err error) { panic("unimplemented") }

// Reference is a reference search value.
type Reference struct {
	Type string // may be empty when the value was a bare id and no default applied
	ID   string
	URL  string // set when the value was an absolute URL
}

// ParseReference parses "Patient/1", "1" (typed by defaultType) or an
// absolute URL ending in Type/id.
func ParseReference(s, defaultType string) (Reference, error) { panic("unimplemented") }

// SplitOR splits a parameter value on commas that are not escaped with a
// backslash and unescapes "\,", "\|", "\$" and "\\" in each part.
func SplitOR(s string) []string { panic("unimplemented") }

// ParamName splits "code:text" into name "code" and modifier "text".
func ParamName(key string) (name, modifier string) { panic("unimplemented") }
