package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Raw JSON editing. Resources are passed on as the sender wrote them, so the
// few changes made to them (an id, meta, a rewritten reference, the gateway's
// source tags) are splices into the original bytes rather than a decode and
// re-encode: every byte not meant to change stays as it was.
//
// The editors take valid JSON and look no deeper than they need to: they
// check the structure of what they scan and never panic, but they do not
// validate the members they step over. Callers holding outside input check
// it with json.Valid (or a decode) first.

// Member is one member of a JSON object.
type Member struct {
	Key   string
	Value json.RawMessage
}

// Members returns the top-level members of the JSON object obj, in order and
// duplicates included. Each Value is a sub-slice of obj. obj must be valid
// JSON: only the shape of its top level is checked.
func Members(obj []byte) ([]Member, error) {
	var buf [32]memberSpan
	spans, err := objectSpans(obj, buf[:0])
	if err != nil {
		return nil, err
	}
	members := make([]Member, len(spans))
	for k, s := range spans {
		members[k] = Member{Key: stringValue(obj[s.keyStart:s.keyEnd]), Value: obj[s.valStart:s.valEnd:s.valEnd]}
	}
	return members, nil
}

// SetMembers returns a copy of the JSON object obj with the given members
// set, byte for byte the same elsewhere. A member obj has is replaced where
// it stands; when obj has a key more than once the first is replaced and the
// others removed, since decoders would read the last. Members obj lacks are
// inserted, in the order given, after obj's leading header members
// (resourceType, id and meta of a resource; versionId, lastUpdated and source
// of a meta), or first when it has none: FHIR's usual order survives.
//
// obj must be valid JSON (only the shape of its top level is checked); every
// value set must be valid JSON and every key valid UTF-8, given once.
func SetMembers(obj []byte, set ...Member) ([]byte, error) {
	if err := checkMembers(set); err != nil {
		return nil, err
	}
	var buf [32]memberSpan
	spans, err := objectSpans(obj, buf[:0])
	if err != nil {
		return nil, err
	}
	return spliceMembers(obj, spans, set), nil
}

// EditMeta returns a copy of the resource with its meta replaced by what
// edit makes of it, byte for byte the same elsewhere. edit receives the
// current meta, or {} when there is none (or it is null), and returns the new
// one: a JSON object, whose shape alone is checked, so SetMembers is the
// natural way to make it. A resource without meta gets it among its header
// members, after resourceType and id.
//
// The top-level members in set are set in the same pass, as SetMembers sets
// them: a server stamping id and meta reads the resource once.
func EditMeta(resource []byte, edit func(meta json.RawMessage) (json.RawMessage, error), set ...Member) ([]byte, error) {
	all := append(make([]Member, 0, 8), set...)
	all = append(all, Member{Key: "meta", Value: placeholderMeta}) // edited below
	if err := checkMembers(all); err != nil {
		return nil, err
	}
	var buf [32]memberSpan
	spans, err := objectSpans(resource, buf[:0])
	if err != nil {
		return nil, err
	}
	var meta json.RawMessage
	for _, s := range spans { // the last meta is the one decoders read
		if string(keyText(resource[s.keyStart:s.keyEnd])) == "meta" {
			meta = resource[s.valStart:s.valEnd:s.valEnd]
		}
	}
	switch {
	case meta == nil || string(meta) == "null":
		meta = json.RawMessage(`{}`)
	case meta[0] != '{':
		return nil, fmt.Errorf("fhir: meta is not a JSON object: %.40s", meta)
	}
	edited, err := edit(meta)
	if err != nil {
		return nil, fmt.Errorf("fhir: editing meta: %w", err)
	}
	// Only the shape is checked: the contents are the resource's own meta
	// and what edit set, which SetMembers has validated.
	var metaBuf [16]memberSpan
	if _, err := objectSpans(edited, metaBuf[:0]); err != nil {
		return nil, fmt.Errorf("fhir: edited meta: %w", err)
	}
	all[len(all)-1].Value = edited
	return spliceMembers(resource, spans, all), nil
}

// placeholderMeta stands for the edited meta while the members are checked.
var placeholderMeta = json.RawMessage(`{}`)

// errMalformedJSON is wrapped by every error about the bytes being edited.
var errMalformedJSON = errors.New("fhir: malformed JSON")

func malformedAt(i int) error { return fmt.Errorf("%w at byte %d", errMalformedJSON, i) }

// memberSpan locates one object member: raw[keyStart:keyEnd] is its key
// literal and raw[valStart:valEnd] its value.
type memberSpan struct {
	keyStart, keyEnd, valStart, valEnd int
}

// objectSpans appends the top-level members of the object obj to spans.
// Callers pass a stack buffer, so that typical resources scan without
// allocating.
func objectSpans(obj []byte, spans []memberSpan) ([]memberSpan, error) {
	start := skipSpace(obj, 0)
	if start >= len(obj) || obj[start] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errMalformedJSON)
	}
	end, err := eachMember(obj, start, func(keyStart, keyEnd, valStart int) (int, error) {
		valEnd, err := valueEnd(obj, valStart)
		if err == nil {
			spans = append(spans, memberSpan{keyStart, keyEnd, valStart, valEnd})
		}
		return valEnd, err
	})
	if err != nil {
		return nil, err
	}
	if i := skipSpace(obj, end); i != len(obj) {
		return nil, fmt.Errorf("%w: data after the object at byte %d", errMalformedJSON, i)
	}
	return spans, nil
}

// maxSet bounds the members set at once: spliceMembers tracks them in a
// bit set.
const maxSet = 64

// checkMembers checks members to set: keys valid UTF-8 (JSON could not
// spell them otherwise) and given once, values valid JSON.
func checkMembers(set []Member) error {
	if len(set) > maxSet {
		return fmt.Errorf("fhir: cannot set more than %d members at once", maxSet)
	}
	for j, m := range set {
		if !utf8.ValidString(m.Key) {
			return fmt.Errorf("fhir: member key %q is not valid UTF-8", m.Key)
		}
		if !validValue(m.Value) {
			return fmt.Errorf("fhir: value of member %q is not valid JSON", m.Key)
		}
		for _, earlier := range set[:j] {
			if earlier.Key == m.Key {
				return fmt.Errorf("fhir: member %q given twice", m.Key)
			}
		}
	}
	return nil
}

// spliceMembers is SetMembers on an object already scanned into spans,
// with members already checked.
func spliceMembers(obj []byte, spans []memberSpan, set []Member) []byte {
	var buf [8]splice
	edits := buf[:0]
	var found uint64 // set members obj has
	header := -1     // the last of obj's leading header members
	insertAt := 0    // where the insertion goes among edits
	for k, s := range spans {
		key := keyText(obj[s.keyStart:s.keyEnd])
		if header == k-1 && isHeaderKey(key) {
			header = k
		}
		for j, m := range set {
			if string(key) != m.Key {
				continue
			}
			if found&(1<<j) == 0 {
				found |= 1 << j
				edits = append(edits, splice{s.valStart, s.valEnd, m.Value})
			} else { // a later duplicate: drop it with the comma before it
				edits = append(edits, splice{spans[k-1].valEnd, s.valEnd, nil})
			}
			break
		}
		if header == k {
			insertAt = len(edits)
		}
	}

	var ins []byte
	for j, m := range set {
		if found&(1<<j) != 0 {
			continue
		}
		if len(ins) > 0 || header >= 0 {
			ins = append(ins, ',')
		}
		ins = appendQuoted(ins, m.Key)
		ins = append(ins, ':')
		ins = append(ins, m.Value...)
	}
	if len(ins) > 0 {
		at := skipSpace(obj, 0) + 1 // just inside the brace
		if header >= 0 {
			at = spans[header].valEnd
		} else if len(spans) > 0 {
			ins = append(ins, ',')
		}
		edits = append(edits, splice{})
		copy(edits[insertAt+1:], edits[insertAt:])
		edits[insertAt] = splice{at, at, ins}
	}
	return applySplices(obj, edits)
}

// isHeaderKey reports whether a key names a member FHIR writes first:
// resourceType, id and meta of a resource, or versionId, lastUpdated and
// source of a meta.
func isHeaderKey(key []byte) bool {
	switch string(key) {
	case "resourceType", "id", "meta", "versionId", "lastUpdated", "source":
		return true
	}
	return false
}

// validValue reports whether v is one valid JSON value, quickly for the
// plain strings most edits set.
func validValue(v []byte) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		plain := true
		for _, c := range v[1 : len(v)-1] {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			return true
		}
	}
	return json.Valid(v)
}

// replaceStrings returns raw with the string value of every member named
// key, at any depth, replaced by replace's result when it returns true.
func replaceStrings(raw []byte, key string, replace func(s string) (string, bool)) ([]byte, error) {
	var edits []splice
	var walk func(i int) (int, error)
	walk = func(i int) (int, error) {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return 0, malformedAt(i)
		}
		switch raw[i] {
		case '{':
			return eachMember(raw, i, func(keyStart, keyEnd, valStart int) (int, error) {
				if valStart < len(raw) && raw[valStart] == '"' && string(keyText(raw[keyStart:keyEnd])) == key {
					valEnd, err := stringEnd(raw, valStart)
					if err != nil {
						return 0, err
					}
					if with, ok := replace(stringValue(raw[valStart:valEnd])); ok {
						// Strings hold no members, so edits come in order.
						edits = append(edits, splice{valStart, valEnd, appendQuoted(nil, with)})
					}
					return valEnd, nil
				}
				return walk(valStart)
			})
		case '[':
			return eachElement(raw, i, walk)
		}
		return valueEnd(raw, i)
	}
	end, err := walk(0)
	if err != nil {
		return nil, err
	}
	if i := skipSpace(raw, end); i != len(raw) {
		return nil, fmt.Errorf("%w: data after the value at byte %d", errMalformedJSON, i)
	}
	return applySplices(raw, edits), nil
}

// topLevelStrings returns the string values of the named members of the
// top-level object; a named member that is not a string is an error.
func topLevelStrings(raw []byte, keys ...string) (map[string]string, error) {
	var buf [32]memberSpan
	spans, err := objectSpans(raw, buf[:0])
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for _, s := range spans {
		for _, k := range keys {
			if string(keyText(raw[s.keyStart:s.keyEnd])) != k {
				continue
			}
			if raw[s.valStart] != '"' {
				return nil, fmt.Errorf("fhir: member %q is not a string", k)
			}
			out[k] = stringValue(raw[s.valStart:s.valEnd])
		}
	}
	return out, nil
}

// splice is one replacement of raw[start:end].
type splice struct {
	start, end int
	with       []byte
}

// applySplices returns raw with the (ordered, non-overlapping) splices made,
// in a new slice whenever there is any.
func applySplices(raw []byte, edits []splice) []byte {
	if len(edits) == 0 {
		return raw
	}
	size := len(raw)
	for _, e := range edits {
		size += len(e.with) - (e.end - e.start)
	}
	out := make([]byte, 0, size)
	last := 0
	for _, e := range edits {
		out = append(out, raw[last:e.start]...)
		out = append(out, e.with...)
		last = e.end
	}
	return append(out, raw[last:]...)
}

// eachMember scans the object at raw[i]. For every member it calls member
// with the span of the key literal and the start of the value; member
// returns the end of the value. eachMember returns the index past the object.
func eachMember(raw []byte, i int, member func(keyStart, keyEnd, valStart int) (valEnd int, err error)) (int, error) {
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, nil
	}
	for {
		keyEnd, err := stringEnd(raw, i)
		if err != nil {
			return 0, err
		}
		colon := skipSpace(raw, keyEnd)
		if colon >= len(raw) || raw[colon] != ':' {
			return 0, malformedAt(colon)
		}
		valEnd, err := member(i, keyEnd, skipSpace(raw, colon+1))
		if err != nil {
			return 0, err
		}
		i = skipSpace(raw, valEnd)
		if i >= len(raw) {
			return 0, malformedAt(i)
		}
		switch raw[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipSpace(raw, i+1)
		default:
			return 0, malformedAt(i)
		}
	}
}

// eachElement scans the array at raw[i], calling element with the start of
// each element, which returns its end. It returns the index past the array.
func eachElement(raw []byte, i int, element func(start int) (end int, err error)) (int, error) {
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := element(i)
		if err != nil {
			return 0, err
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return 0, malformedAt(i)
		}
		switch raw[i] {
		case ']':
			return i + 1, nil
		case ',':
			i++
		default:
			return 0, malformedAt(i)
		}
	}
}

// valueEnd returns the index past the value at raw[i]. It looks inside
// objects and arrays only to match brackets and skip strings, which is much
// cheaper than walking their members.
func valueEnd(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, malformedAt(i)
	}
	switch raw[i] {
	case '"':
		return stringEnd(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			if !structural[raw[j]] {
				continue
			}
			switch raw[j] {
			case '"':
				end, err := stringEnd(raw, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, malformedAt(len(raw))
	}
	j := i // a number, true, false or null
	for j < len(raw) && !isDelimiter(raw[j]) {
		j++
	}
	if j == i {
		return 0, malformedAt(i)
	}
	return j, nil
}

// structural marks the bytes valueEnd stops at inside objects and arrays.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ':', ']', '}', '[', '{', '"', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string literal at raw[i].
func stringEnd(raw []byte, i int) (int, error) {
	if i >= len(raw) || raw[i] != '"' {
		return 0, malformedAt(i)
	}
	for j := i + 1; ; j++ {
		k := bytes.IndexByte(raw[j:], '"')
		if k < 0 {
			return 0, malformedAt(len(raw))
		}
		j += k
		backslashes := 0
		for b := j - 1; raw[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 { // an unescaped quote
			return j + 1, nil
		}
	}
}

// stringValue returns the text of the string literal lit.
func stringValue(lit []byte) string {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return string(inner)
	}
	return s
}

// keyText returns the text of the key literal lit, without allocating
// unless lit holds escapes.
func keyText(lit []byte) []byte {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return []byte(stringValue(lit))
}

// appendQuoted appends s as a JSON string literal.
func appendQuoted(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
