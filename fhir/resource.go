package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Header holds the elements every resource shares, read without decoding the rest.
type Header struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Meta         *Meta  `json:"meta,omitempty"`
}

// Meta is the part of Resource.meta the gateway reads.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Source      string   `json:"source,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

// Coding is a light Coding for tags and quick reads.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// ErrNotResource reports JSON that is not an object with a resourceType.
var ErrNotResource = errors.New("fhir: not a resource (no resourceType)")

// ReadHeader reads resourceType, id and meta of a raw resource.
func ReadHeader(raw []byte) (Header, error) {
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return Header{}, fmt.Errorf("fhir: reading resource header: %w", err)
	}
	if h.ResourceType == "" {
		return Header{}, ErrNotResource
	}
	return h, nil
}

// Ref returns "Type/id" for a header.
func (h Header) Ref() string { return h.ResourceType + "/" + h.ID }

// MaxIDLen is the longest a FHIR resource id may be.
const MaxIDLen = 64

// ValidID reports whether s is a valid FHIR resource id: 1 to 64 of A-Z, a-z,
// 0-9, '-' and '.'. Such an id is also safe in a URL path segment and in a
// storage key, with '/' free to separate parts.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
