package fhir

import (
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"Patient-1.v2", true},
		{"123", true},
		{strings.Repeat("a", MaxIDLen), true},
		{"", false},
		{strings.Repeat("a", MaxIDLen+1), false},
		{"a/b", false},
		{"a b", false},
		{"a_b", false},
		{"é", false},
		{"a\x00", false},
		{"Patient/1", false},
	} {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
