package fhir

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseToken(t *testing.T) {
	tests := []struct {
		in      string
		want    Token
		wantErr bool
	}{
		{in: "http://loinc.org|1234-5", want: Token{System: "http://loinc.org", Code: "1234-5", SystemSet: true}},
		{in: "|final", want: Token{Code: "final", SystemSet: true}},
		{in: "http://loinc.org|", want: Token{System: "http://loinc.org", SystemSet: true}},
		{in: "final", want: Token{Code: "final"}},
		{in: "a|b|c", want: Token{System: "a", Code: "b|c", SystemSet: true}},
		{in: "", wantErr: true},
		{in: "|", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseToken(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrBadParam) {
				t.Errorf("ParseToken(%q) error = %v, want ErrBadParam", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseToken(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestTokenMatches(t *testing.T) {
	const loinc = "http://loinc.org"
	tests := []struct {
		token        string
		system, code string
		want         bool
	}{
		{token: loinc + "|1234-5", system: loinc, code: "1234-5", want: true},
		{token: loinc + "|1234-5", system: "http://other", code: "1234-5", want: false},
		{token: loinc + "|1234-5", system: loinc, code: "9999-9", want: false},
		{token: "|final", system: "", code: "final", want: true},
		{token: "|final", system: "http://hl7.org/status", code: "final", want: false},
		{token: loinc + "|", system: loinc, code: "anything", want: true},
		{token: loinc + "|", system: "http://snomed.info/sct", code: "anything", want: false},
		{token: "final", system: "any", code: "final", want: true},
		{token: "final", system: "", code: "final", want: true},
		{token: "final", system: "", code: "Final", want: false},
	}
	for _, tt := range tests {
		tok, err := ParseToken(tt.token)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Matches(tt.system, tt.code); got != tt.want {
			t.Errorf("%q.Matches(%q, %q) = %v, want %v", tt.token, tt.system, tt.code, got, tt.want)
		}
	}
}

func utc(y, mo, d, h, mi, s, ns int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
}

func TestParseDateRanges(t *testing.T) {
	plus5 := time.FixedZone("", 5*3600)
	tests := []struct {
		in         string
		prefix     Prefix
		start, end time.Time
	}{
		{"2024", PrefixEq, utc(2024, 1, 1, 0, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0, 0)},
		{"2024-02", PrefixEq, utc(2024, 2, 1, 0, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0, 0)},
		{"2024-12", PrefixEq, utc(2024, 12, 1, 0, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0, 0)},
		{"ge2024-02-29", PrefixGe, utc(2024, 2, 29, 0, 0, 0, 0), utc(2024, 3, 1, 0, 0, 0, 0)},
		{"lt2024-03-05T10:00Z", PrefixLt, utc(2024, 3, 5, 10, 0, 0, 0), utc(2024, 3, 5, 10, 1, 0, 0)},
		{"gt2024-03-05T10:00:07Z", PrefixGt, utc(2024, 3, 5, 10, 0, 7, 0), utc(2024, 3, 5, 10, 0, 8, 0)},
		{"le2024-03-05T10:00:07.25Z", PrefixLe, utc(2024, 3, 5, 10, 0, 7, 250e6), utc(2024, 3, 5, 10, 0, 7, 260e6)},
		{"sa2024-03-05T10:00:07.123456789123Z", PrefixSa, utc(2024, 3, 5, 10, 0, 7, 123456789), utc(2024, 3, 5, 10, 0, 7, 123456790)},
		{"eb2024-03-05T10:00:00+05:00", PrefixEb, time.Date(2024, 3, 5, 10, 0, 0, 0, plus5), time.Date(2024, 3, 5, 10, 0, 1, 0, plus5)},
		{"ne2024-03-05T10:00:00-03:30", PrefixNe, utc(2024, 3, 5, 13, 30, 0, 0), utc(2024, 3, 5, 13, 30, 1, 0)},
		{"ap2024-03-05T10:00:00", PrefixAp, utc(2024, 3, 5, 10, 0, 0, 0), utc(2024, 3, 5, 10, 0, 1, 0)},
		// An unencoded "+" in a query string arrives as a space.
		{"2024-03-05T10:00:00 05:00", PrefixEq, time.Date(2024, 3, 5, 10, 0, 0, 0, plus5), time.Date(2024, 3, 5, 10, 0, 1, 0, plus5)},
		{"eq2024-03-05T00:00:00+00:00", PrefixEq, utc(2024, 3, 5, 0, 0, 0, 0), utc(2024, 3, 5, 0, 0, 1, 0)},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tt.in, err)
			continue
		}
		if got.Prefix != tt.prefix || !got.Start.Equal(tt.start) || !got.End.Equal(tt.end) {
			t.Errorf("ParseDate(%q) = %s [%s, %s); want %s [%s, %s)", tt.in, got.Prefix, got.Start, got.End, tt.prefix, tt.start, tt.end)
		}
	}
}

func TestParseDateErrors(t *testing.T) {
	for _, in := range []string{
		"", "xx2024", "GE2024", "24", "2024-13", "2024-00", "2023-02-29", "2024-04-31",
		"2024-01-01T25:00Z", "2024-01-01T10:60Z", "2024-01-01T10", "2024-01-01T10:00:00.Z",
		"2024-01-01T10:00:00+15:00", "2024-01-01T10:00:00+05", "2024-01-01+05:00", "2024/01/01",
		"2024-01-01T10:00:00Zjunk", "0000", "ge", "2024-1-01",
	} {
		_, err := ParseDate(in)
		if !errors.Is(err, ErrBadParam) {
			t.Errorf("ParseDate(%q) error = %v, want ErrBadParam", in, err)
		}
		if err != nil && !strings.Contains(err.Error(), "date") {
			t.Errorf("ParseDate(%q) error %q does not say what is wrong", in, err)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in         string
		start, end time.Time
		wantErr    bool
	}{
		{in: "1984-07-02", start: utc(1984, 7, 2, 0, 0, 0, 0), end: utc(1984, 7, 3, 0, 0, 0, 0)},
		{in: "2019-11-13T04:52:59-05:00", start: utc(2019, 11, 13, 9, 52, 59, 0), end: utc(2019, 11, 13, 9, 53, 0, 0)},
		{in: "2019-11-13T04:52:59.123+00:00", start: utc(2019, 11, 13, 4, 52, 59, 123e6), end: utc(2019, 11, 13, 4, 52, 59, 124e6)},
		{in: "2019-11", start: utc(2019, 11, 1, 0, 0, 0, 0), end: utc(2019, 12, 1, 0, 0, 0, 0)},
		{in: "2019-11-13T04:52Z", wantErr: true}, // resources need seconds
		{in: "ge2019", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		start, end, err := ParseDateTime(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseDateTime(%q) = nil error, want one", tt.in)
			}
			continue
		}
		if err != nil || !start.Equal(tt.start) || !end.Equal(tt.end) {
			t.Errorf("ParseDateTime(%q) = [%s, %s), %v; want [%s, %s)", tt.in, start, end, err, tt.start, tt.end)
		}
	}
}

// TestDateMatches checks each prefix against targets placed around the
// searched day 2024-03-05 (UTC): before it, straddling its start, inside it,
// straddling its end, after it, and containing it.
func TestDateMatches(t *testing.T) {
	day := func(d int) time.Time { return utc(2024, 3, d, 0, 0, 0, 0) }
	noon := func(d int) time.Time { return utc(2024, 3, d, 12, 0, 0, 0) }
	type target struct {
		name       string
		start, end time.Time
	}
	targets := []target{
		{"point before", noon(4), noon(4)},
		{"point at start", day(5), day(5)},
		{"point inside", noon(5), noon(5)},
		{"point at end", day(6), day(6)},
		{"point after", noon(6), noon(6)},
		{"range before, touching", noon(4), day(5)},
		{"range straddling start", noon(4), noon(5)},
		{"range inside", day(5), day(6)},
		{"range straddling end", noon(5), noon(6)},
		{"range after, touching", day(6), noon(6)},
		{"range containing", noon(4), noon(6)},
		{"open above from before", noon(4), time.Time{}},
		{"open below to after", time.Time{}, noon(6)},
	}
	// One letter per target, in order: y = matches.
	want := map[Prefix]string{
		PrefixEq: "-yy----y-----",
		PrefixNe: "y--yyyy-yyyyy",
		PrefixGt: "---yy---yyyyy",
		PrefixLt: "y----yy---yyy",
		PrefixGe: "-yyyy--yyyyyy",
		PrefixLe: "yyy--yyy--yyy",
		PrefixSa: "---yy----y---",
		PrefixEb: "y----y-------",
		PrefixAp: "-yy---yyy-yyy",
	}
	for prefix, pattern := range want {
		p, err := ParseDate(string(prefix) + "2024-03-05")
		if err != nil {
			t.Fatal(err)
		}
		for i, tg := range targets {
			wantMatch := pattern[i] == 'y'
			if got := p.Matches(tg.start, tg.end); got != wantMatch {
				t.Errorf("%s2024-03-05 vs %s: got %v, want %v", prefix, tg.name, got, wantMatch)
			}
		}
	}
}

func TestDateApproximate(t *testing.T) {
	now := utc(2024, 12, 31, 0, 0, 0, 0)
	p, err := ParseDate("ap2024-03-05")
	if err != nil {
		t.Fatal(err)
	}
	p = p.Approximate(now) // gap 301 days → margin 30.1 days
	if want := 301 * 24 * time.Hour / 10; p.Margin != want {
		t.Fatalf("margin = %s, want %s", p.Margin, want)
	}
	tests := []struct {
		at   time.Time
		want bool
	}{
		{utc(2024, 2, 5, 0, 0, 0, 0), true},
		{utc(2024, 2, 3, 0, 0, 0, 0), false},
		{utc(2024, 4, 5, 0, 0, 0, 0), true},
		{utc(2024, 4, 7, 0, 0, 0, 0), false},
	}
	for _, tt := range tests {
		if got := p.Matches(tt.at, tt.at); got != tt.want {
			t.Errorf("ap2024-03-05 (now %s) vs %s = %v, want %v", now, tt.at, got, tt.want)
		}
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		in, defaultType string
		want            Reference
		wantErr         bool
	}{
		{in: "Patient/1", want: Reference{Type: "Patient", ID: "1"}},
		{in: "Patient/1", defaultType: "Group", want: Reference{Type: "Patient", ID: "1"}},
		{in: "1", defaultType: "Patient", want: Reference{Type: "Patient", ID: "1"}},
		{in: "abc-1.2", want: Reference{ID: "abc-1.2"}},
		{in: "Patient/1/_history/2", want: Reference{Type: "Patient", ID: "1"}},
		{in: "https://ehr.example/fhir/r4/Patient/1", want: Reference{Type: "Patient", ID: "1", URL: "https://ehr.example/fhir/r4/Patient/1"}},
		{in: "https://ehr.example/fhir/Patient/1/_history/7", want: Reference{Type: "Patient", ID: "1", URL: "https://ehr.example/fhir/Patient/1"}},
		{in: "http://ehr.example/Observation/x", want: Reference{Type: "Observation", ID: "x", URL: "http://ehr.example/Observation/x"}},
		{in: "", wantErr: true},
		{in: "patient/1", wantErr: true},
		{in: "Patient/", wantErr: true},
		{in: "/1", wantErr: true},
		{in: "Patient/1/extra", wantErr: true},
		{in: "Patient/1/_history/", wantErr: true},
		{in: "Patient/a b", wantErr: true},
		{in: "1", defaultType: "not a type", wantErr: true},
		{in: strings.Repeat("x", 65), wantErr: true},
		{in: "ftp://ehr.example/Patient/1", wantErr: true},
		{in: "https://ehr.example/Patient/1?x=1", wantErr: true},
		{in: "https://ehr.example/", wantErr: true},
		{in: "https://ehr.example/1", wantErr: true},
		{in: "urn:uuid:0f0e", wantErr: true},
		{in: "#contained", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseReference(tt.in, tt.defaultType)
		if tt.wantErr {
			if !errors.Is(err, ErrBadParam) {
				t.Errorf("ParseReference(%q, %q) = %+v, %v; want ErrBadParam", tt.in, tt.defaultType, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseReference(%q, %q) = %+v, %v; want %+v", tt.in, tt.defaultType, got, err, tt.want)
		}
	}
}

func TestSplitOR(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"", []string{""}},
		{"a,b,c", []string{"a", "b", "c"}},
		{"a,,b", []string{"a", "", "b"}},
		{`a\,b,c`, []string{"a,b", "c"}},
		{`x\|y\$z\\`, []string{`x|y$z\`}},
		{`a\\,b`, []string{`a\`, "b"}},
		{`a\nb`, []string{`a\nb`}},
		{`trailing\`, []string{`trailing\`}},
		{"final,amended", []string{"final", "amended"}},
	}
	for _, tt := range tests {
		if got := SplitOR(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitOR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParamName(t *testing.T) {
	tests := []struct{ key, name, modifier string }{
		{"code", "code", ""},
		{"code:text", "code", "text"},
		{"subject:Patient", "subject", "Patient"},
		{"subject:Patient.name", "subject", "Patient.name"},
		{"_lastUpdated", "_lastUpdated", ""},
		{"a:b:c", "a", "b:c"},
	}
	for _, tt := range tests {
		if name, mod := ParamName(tt.key); name != tt.name || mod != tt.modifier {
			t.Errorf("ParamName(%q) = %q, %q; want %q, %q", tt.key, name, mod, tt.name, tt.modifier)
		}
	}
}
