package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// The functions here edit raw JSON in place of a decode and re-encode, so
// that every byte they do not mean to change stays as the sender wrote it.
// They expect valid JSON (callers check with json.Valid) and never panic on
// anything else: a malformed document yields errMalformedJSON.

var errMalformedJSON = errors.New("malformed JSON")

// splice is one replacement of raw[start:end].
type splice struct {
	start, end int
	with       []byte
}

// applySplices returns raw with the (ordered, non-overlapping) splices made.
func applySplices(raw []byte, edits []splice) []byte {
	if len(edits) == 0 {
		return raw
	}
	grow := 0
	for _, e := range edits {
		grow += len(e.with) - (e.end - e.start)
	}
	out := make([]byte, 0, len(raw)+max(grow, 0))
	last := 0
	for _, e := range edits {
		out = append(out, raw[last:e.start]...)
		out = append(out, e.with...)
		last = e.end
	}
	return append(out, raw[last:]...)
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

// stringEnd returns the index just past the string literal starting at raw[i].
func stringEnd(raw []byte, i int) (int, error) {
	if i >= len(raw) || raw[i] != '"' {
		return 0, errMalformedJSON
	}
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errMalformedJSON
}

// stringValue returns the text of the string literal raw[start:end].
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

// member is one object member met by walk: its key, the nesting depth of its
// object (0 for the top level) and the span raw[Start:End] of its value.
type member struct {
	Depth      int
	Key        string
	Start, End int
}

// visitor is called for every object member; it returns the replacement of
// the member's value, or nil to keep it.
type visitor func(m member) ([]byte, error)

// walk visits every member of every object in the value at raw[i] and
// returns the index past that value.
func walk(raw []byte, i, depth int, visit visitor, edits *[]splice) (int, error) {
	i = skipSpace(raw, i)
	if i >= len(raw) {
		return 0, errMalformedJSON
	}
	switch raw[i] {
	case '"':
		return stringEnd(raw, i)
	case '{':
		i = skipSpace(raw, i+1)
		if i < len(raw) && raw[i] == '}' {
			return i + 1, nil
		}
		for {
			keyEnd, err := stringEnd(raw, skipSpace(raw, i))
			if err != nil {
				return 0, err
			}
			key := stringValue(raw[skipSpace(raw, i):keyEnd])
			i = skipSpace(raw, keyEnd)
			if i >= len(raw) || raw[i] != ':' {
				return 0, errMalformedJSON
			}
			valStart := skipSpace(raw, i+1)
			valEnd, err := walk(raw, valStart, depth+1, visit, edits)
			if err != nil {
				return 0, err
			}
			with, err := visit(member{Depth: depth, Key: key, Start: valStart, End: valEnd})
			if err != nil {
				return 0, err
			}
			if with != nil {
				*edits = append(*edits, splice{valStart, valEnd, with})
			}
			i = skipSpace(raw, valEnd)
			if i >= len(raw) {
				return 0, errMalformedJSON
			}
			if raw[i] == '}' {
				return i + 1, nil
			}
			if raw[i] != ',' {
				return 0, errMalformedJSON
			}
			i++
		}
	case '[':
		i = skipSpace(raw, i+1)
		if i < len(raw) && raw[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := walk(raw, i, depth+1, visit, edits)
			if err != nil {
				return 0, err
			}
			i = skipSpace(raw, end)
			if i >= len(raw) {
				return 0, errMalformedJSON
			}
			if raw[i] == ']' {
				return i + 1, nil
			}
			if raw[i] != ',' {
				return 0, errMalformedJSON
			}
			i++
		}
	default: // number, true, false, null
		j := i
		for j < len(raw) && !slices.Contains([]byte(",]} \t\n\r"), raw[j]) {
			j++
		}
		if j == i {
			return 0, errMalformedJSON
		}
		return j, nil
	}
}

// editJSON walks the document and applies the visitor's replacements.
func editJSON(raw []byte, visit visitor) ([]byte, error) {
	var edits []splice
	end, err := walk(raw, 0, 0, visit, &edits)
	if err != nil {
		return nil, err
	}
	if skipSpace(raw, end) != len(raw) {
		return nil, errMalformedJSON
	}
	// Members are visited after their own contents, so order by position.
	slices.SortFunc(edits, func(a, b splice) int { return a.start - b.start })
	return applySplices(raw, edits), nil
}

// setTopLevelString sets the string member key of the top-level object to
// value: it replaces the member's value when present, or otherwise inserts
// the member right after "resourceType" (or first when there is none).
func setTopLevelString(raw []byte, key, value string) ([]byte, error) {
	quoted, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	start := skipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return nil, errMalformedJSON
	}
	found := false
	insertAt := -1
	out, err := editJSON(raw, func(m member) ([]byte, error) {
		if m.Depth != 0 {
			return nil, nil
		}
		switch m.Key {
		case key:
			found = true
			return quoted, nil
		case "resourceType":
			insertAt = m.End
		}
		return nil, nil
	})
	if err != nil || found {
		return out, err
	}
	kv := append([]byte(`"`+key+`":`), quoted...)
	if insertAt >= 0 {
		return applySplices(raw, []splice{{insertAt, insertAt, append([]byte(","), kv...)}}), nil
	}
	afterBrace := start + 1
	if raw[skipSpace(raw, afterBrace)] != '}' {
		kv = append(kv, ',')
	}
	return applySplices(raw, []splice{{afterBrace, afterBrace, kv}}), nil
}

// valueEnd returns the index past the JSON value starting at raw[i] without
// looking inside it beyond matching brackets and strings: much cheaper than
// walk when only the top level matters.
func valueEnd(raw []byte, i int) (int, error) {
	i = skipSpace(raw, i)
	if i >= len(raw) {
		return 0, errMalformedJSON
	}
	switch raw[i] {
	case '"':
		return stringEnd(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, err := stringEnd(raw, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errMalformedJSON
	}
	return walk(raw, i, 0, nil, nil) // a scalar
}

// topLevelStrings returns the string values of the named members of the
// top-level object; a named member that is not a string is an error.
func topLevelStrings(raw []byte, keys ...string) (map[string]string, error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, errMalformedJSON
	}
	out := make(map[string]string, len(keys))
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return out, nil
	}
	for {
		keyEnd, err := stringEnd(raw, i)
		if err != nil {
			return nil, err
		}
		key := stringValue(raw[i:keyEnd])
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return nil, errMalformedJSON
		}
		start := skipSpace(raw, i+1)
		end, err := valueEnd(raw, start)
		if err != nil {
			return nil, err
		}
		if slices.Contains(keys, key) {
			if raw[start] != '"' {
				return nil, fmt.Errorf("member %q is not a string", key)
			}
			out[key] = stringValue(raw[start:end])
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, errMalformedJSON
		}
		if raw[i] == '}' {
			return out, nil
		}
		if raw[i] != ',' {
			return nil, errMalformedJSON
		}
		i = skipSpace(raw, i+1)
	}
}
