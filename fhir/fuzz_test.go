package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"http://loinc.org|1234-5", "|x", "sys|", "code", "|", "", "a|b|c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error %v does not wrap ErrBadParam", err)
			}
			return
		}
		back := tok.Code
		if tok.SystemSet {
			back = tok.System + "|" + tok.Code
		}
		if back != s {
			t.Fatalf("%q parsed to %+v", s, tok)
		}
		if tok.Code != "" && !tok.Matches(tok.System, tok.Code) {
			t.Fatalf("%+v does not match its own coding", tok)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024", "ge2024-02", "lt2024-02-29T10:00Z", "sa2024-03-05T10:00:07.123+05:30", "ap2024-01-01T00:00:00", "2024-01-01T10:00:00 05:00", "eb0001", "9999-12-31T23:59:60Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error %v does not wrap ErrBadParam", err)
			}
			return
		}
		if !d.Start.Before(d.End) {
			t.Fatalf("%q: empty range [%s, %s)", s, d.Start, d.End)
		}
		// A value always matches its own start under eq, never under ne (the
		// zero time, 0001-01-01T00:00Z, stands for an open bound instead).
		eq, ne := d, d
		if d.Start.IsZero() {
			return
		}
		eq.Prefix, ne.Prefix = PrefixEq, PrefixNe
		if !eq.Matches(d.Start, d.Start) || ne.Matches(d.Start, d.Start) {
			t.Fatalf("%q: its own start does not match", s)
		}
		d.Matches(d.End, d.Start.Add(-1)) // must not panic on an inverted target
	})
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"Patient/1", "1", "https://ehr.example/fhir/Patient/1/_history/2", "Patient/1/_history/x", "#c", "urn:uuid:1", "http://h/A/b?c"} {
		f.Add(s, "Patient")
	}
	f.Fuzz(func(t *testing.T, s, defaultType string) {
		ref, err := ParseReference(s, defaultType)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error %v does not wrap ErrBadParam", err)
			}
			return
		}
		if !isID(ref.ID) || (ref.Type != "" && !isResourceType(ref.Type)) {
			t.Fatalf("%q parsed to invalid %+v", s, ref)
		}
		if ref.URL == "" && ref.Type != "" && !strings.HasPrefix(s, ref.Type+"/"+ref.ID) && s != ref.ID {
			t.Fatalf("%q parsed to %+v", s, ref)
		}
	})
}

func FuzzSplitOR(f *testing.F) {
	for _, s := range []string{"a,b", `a\,b`, `\\,`, `x\|y\$z`, `\`, ",,", ""} {
		f.Add(s)
	}
	escape := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `|`, `\|`, `$`, `\$`)
	f.Fuzz(func(t *testing.T, s string) {
		parts := SplitOR(s)
		if len(parts) == 0 {
			t.Fatal("no parts")
		}
		escaped := make([]string, len(parts))
		for i, p := range parts {
			escaped[i] = escape.Replace(p)
		}
		again := SplitOR(strings.Join(escaped, ","))
		if strings.Join(again, "\x00") != strings.Join(parts, "\x00") {
			t.Fatalf("%q: round trip gave %q, want %q", s, again, parts)
		}
	})
}

const fuzzBundle = `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:b","resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:a"}},"request":{"method":"PUT","url":"Observation/o1"}}]}`

func FuzzLoadBundle(f *testing.F) {
	f.Add([]byte(fuzzBundle))
	f.Add([]byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Basic","id":"x","a":[{"reference":"urn:uuid:q"}]}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Basic","id":"x","reference":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		resources, err := LoadBundle(data)
		if err != nil {
			return
		}
		for _, raw := range resources {
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON out: %s", raw)
			}
			h, err := ReadHeader(raw)
			if err != nil || !isID(h.ID) {
				t.Fatalf("resource without a valid id: %s (%v)", raw, err)
			}
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(fuzzBundle))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"prev","url":"x"}],"total":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if b.ResourceType != "Bundle" {
			t.Fatalf("accepted a %q", b.ResourceType)
		}
		if b.LinkURL("prev") != b.LinkURL(RelPrevious) {
			t.Fatal("prev and previous differ")
		}
		var res SearchResult
		_ = res.add(b) // must not panic on any entry
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"1","gender":"x","name":[{"use":"weird"}]}`))
	f.Add([]byte(`{"resourceType":"Observation","status":"final","valueQuantity":{"value":1e400}}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		before := bytes.Clone(raw)
		v, _, err := Decode(raw)
		if !bytes.Equal(raw, before) {
			t.Fatal("Decode changed its input")
		}
		if err == nil && v == nil {
			t.Fatal("nil value without an error")
		}
	})
}
