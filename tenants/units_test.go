package tenants

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"20m", 20 * time.Minute, "20m"},
		{"1h", time.Hour, "1h"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"45d", 45 * 24 * time.Hour, "45d"},
		{"4d", 96 * time.Hour, "4d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"2w", 14 * 24 * time.Hour, "14d"},
		{"1.5h", 90 * time.Minute, "1h30m"},
		{"500ms", 500 * time.Millisecond, "500ms"},
		{"0", 0, "0s"},
		{"PT20M", 20 * time.Minute, "20m"},
		{"P4D", 96 * time.Hour, "4d"},
		{"P1DT12H", 36 * time.Hour, "1d12h"},
		{"PT1.5S", 1500 * time.Millisecond, "1.5s"},
		{"P2W", 14 * 24 * time.Hour, "14d"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tt.in, err)
			continue
		}
		if got.Std() != tt.want || got.String() != tt.str {
			t.Errorf("ParseDuration(%q) = %v (%q), want %v (%q)", tt.in, got.Std(), got, tt.want, tt.str)
		}
		back, err := ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("round trip of %q through %q = %v, %v", tt.in, got, back, err)
		}
	}
	for _, bad := range []string{"", "20", "-5m", "20 minutes", "1y", "5x", "P1M", "P1Y", "P", "PT", "P1H", "PT1D", "h", "9999999999999d", "1..5h"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want Period
		str  string
	}{
		{"3y", Period{Years: 3}, "3y"},
		{"1mo", Period{Months: 1}, "1mo"},
		{"36mo", Period{Months: 36}, "36mo"},
		{"1y6mo", Period{Years: 1, Months: 6}, "1y6mo"},
		{"2w", Period{Days: 14}, "14d"},
		{"45d", Period{Days: 45}, "45d"},
		{"0", Period{}, "0"},
		{"P3Y", Period{Years: 3}, "3y"},
		{"P1M", Period{Months: 1}, "1mo"},
		{"P1Y6M10D", Period{Years: 1, Months: 6, Days: 10}, "1y6mo10d"},
	}
	for _, tt := range tests {
		got, err := ParsePeriod(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParsePeriod(%q) = %+v (%q), %v; want %+v (%q)", tt.in, got, got, err, tt.want, tt.str)
		}
	}
	for _, bad := range []string{"", "3", "1m", "1.5y", "y", "3 years", "P", "PT1H", "-1y", "99999y"} {
		if p, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) = %+v, want an error", bad, p)
		}
	}
}

func TestPeriodArithmetic(t *testing.T) {
	tests := []struct {
		p           Period
		t           string
		after, befo string
	}{
		{Period{Months: 1}, "2026-01-31T10:00:00Z", "2026-03-03T10:00:00Z", "2025-12-31T10:00:00Z"},
		{Period{Years: 3}, "2028-02-29T00:00:00Z", "2031-03-01T00:00:00Z", "2025-03-01T00:00:00Z"},
		{Period{Days: 14}, "2026-11-22T12:00:00Z", "2026-12-06T12:00:00Z", "2026-11-08T12:00:00Z"},
	}
	for _, tt := range tests {
		if got := tt.p.After(at(tt.t)); !got.Equal(at(tt.after)) {
			t.Errorf("%v after %s = %s, want %s", tt.p, tt.t, got, tt.after)
		}
		if got := tt.p.Before(at(tt.t)); !got.Equal(at(tt.befo)) {
			t.Errorf("%v before %s = %s, want %s", tt.p, tt.t, got, tt.befo)
		}
	}
}

func TestParseDate(t *testing.T) {
	d, err := ParseDate("2016-02-29")
	if err != nil || d != (Date{2016, time.February, 29}) || d.String() != "2016-02-29" {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"2015-02-29", "1990", "1990-05", "1990-5-1", "19900501", "2020-01-01T00:00:00Z", ""} {
		if d, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", bad, d)
		}
	}
	if got := (Date{2016, time.February, 29}).AddDate(1, 0, 0); got != (Date{2017, time.March, 1}) {
		t.Errorf("AddDate normalization = %v", got)
	}
	if c := (Date{2020, 1, 2}).Compare(Date{2020, 1, 1}); c != 1 {
		t.Errorf("Compare = %d", c)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"10MiB", 10 << 20, "10MiB"},
		{"25MB", 25_000_000, "25000000B"},
		{"512KiB", 512 << 10, "512KiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"1048576", 1 << 20, "1MiB"},
		{"100B", 100, "100B"},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseByteSize(%q) = %d (%q), %v; want %d (%q)", tt.in, got, got, err, tt.want, tt.str)
		}
	}
	for _, bad := range []string{"", "MiB", "10XB", "-1", "1e30GiB"} {
		if b, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", bad, b)
		}
	}
}
