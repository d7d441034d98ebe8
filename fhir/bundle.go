package fhir

import (
	"encoding/json"
	"fmt"
)

// Bundle is a light view of a FHIR Bundle whose entries keep their resources
// as raw JSON. Elements the gateway does not use are not kept.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is one Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one Bundle.entry with its resource as raw JSON.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *EntrySearch    `json:"search,omitempty"`
	Request  *EntryRequest   `json:"request,omitempty"`
	Response *EntryResponse  `json:"response,omitempty"`
}

// EntrySearch is Bundle.entry.search.
type EntrySearch struct {
	Mode  string   `json:"mode,omitempty"` // match | include | outcome
	Score *float64 `json:"score,omitempty"`
}

// EntryRequest is Bundle.entry.request.
type EntryRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneMatch string `json:"ifNoneMatch,omitempty"`
	IfMatch     string `json:"ifMatch,omitempty"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
}

// EntryResponse is Bundle.entry.response.
type EntryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// Bundle types used by the gateway.
const (
	BundleSearchset   = "searchset"
	BundleTransaction = "transaction"
	BundleBatch       = "batch"
	BundleCollection  = "collection"
	BundleDocument    = "document"
)

// Link relations. Servers write the previous-page link as "previous" (R4) or
// "prev" (older servers); LinkURL treats them as one.
const (
	RelSelf     = "self"
	RelNext     = "next"
	RelPrevious = "previous"
	RelFirst    = "first"
	RelLast     = "last"
)

// ParseBundle decodes a Bundle, keeping entry resources raw.
func ParseBundle(data []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("fhir: decoding bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("fhir: expected a Bundle, got resourceType %q", b.ResourceType)
	}
	return &b, nil
}

// LinkURL returns the URL of the link with the given relation, or "".
// "previous" and "prev" are the same relation.
func (b *Bundle) LinkURL(rel string) string {
	want := normalRel(rel)
	for _, l := range b.Link {
		if normalRel(l.Relation) == want {
			return l.URL
		}
	}
	return ""
}

func normalRel(rel string) string {
	if rel == "prev" {
		return RelPrevious
	}
	return rel
}
