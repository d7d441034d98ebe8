package accounts

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestNormalizeCode(t *testing.T) {
	const canonical = "7KQ2MX9D4THB3ZW"
	tests := []struct {
		typed string
		want  string // "" means malformed
	}{
		{"7KQ2M-X9D4T-HB3ZW", canonical},
		{"7KQ2MX9D4THB3ZW", canonical},
		{"7kq2m-x9d4t-hb3zw", canonical},
		{"  7KQ2M X9D4T HB3ZW \n", canonical},
		{"7KQ2M – X9D4T — HB3ZW", canonical}, // en and em dashes from a paste
		{"7KQ2M\tX9D4T\u00a0HB3ZW", canonical},
		{"7-K-Q-2-M-X-9-D-4-T-H-B-3-Z-W", canonical},
		{"OOOOO-IIIII-LLLLL", "000001111111111"},
		{"ooooo-iiiii-lllll", "000001111111111"},
		{"", ""},
		{"-----", ""},
		{"7KQ2M-X9D4T-HB3Z", ""},     // 14 symbols
		{"7KQ2M-X9D4T-HB3ZWA", ""},   // 16 symbols
		{"7KQ2M-X9D4T-HB3ZU", ""},    // U is not in the alphabet
		{"7KQ2M_X9D4T_HB3ZW", ""},    // underscores are not separators
		{"7KQ2M.X9D4T.HB3ZW", ""},    // nor are dots
		{"7KQ2M-X9D4T-HB3Z\xff", ""}, // not UTF-8
		{"7KQ2M-X9D4T-HB3ZÉ", ""},
		{"7KQ2M-X9D4T-HB3Z٣", ""},                 // a digit, but not an ASCII one
		{strings.Repeat(" ", 60) + canonical, ""}, // longer than any typed code
	}
	for _, tt := range tests {
		got, err := NormalizeCode(tt.typed)
		switch {
		case tt.want == "" && !errors.Is(err, ErrMalformedCode):
			t.Errorf("NormalizeCode(%q) = %q, %v; want ErrMalformedCode", tt.typed, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tt.typed, got, err, tt.want)
		}
	}
}

var displayedCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)

func TestNewCodesAreWellFormedAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	counts := map[byte]int{}
	for range 2000 {
		code := newCode()
		shown := formatCode(code)
		if !displayedCode.MatchString(shown) {
			t.Fatalf("code %q does not look like XXXXX-XXXXX-XXXXX", shown)
		}
		if got, err := NormalizeCode(shown); err != nil || got != code {
			t.Fatalf("NormalizeCode(%q) = %q, %v; want %q", shown, got, err, code)
		}
		if seen[code] {
			t.Fatalf("code %q issued twice", code)
		}
		seen[code] = true
		for i := range len(code) {
			counts[code[i]]++
		}
	}
	// 30,000 symbols over 32: each appears about 940 times; a symbol never or rarely seen
	// would mean a broken mapping, not bad luck.
	for i := range len(crockford) {
		if n := counts[crockford[i]]; n < 700 {
			t.Errorf("symbol %c appeared %d times in 30000", crockford[i], n)
		}
	}
}

func FuzzNormalizeCode(f *testing.F) {
	for _, seed := range []string{
		"7KQ2M-X9D4T-HB3ZW", "7kq2m x9d4t hb3zw", "OOOOO-IIIII-LLLLL", "", "-", "7KQ2M–X9D4T—HB3ZW",
		"\xff\xfe", "ǅǅǅǅǅǅǅǅǅǅǅǅǅǅǅ", strings.Repeat("A", 64), strings.Repeat("A", 65),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, err := NormalizeCode(typed)
		if err != nil {
			if !errors.Is(err, ErrMalformedCode) {
				t.Fatalf("NormalizeCode(%q) failed with %v, not ErrMalformedCode", typed, err)
			}
			return
		}
		if len(code) != codeLen || strings.Trim(code, crockford) != "" {
			t.Fatalf("NormalizeCode(%q) = %q: not %d canonical symbols", typed, code, codeLen)
		}
		for _, again := range []string{code, formatCode(code), strings.ToLower(formatCode(code))} {
			if got, err := NormalizeCode(again); err != nil || got != code {
				t.Fatalf("NormalizeCode(%q) = %q, %v; want %q (from %q)", again, got, err, code, typed)
			}
		}
	})
}
