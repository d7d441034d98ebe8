package fhir

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ErrBadParam is wrapped by every search-parameter parse error, so callers can
// answer 400 with the message.
var ErrBadParam = errors.New("fhir: invalid search parameter")

func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadParam, fmt.Sprintf(format, args...))
}

// Token is a token search value: "system|code", "|code" (no system),
// "system|" (any code in system) or "code" (any system).
type Token struct {
	System string
	Code   string
	// SystemSet is true when the value had a "|": System is then meant
	// exactly, even when empty ("|code" means a code with no system).
	SystemSet bool
}

// ParseToken parses one token value (not a comma list). The value is
// expected unescaped (as SplitOR returns it): the first "|" separates the
// system from the code.
func ParseToken(s string) (Token, error) {
	if s == "" {
		return Token{}, badParam("empty token value")
	}
	system, code, found := strings.Cut(s, "|")
	if !found {
		return Token{Code: s}, nil
	}
	if system == "" && code == "" {
		return Token{}, badParam("token %q names neither a system nor a code", s)
	}
	return Token{System: system, Code: code, SystemSet: true}, nil
}

// Matches reports whether a coding (system, code) satisfies the token.
// Codes compare exactly: FHIR codes are case-sensitive.
func (t Token) Matches(system, code string) bool {
	switch {
	case !t.SystemSet:
		return code == t.Code
	case t.Code == "": // "system|": any code in the system
		return system == t.System
	default: // "system|code", or "|code" with System == ""
		return system == t.System && code == t.Code
	}
}

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

func parsePrefix(s string) (Prefix, bool) {
	switch p := Prefix(s); p {
	case PrefixEq, PrefixNe, PrefixGt, PrefixLt, PrefixGe, PrefixLe, PrefixSa, PrefixEb, PrefixAp:
		return p, true
	}
	return "", false
}

// DateParam is a date search value: a prefix and the instant range
// [Start, End) that the value's precision covers ("2024" covers the year).
type DateParam struct {
	Prefix Prefix
	Start  time.Time
	End    time.Time
	// Margin widens the range on both sides for the ap prefix only. ParseDate
	// leaves it zero (ap then means "overlaps"); Approximate sets FHIR's
	// recommended 10% of the gap to the present.
	Margin time.Duration
}

// ParseDate parses a date search value such as "ge2024-01-01",
// "2024-03", "lt2024-03-05T10:00:00Z". A missing prefix means eq.
// Values without a zone are read as UTC. A space where a zone's "+" belongs
// is read as "+", since an unencoded "+" in a query string arrives as a space.
func ParseDate(s string) (DateParam, error) {
	prefix := PrefixEq
	value := s
	if len(s) >= 2 && isLower(s[0]) && isLower(s[1]) {
		p, ok := parsePrefix(s[:2])
		if !ok {
			return DateParam{}, badParam("date %q has unknown prefix %q", s, s[:2])
		}
		prefix, value = p, s[2:]
	}
	if i := strings.LastIndexByte(value, ' '); i > 0 && strings.Contains(value[:i], "T") {
		value = value[:i] + "+" + value[i+1:]
	}
	start, end, err := parseDateRange(value, true)
	if err != nil {
		return DateParam{}, badParam("date %q: %v", s, err)
	}
	return DateParam{Prefix: prefix, Start: start, End: end}, nil
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// Approximate returns d with the margin FHIR recommends for ap: 10% of the
// gap between now and the searched value.
func (d DateParam) Approximate(now time.Time) DateParam {
	gap := now.Sub(d.Start)
	if gap < 0 {
		gap = -gap
	}
	d.Margin = gap / 10
	return d
}

// Matches reports whether a target period [start, end) satisfies the
// parameter under FHIR's range semantics. A point in time has end == start.
// A zero start means the period is open below; a zero end with a non-zero
// start means it is open above (an ongoing Period).
func (d DateParam) Matches(start, end time.Time) bool {
	t := newSpan(start, end)
	ps, pe := d.Start, d.End
	contains := t.within(ps, pe)
	switch d.Prefix {
	case PrefixEq, "":
		return contains
	case PrefixNe:
		return !contains
	case PrefixGt:
		return t.reachesFrom(pe)
	case PrefixLt:
		return t.reachesBefore(ps)
	case PrefixGe:
		return t.reachesFrom(pe) || contains
	case PrefixLe:
		return t.reachesBefore(ps) || contains
	case PrefixSa:
		return t.startsFrom(pe)
	case PrefixEb:
		return t.endsBy(ps)
	case PrefixAp:
		return t.overlaps(ps.Add(-d.Margin), pe.Add(d.Margin))
	}
	return false
}

// span is a target period: half-open [start, end), a point, or open on
// either side.
type span struct {
	start, end           time.Time
	point                bool
	openBelow, openAbove bool
}

func newSpan(start, end time.Time) span {
	s := span{start: start, end: end}
	switch {
	case start.IsZero() && end.IsZero():
		s.openBelow, s.openAbove = true, true
	case start.IsZero():
		s.openBelow = true
	case end.IsZero():
		s.openAbove = true
	case end.Equal(start):
		s.point = true
	}
	return s
}

// within reports whether the span lies inside [ps, pe).
func (s span) within(ps, pe time.Time) bool {
	if s.openBelow || s.openAbove {
		return false
	}
	if s.point {
		return !s.start.Before(ps) && s.start.Before(pe)
	}
	return !s.start.Before(ps) && !s.end.After(pe)
}

// overlaps reports whether the span shares any instant with [ps, pe).
func (s span) overlaps(ps, pe time.Time) bool {
	if s.point {
		return !s.start.Before(ps) && s.start.Before(pe)
	}
	startsBeforeEnd := s.openBelow || s.start.Before(pe)
	endsAfterStart := s.openAbove || s.end.After(ps)
	return startsBeforeEnd && endsAfterStart
}

// reachesFrom reports whether the span has an instant at or after t.
func (s span) reachesFrom(t time.Time) bool {
	switch {
	case s.openAbove:
		return true
	case s.point:
		return !s.start.Before(t)
	}
	return s.end.After(t)
}

// reachesBefore reports whether the span has an instant before t.
func (s span) reachesBefore(t time.Time) bool {
	return s.openBelow || s.start.Before(t)
}

// startsFrom reports whether the whole span lies at or after t.
func (s span) startsFrom(t time.Time) bool {
	return !s.openBelow && !s.start.Before(t)
}

// endsBy reports whether the whole span lies before t.
func (s span) endsBy(t time.Time) bool {
	switch {
	case s.openAbove:
		return false
	case s.point:
		return s.start.Before(t)
	}
	return !s.end.After(t)
}

// ParseDateTime parses a FHIR date, dateTime or instant as it appears in a
// resource and returns the range its precision covers. Values without a zone
// are read as UTC.
func ParseDateTime(s string) (start, end time.Time, err error) {
	start, end, err = parseDateRange(s, false)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("fhir: dateTime %q: %w", s, err)
	}
	return start, end, nil
}

// parseDateRange reads YYYY[-MM[-DD[Thh:mm[:ss[.fff…]][zone]]]]. Minute
// precision is allowed in searches only.
func parseDateRange(s string, search bool) (start, end time.Time, err error) {
	p := dateScanner{s: s}
	year := p.digits(4, "year")
	if p.err == nil && year == 0 {
		p.fail("year 0000 does not exist")
	}
	month, day := 1, 1
	var hour, minute, sec, nanos int
	// step moves from the start to the end of the range the precision covers.
	step := func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	if p.more() && p.err == nil {
		p.expect('-')
		month = p.number(2, 1, 12, "month")
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
		if p.more() && p.err == nil {
			p.expect('-')
			day = p.number(2, 1, daysIn(year, month), "day")
			step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
			if p.more() && p.err == nil {
				p.expect('T')
				hour = p.number(2, 0, 23, "hour")
				p.expect(':')
				minute = p.number(2, 0, 59, "minute")
				step = func(t time.Time) time.Time { return t.Add(time.Minute) }
				if p.peek(':') {
					p.expect(':')
					sec = p.number(2, 0, 60, "second")
					step = func(t time.Time) time.Time { return t.Add(time.Second) }
					if p.peek('.') {
						var unit time.Duration
						nanos, unit = p.fraction()
						step = func(t time.Time) time.Time { return t.Add(unit) }
					}
				} else if !search && p.err == nil {
					p.fail("a time needs seconds")
				}
			}
		}
	}
	loc := p.zone()
	if p.err == nil && p.more() {
		p.fail(fmt.Sprintf("unexpected %q", s[p.i:]))
	}
	if p.err != nil {
		return time.Time{}, time.Time{}, p.err
	}
	start = time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	return start, step(start), nil
}

// dateScanner reads a date left to right, keeping the first error.
type dateScanner struct {
	s   string
	i   int
	err error
}

func (p *dateScanner) fail(msg string) {
	if p.err == nil {
		p.err = errors.New(msg)
	}
}

func (p *dateScanner) more() bool { return p.i < len(p.s) }

func (p *dateScanner) peek(c byte) bool { return p.err == nil && p.i < len(p.s) && p.s[p.i] == c }

func (p *dateScanner) expect(c byte) {
	if p.err != nil {
		return
	}
	if !p.peek(c) {
		p.fail(fmt.Sprintf("expected %q at position %d", c, p.i+1))
		return
	}
	p.i++
}

func (p *dateScanner) digits(n int, what string) int {
	if p.err != nil {
		return 0
	}
	if p.i+n > len(p.s) {
		p.fail(what + " is incomplete")
		return 0
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			p.fail(what + " must be digits")
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v
}

func (p *dateScanner) number(n, lo, hi int, what string) int {
	v := p.digits(n, what)
	if p.err == nil && (v < lo || v > hi) {
		p.fail(fmt.Sprintf("%s %d is out of range", what, v))
	}
	return v
}

// fraction reads ".ddd…" and returns the nanoseconds and the unit of its
// last digit. Digits past nanoseconds are accepted and ignored.
func (p *dateScanner) fraction() (nanos int, unit time.Duration) {
	p.expect('.')
	unit = time.Second
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if n < 9 {
			nanos = nanos*10 + int(p.s[p.i]-'0')
			unit /= 10
		}
		n++
		p.i++
	}
	if n == 0 {
		p.fail("fraction of a second needs digits")
	}
	for k := min(n, 9); k < 9; k++ {
		nanos *= 10
	}
	return nanos, unit
}

// zone reads "Z", "+hh:mm" or "-hh:mm"; with none the value is UTC.
func (p *dateScanner) zone() *time.Location {
	if p.err != nil || !p.more() {
		return time.UTC
	}
	switch p.s[p.i] {
	case 'Z':
		p.i++
		return time.UTC
	case '+', '-':
		if !strings.Contains(p.s[:p.i], "T") {
			p.fail("a zone needs a time")
			return time.UTC
		}
		sign := 1
		if p.s[p.i] == '-' {
			sign = -1
		}
		p.i++
		h := p.number(2, 0, 14, "zone hour")
		p.expect(':')
		m := p.number(2, 0, 59, "zone minute")
		if p.err != nil {
			return time.UTC
		}
		offset := sign * (h*3600 + m*60)
		if offset == 0 {
			return time.UTC
		}
		return time.FixedZone("", offset)
	}
	return time.UTC
}

func daysIn(year, month int) int {
	if month < 1 || month > 12 {
		return 31
	}
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Reference is a reference search value.
type Reference struct {
	Type string // may be empty when the value was a bare id and no default applied
	ID   string
	URL  string // set when the value was an absolute URL (without any _history part)
}

// String returns "Type/id", or the bare id when the type is unknown.
func (r Reference) String() string {
	if r.Type == "" {
		return r.ID
	}
	return r.Type + "/" + r.ID
}

// ParseReference parses "Patient/1", "1" (typed by defaultType) or an
// absolute URL ending in Type/id. A trailing "/_history/version" is dropped.
func ParseReference(s, defaultType string) (Reference, error) {
	if s == "" {
		return Reference{}, badParam("empty reference")
	}
	var abs *url.URL
	path := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return Reference{}, badParam("reference %q is not an http(s) URL", s)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return Reference{}, badParam("reference %q must not carry a query or fragment", s)
		}
		abs, path = u, u.Path
	}
	parts := strings.Split(path, "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		if !isID(parts[n-1]) {
			return Reference{}, badParam("reference %q has an invalid version", s)
		}
		parts = parts[:n-2]
	}
	var ref Reference
	n := len(parts)
	switch {
	case abs == nil && n == 1:
		if defaultType != "" && !isResourceType(defaultType) {
			return Reference{}, badParam("reference %q: %q is not a resource type", s, defaultType)
		}
		ref.Type, ref.ID = defaultType, parts[0]
	case abs == nil && n == 2, abs != nil && n >= 3:
		ref.Type, ref.ID = parts[n-2], parts[n-1]
		if !isResourceType(ref.Type) {
			return Reference{}, badParam("reference %q: %q is not a resource type", s, ref.Type)
		}
	default:
		return Reference{}, badParam("reference %q is not Type/id, id or an absolute URL ending in Type/id", s)
	}
	if !isID(ref.ID) {
		return Reference{}, badParam("reference %q: %q is not a valid id", s, ref.ID)
	}
	if abs != nil {
		abs.Path, abs.RawPath = strings.Join(parts, "/"), ""
		ref.URL = abs.String()
	}
	return ref, nil
}

// isID is ValidID, under the short name the package's parsers use.
func isID(s string) bool { return ValidID(s) }

// isResourceType reports whether s has the shape of a resource type name.
func isResourceType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// SplitOR splits a parameter value on commas that are not escaped with a
// backslash and unescapes "\,", "\|", "\$" and "\\" in each part. A
// backslash before any other character is kept as it is.
func SplitOR(s string) []string {
	if !strings.Contains(s, `\`) {
		return strings.Split(s, ",")
	}
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`,|$\`, s[i+1]) >= 0:
			cur.WriteByte(s[i+1])
			i++
		case c == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

// ParamName splits "code:text" into name "code" and modifier "text".
func ParamName(key string) (name, modifier string) {
	name, modifier, _ = strings.Cut(key, ":")
	return name, modifier
}
