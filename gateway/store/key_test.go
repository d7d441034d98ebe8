package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/gateway/store"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		valid bool
	}{
		{"simple", "session:abc", true},
		{"separators", "link/org-1:patient_2.x", true},
		{"glob characters", `a*b?c[d]e\f{g}`, true},
		{"every printable byte", printable(), true},
		{"one byte", "a", true},
		{"longest", strings.Repeat("k", store.MaxKeyLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("k", store.MaxKeyLen+1), false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"nul", "a\x00", false},
		{"delete", "a\x7f", false},
		{"non-ASCII", "café", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.ValidateKey(tt.key)
			if tt.valid && err != nil {
				t.Fatalf("ValidateKey: %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ValidateKey: %v, want ErrInvalid", err)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	if err := store.ValidatePrefix(""); err != nil {
		t.Errorf("empty prefix: %v, want nil", err)
	}
	if err := store.ValidatePrefix("a:"); err != nil {
		t.Errorf("a: %v, want nil", err)
	}
	if err := store.ValidatePrefix("a "); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("prefix with space: %v, want ErrInvalid", err)
	}
}

func TestValidateKeyErrorHidesKey(t *testing.T) {
	const secret = "token:s3cr3t\n"
	err := store.ValidateKey(secret)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %q must reject the key without quoting it", err)
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, seed := range []string{"", "a", "session:1", "a b", "\x00", "é", strings.Repeat("x", store.MaxKeyLen+1)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := store.ValidateKey(key)
		want := key != "" && len(key) <= store.MaxKeyLen && strings.IndexFunc(key, func(r rune) bool {
			return r < '!' || r > '~'
		}) < 0
		if (err == nil) != want {
			t.Fatalf("ValidateKey(%q) = %v, want valid=%t", key, err, want)
		}
		if err != nil && !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("ValidateKey(%q) = %v, want it to wrap ErrInvalid", key, err)
		}
	})
}

func printable() string {
	var b strings.Builder
	for c := byte('!'); c <= '~'; c++ {
		b.WriteByte(c)
	}
	return b.String()
}
