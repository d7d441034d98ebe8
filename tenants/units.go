package tenants

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a fixed length of time. In YAML it is written as in Go
// ("20m", "1h30m") with two more units, d (24h) and w (7d), or in ISO 8601
// ("PT20M", "P4D"). Calendar spans (months, years) are Periods instead.
type Duration time.Duration

// ParseDuration parses "45d", "1h30m", "P4D", "PT20M" and the like.
// Negative durations are refused: policy limits are never negative.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var (
		d   time.Duration
		err error
	)
	if s[0] == 'P' || s[0] == 'p' {
		d, err = parseISODuration(s)
	} else {
		d, err = parseUnitDuration(s)
	}
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w (use forms like 20m, 1h, 45d or PT20M, P4D)", s, err)
	}
	return Duration(d), nil
}

// durationUnits are the units beyond Go's: multiples of an hour.
var durationUnits = map[string]time.Duration{"d": 24, "w": 7 * 24}

// durationTerm converts one number+unit term exactly, using Go's own
// parser for Go's units and scaling hours for days and weeks.
func durationTerm(num, unit string) (time.Duration, error) {
	if strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") || strings.Count(num, ".") > 1 {
		return 0, fmt.Errorf("malformed number %q", num)
	}
	mult, custom := durationUnits[unit]
	if !custom {
		if unit == "" || strings.ContainsAny(unit, "+-") {
			return 0, fmt.Errorf("missing or unknown unit after %s", num)
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil {
			return 0, fmt.Errorf("unknown unit %q", unit)
		}
		return d, nil
	}
	hours, err := time.ParseDuration(num + "h")
	if err != nil || hours > math.MaxInt64/mult {
		return 0, errors.New("too long")
	}
	return hours * mult, nil
}

// addDuration sums durations, refusing overflow.
func addDuration(a, b time.Duration) (time.Duration, error) {
	if a > math.MaxInt64-b {
		return 0, errors.New("too long")
	}
	return a + b, nil
}

// parseUnitDuration parses a sequence of number+unit terms ("1d12h").
func parseUnitDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	for s != "" {
		num, rest := leadingNumber(s)
		if num == "" {
			return 0, errors.New("expected a number")
		}
		unit := rest
		if i := strings.IndexAny(rest, "0123456789."); i >= 0 {
			unit = rest[:i]
		}
		d, err := durationTerm(num, unit)
		if err != nil {
			return 0, err
		}
		if total, err = addDuration(total, d); err != nil {
			return 0, err
		}
		s = rest[len(unit):]
	}
	return total, nil
}

// parseISODuration parses ISO 8601 durations with fixed-length units only:
// weeks, days, hours, minutes, seconds.
func parseISODuration(s string) (time.Duration, error) {
	body := strings.ToUpper(s[1:])
	if body == "" || body == "T" {
		return 0, errors.New("no terms after P")
	}
	var total time.Duration
	inTime := false
	for body != "" {
		if body[0] == 'T' {
			if inTime {
				return 0, errors.New("T appears twice")
			}
			inTime = true
			body = body[1:]
			if body == "" {
				return 0, errors.New("no terms after T")
			}
			continue
		}
		num, rest := leadingNumber(body)
		if num == "" || rest == "" {
			return 0, errors.New("expected a number and a designator")
		}
		var unit string
		switch designator := rest[0]; {
		case !inTime && designator == 'W':
			unit = "w"
		case !inTime && designator == 'D':
			unit = "d"
		case !inTime && (designator == 'Y' || designator == 'M'):
			return 0, errors.New("years and months have no fixed length")
		case inTime && designator == 'H':
			unit = "h"
		case inTime && designator == 'M':
			unit = "m"
		case inTime && designator == 'S':
			unit = "s"
		default:
			return 0, fmt.Errorf("unexpected designator %q", designator)
		}
		d, err := durationTerm(num, unit)
		if err != nil {
			return 0, err
		}
		if total, err = addDuration(total, d); err != nil {
			return 0, err
		}
		body = rest[1:]
	}
	return total, nil
}

// leadingNumber splits s after its leading digits and decimal point.
func leadingNumber(s string) (num, rest string) {
	i := 0
	for i < len(s) && (s[i] == '.' || '0' <= s[i] && s[i] <= '9') {
		i++
	}
	return s[:i], s[i:]
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d with days where it has whole days: "45d", "1d12h", "20m".
func (d Duration) String() string {
	td := time.Duration(d)
	if td <= 0 || td%time.Second != 0 {
		return td.String()
	}
	var b strings.Builder
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := td / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			td -= n * u.size
		}
	}
	return b.String()
}

func (d *Duration) UnmarshalText(text []byte) error {
	parsed, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Period is a calendar span of years, months and days, applied with
// time.AddDate so that "1mo" after January 31 is March 3 (or 2 in a leap
// year) and "3y" before February 29 is March 1. In YAML: "3y", "1mo",
// "1y6mo", "2w", "10d", or ISO 8601 "P3Y", "P1M", "P1Y6M"; "0" is none.
type Period struct {
	Years, Months, Days int
}

// ParsePeriod parses a calendar span; "m" alone is refused as ambiguous.
func ParsePeriod(s string) (Period, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "0" {
		return Period{}, nil
	}
	fail := func(why string) (Period, error) {
		return Period{}, fmt.Errorf("invalid period %q: %s (use forms like 3y, 1mo, 2w, 45d or P3Y, P1M)", orig, why)
	}
	iso := strings.HasPrefix(s, "P") || strings.HasPrefix(s, "p")
	if iso {
		s = strings.ToUpper(s[1:])
	}
	if s == "" {
		return fail("empty")
	}
	var p Period
	for s != "" {
		num, rest := leadingNumber(s)
		if num == "" || strings.Contains(num, ".") {
			return fail("expected a whole number")
		}
		n, err := strconv.Atoi(num)
		if err != nil || n > 10000 {
			return fail("number out of range")
		}
		unit := rest
		if i := strings.IndexAny(rest, "0123456789"); i >= 0 {
			unit = rest[:i]
		}
		switch {
		case iso && unit == "Y", !iso && unit == "y":
			p.Years += n
		case iso && unit == "M", !iso && unit == "mo":
			p.Months += n
		case iso && unit == "W", !iso && unit == "w":
			p.Days += 7 * n
		case iso && unit == "D", !iso && unit == "d":
			p.Days += n
		case !iso && unit == "m":
			return fail(`"m" is ambiguous; write mo for months`)
		case unit == "":
			return fail("missing unit after " + num)
		default:
			return fail(fmt.Sprintf("unknown unit %q", unit))
		}
		s = rest[len(unit):]
	}
	return p, nil
}

// IsZero reports whether p spans nothing.
func (p Period) IsZero() bool { return p == Period{} }

// After returns the instant p after t.
func (p Period) After(t time.Time) time.Time { return t.AddDate(p.Years, p.Months, p.Days) }

// Before returns the instant p before t.
func (p Period) Before(t time.Time) time.Time { return t.AddDate(-p.Years, -p.Months, -p.Days) }

func (p Period) String() string {
	if p.IsZero() {
		return "0"
	}
	var b strings.Builder
	for _, part := range []struct {
		n    int
		unit string
	}{{p.Years, "y"}, {p.Months, "mo"}, {p.Days, "d"}} {
		if part.n != 0 {
			fmt.Fprintf(&b, "%d%s", part.n, part.unit)
		}
	}
	return b.String()
}

func (p *Period) UnmarshalText(text []byte) error {
	parsed, err := ParsePeriod(string(text))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Date is a calendar date without a time zone, such as a birth date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a full date, YYYY-MM-DD. FHIR allows partial birth dates
// ("1990", "1990-05"); they are refused here because an age cannot be known
// from them.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDate adds years, months and days with time.AddDate's normalization.
func (d Date) AddDate(years, months, days int) Date {
	return DateOf(d.In(time.UTC).AddDate(years, months, days))
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return d.In(time.UTC).Compare(e.In(time.UTC))
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

func (d *Date) UnmarshalText(text []byte) error {
	parsed, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ByteSize is a size in bytes, written "10MiB", "25MB", "512KiB" or a plain
// number of bytes.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// ParseByteSize parses sizes such as "10MiB" or "1048576".
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	num, unit := leadingNumber(s)
	unit = strings.TrimSpace(unit)
	scale := int64(1)
	if unit != "" {
		scale = 0
		for _, u := range byteUnits {
			if unit == u.suffix {
				scale = u.size
			}
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || scale == 0 || f*float64(scale) > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q (use forms like 10MiB, 25MB or a number of bytes)", s)
	}
	return ByteSize(f * float64(scale)), nil
}

func (b ByteSize) String() string {
	for _, u := range byteUnits[:3] {
		if b > 0 && int64(b)%u.size == 0 && int64(b)/u.size < 1<<10 {
			return fmt.Sprintf("%d%s", int64(b)/u.size, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

func (b *ByteSize) UnmarshalText(text []byte) error {
	parsed, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = parsed
	return nil
}

func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }
