package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCacheKeys(t *testing.T) {
	key := strings.Repeat("ab", 32)
	other := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name, content string
		want          int
		wantErr       string
	}{
		{"one key", key + "\n", 1, ""},
		{"rotation, comments and blank lines", "# new first\n" + other + "\n\n" + key + "\n", 2, ""},
		{"short key", strings.Repeat("ab", 16), 0, "line 1: want 32 bytes"},
		{"not hex", strings.Repeat("zz", 32), 0, "line 1"},
		{"empty file", "# nothing\n", 0, "holds no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := readCacheKeys(path)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case len(keys) != tc.want:
				t.Fatalf("%d keys, want %d", len(keys), tc.want)
			}
			if err != nil && strings.Contains(err.Error(), key[:16]) {
				t.Error("the error quotes key material")
			}
		})
	}
	if keys, err := readCacheKeys(""); keys != nil || err != nil {
		t.Errorf("no file: %v, %v; want nothing", keys, err)
	}
}
