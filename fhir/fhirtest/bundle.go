package fhirtest

import (
	"bytes"
	"encoding/json"

	"github.com/portalgate/portalgate/fhir"
)

// bundleWriter writes a searchset with stored resources copied in as they
// are: encoding a fhir.Bundle would re-validate every resource on each page.
type bundleWriter struct {
	buf     bytes.Buffer
	entries int
}

func newBundleWriter(sizeHint int, id, lastUpdated string, total int, links []fhir.BundleLink) *bundleWriter {
	head := marshalJSON(fhir.Bundle{
		ResourceType: "Bundle",
		ID:           id,
		Meta:         &fhir.Meta{LastUpdated: lastUpdated},
		Type:         fhir.BundleSearchset,
		Total:        &total,
		Link:         links,
	})
	b := &bundleWriter{}
	b.buf.Grow(sizeHint)
	b.buf.Write(head[:len(head)-1]) // leave the object open for the entries
	return b
}

// entry adds an entry; raw must be valid compact JSON.
func (b *bundleWriter) entry(fullURL string, raw []byte, mode string) {
	if b.entries == 0 {
		b.buf.WriteString(`,"entry":[`)
	} else {
		b.buf.WriteByte(',')
	}
	b.entries++
	b.buf.WriteString(`{"fullUrl":`)
	b.buf.Write(quoteJSON(fullURL))
	b.buf.WriteString(`,"resource":`)
	b.buf.Write(raw)
	b.buf.WriteString(`,"search":{"mode":`)
	b.buf.Write(quoteJSON(mode))
	b.buf.WriteString(`}}`)
}

// marshalJSON encodes v without escaping "&", "<" and ">", so that URLs
// read as written. Callers pass values that always encode.
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func (b *bundleWriter) finish() []byte {
	if b.entries > 0 {
		b.buf.WriteByte(']')
	}
	b.buf.WriteByte('}')
	return b.buf.Bytes()
}

// quoteJSON returns s as a JSON string literal, as marshalJSON would.
func quoteJSON(s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return marshalJSON(s)
		}
	}
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}
