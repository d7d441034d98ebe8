package records

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// Cache values come back from a store other replicas and operators can write: whatever they
// hold, reading them never panics, and what reads survives a round trip.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(time.Unix(0, 1), &found{}))
	f.Add(encodeEntry(time.Unix(1800000000, 5), &found{
		matches:  []json.RawMessage{json.RawMessage(`{"resourceType":"Observation"}`)},
		includes: []json.RawMessage{json.RawMessage(`{}`)},
	}))
	f.Add(encodeEntry(time.Unix(0, 1), &found{incomplete: true}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		expires, got, err := decodeEntry(data)
		if err != nil {
			return
		}
		sameLists := func(a, b []json.RawMessage) bool {
			return slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
		}
		// Not byte for byte: a varint may be written longer than it needs.
		expires2, again, err := decodeEntry(encodeEntry(expires, got))
		if err != nil || !expires2.Equal(expires) || again.incomplete != got.incomplete || !sameLists(again.matches, got.matches) || !sameLists(again.includes, got.includes) {
			t.Fatalf("decoded %x, which does not survive a round trip (%v)", data, err)
		}
	})
}

// Opening a value never panics, and only a value sealed under the same storage key opens.
func FuzzOpen(f *testing.F) {
	s, err := newSealer([][]byte{bytes.Repeat([]byte{7}, CacheKeySize)})
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := s.seal([]byte("entry"), []byte("records/a/b/c"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, "records/a/b/c")
	f.Add(sealed[:sealOverhead], "records/a/b/c")
	f.Add([]byte{sealVersion}, "")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		plain, err := s.open(data, []byte(key))
		if err == nil && (key != "records/a/b/c" || string(plain) != "entry") {
			t.Fatalf("opened %x under %q as %q", data, key, plain)
		}
	})
}
