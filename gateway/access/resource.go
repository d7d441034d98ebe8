package access

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/tenants"
)

// Reading and rewriting resources kept as raw JSON. Members are looked up as decoders read
// them: by their decoded keys, without regard to case (Go's encoding/json, for one, matches
// "Code" to code), and where a key repeats, the last one counts. A resource cannot hide an
// element from the filters behind an escape, a capital or a duplicate.
//
// Results are read on every response, so reading walks the bytes without allocating, and
// only the rare rewrite of a withheld result goes through fhir.Members and fhir.EditMeta.

// pick sets vals[k] to the value of the last top-level member of obj named names[k], nil
// when there is none. It reports whether obj is a JSON object, checking only its top level.
func pick(obj []byte, names []string, vals []json.RawMessage) bool {
	clear(vals)
	return eachMember(obj, func(key, value []byte) {
		// A key of another length than a name matches it only through non-ASCII case
		// folding (the Kelvin sign folds to k): rare enough to check in full.
		ascii := isASCII(key)
		for k, name := range names {
			if (len(key) == len(name) || !ascii) && bytes.EqualFold(key, []byte(name)) {
				vals[k] = value
			}
		}
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lastMember returns the value of the last member named name, or nil.
func lastMember(members []fhir.Member, name string) json.RawMessage {
	for k := len(members) - 1; k >= 0; k-- {
		if strings.EqualFold(members[k].Key, name) {
			return members[k].Value
		}
	}
	return nil
}

// stringOf returns the JSON string v holds.
func stringOf(v json.RawMessage) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

var typeName = []string{"resourceType"}

// resourceTypeOf returns the resource's type, or "" when it has none or is not an object.
func resourceTypeOf(resource []byte) string {
	var v [1]json.RawMessage
	if !pick(resource, typeName, v[:]) {
		return ""
	}
	s, _ := stringOf(v[0])
	return s
}

var (
	conceptNames = []string{"coding"}
	codingNames  = []string{"system", "code"}
)

// codingsOf returns the codings of a CodeableConcept or of an array of them. An absent value
// has none; false means the value could not be read as either.
func codingsOf(v json.RawMessage) ([]tenants.Coding, bool) {
	if v == nil {
		return nil, true
	}
	var out []tenants.Coding
	readCoding := func(coding []byte) bool {
		var f [2]json.RawMessage
		if !pick(coding, codingNames, f[:]) {
			return false
		}
		var c tenants.Coding
		var ok bool
		if c.System, ok = optionalString(f[0]); !ok {
			return false
		}
		if c.Code, ok = optionalString(f[1]); !ok {
			return false
		}
		out = append(out, c)
		return true
	}
	readConcept := func(concept []byte) bool {
		var f [1]json.RawMessage
		return pick(concept, conceptNames, f[:]) && (f[0] == nil || eachElement(f[0], readCoding))
	}
	var ok bool
	if v = bytes.TrimLeft(v, " \t\r\n"); len(v) > 0 && v[0] == '[' {
		ok = eachElement(v, readConcept)
	} else {
		ok = readConcept(v)
	}
	if !ok {
		return nil, false
	}
	return out, true
}

// optionalString reads a string member that may be absent.
func optionalString(v json.RawMessage) (string, bool) {
	if v == nil {
		return "", true
	}
	return stringOf(v)
}

// eachMember calls fn with the decoded key and the value of each member of the JSON object
// obj, in order. It reports whether obj is an object; only its own structure is checked.
func eachMember(obj []byte, fn func(key, value []byte)) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for i < len(obj) && obj[i] == '"' {
		keyEnd, ok := stringEnd(obj, i)
		if !ok {
			return false
		}
		colon := skipSpace(obj, keyEnd)
		if colon >= len(obj) || obj[colon] != ':' {
			return false
		}
		start := skipSpace(obj, colon+1)
		end, ok := valueEnd(obj, start)
		if !ok {
			return false
		}
		key, ok := keyText(obj[i:keyEnd])
		if !ok {
			return false
		}
		fn(key, obj[start:end])
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return skipSpace(obj, i+1) == len(obj)
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return false
		}
	}
	return false
}

// keyText returns the text of a key literal, decoding escapes when it has any.
func keyText(lit []byte) ([]byte, bool) {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	s, ok := stringOf(lit)
	return []byte(s), ok
}

// eachElement calls fn with each element of the JSON array arr, in order, until fn returns
// false. It reports whether arr is an array and fn accepted every element. Only the array's
// own structure is checked: fn reads the elements.
func eachElement(arr []byte, fn func(element []byte) bool) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return skipSpace(arr, i+1) == len(arr)
	}
	for i < len(arr) {
		end, ok := valueEnd(arr, i)
		if !ok || !fn(arr[i:end]) {
			return false
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return false
		}
		switch arr[i] {
		case ']':
			return skipSpace(arr, i+1) == len(arr)
		case ',':
			i = skipSpace(arr, i+1)
		default:
			return false
		}
	}
	return false
}

// valueEnd returns the index just past the JSON value at b[i]. It matches brackets and skips
// strings without validating what lies between.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			if !structural[b[j]] {
				continue
			}
			switch b[j] {
			case '"':
				end, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			default: // '}', ']'
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i // a number, true, false or null
	for j < len(b) && !structural[b[j]] && strings.IndexByte(",: \t\r\n", b[j]) < 0 {
		j++
	}
	return j, j > i
}

// structural marks the bytes valueEnd stops at inside objects and arrays.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// stringEnd returns the index just past the string literal starting at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false
		}
		j += k
		backslashes := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1, true
		}
	}
	return 0, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// withoutMembers rebuilds an object from members, leaving out those drop names.
func withoutMembers(members []fhir.Member, drop func(key string) bool) []byte {
	size := 2
	for _, m := range members {
		size += len(m.Key) + len(m.Value) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for _, m := range members {
		if drop(m.Key) {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendKey(out, m.Key)
		out = append(out, ':')
		out = append(out, m.Value...)
	}
	return append(out, '}')
}

// appendKey appends key as a JSON string.
func appendKey(dst []byte, key string) []byte {
	for k := 0; k < len(key); k++ {
		if c := key[k]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			quoted, _ := json.Marshal(key) // a string always encodes
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"')
}

// joinArray writes elements as a JSON array.
func joinArray(elements []json.RawMessage) json.RawMessage {
	out := []byte{'['}
	for k, e := range elements {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']')
}

// arrayElements returns the elements of a JSON array; anything else has none.
func arrayElements(v json.RawMessage) []json.RawMessage {
	var elements []json.RawMessage
	if v == nil || json.Unmarshal(v, &elements) != nil {
		return nil
	}
	return elements
}
