package fhirtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
)

// The server stamps id and meta into stored resources with a small edit of
// the top-level members, so that members keep their order and everything
// else stays as it was sent. The scanner here splits objects that are
// already known to be valid JSON (buildRecord decodes first); on anything
// else it returns an error rather than panicking.

// jsonMember is one member of a JSON object: its name and the raw value.
type jsonMember struct {
	key   string
	value []byte
}

var errNotObject = errors.New("not a JSON object")

// objectMembers splits a JSON object into its members, in order.
func objectMembers(obj []byte) ([]jsonMember, error) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, errNotObject
	}
	members := make([]jsonMember, 0, 16)
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return members, nil
	}
	for {
		keyEnd, err := stringEnd(obj, i)
		if err != nil {
			return nil, err
		}
		key, err := stringText(obj[i:keyEnd])
		if err != nil {
			return nil, err
		}
		i = skipSpace(obj, keyEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, errNotObject
		}
		i = skipSpace(obj, i+1)
		end, err := valueEnd(obj, i)
		if err != nil {
			return nil, err
		}
		members = append(members, jsonMember{key, obj[i:end]})
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return nil, errNotObject
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return members, nil
		default:
			return nil, errNotObject
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string literal at b[i].
func stringEnd(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errNotObject
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// stringText decodes a string literal, cheaply when it has no escapes.
func stringText(lit []byte) (string, error) {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", errNotObject
	}
	return s, nil
}

// valueEnd returns the index just past the value at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := stringEnd(b, j)
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
		return 0, errNotObject
	}
	j := i // a number, true, false or null
	for j < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[j]) < 0 {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}

// memberEdit sets a member; when the object lacks it, it goes right after
// the member named after (or first).
type memberEdit struct {
	key, after string
	value      []byte
}

// setMember applies an edit. Later duplicates of the member are dropped,
// since JSON decoders read the last one.
func setMember(members []jsonMember, e memberEdit) []jsonMember {
	if i := slices.IndexFunc(members, func(m jsonMember) bool { return m.key == e.key }); i >= 0 {
		members[i].value = e.value
		rest := slices.DeleteFunc(members[i+1:], func(m jsonMember) bool { return m.key == e.key })
		return members[:i+1+len(rest)]
	}
	at := 0
	for i, m := range members {
		if m.key == e.after {
			at = i + 1
		}
	}
	members = append(members, jsonMember{})
	copy(members[at+1:], members[at:])
	members[at] = jsonMember{e.key, e.value}
	return members
}

// appendMembers writes members as a compact object.
func appendMembers(out []byte, members []jsonMember) []byte {
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, quoteJSON(m.key)...)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}')
}

// setIDAndMeta sets a resource's id, meta.versionId and meta.lastUpdated,
// keeping the rest of meta (profile, tag, source).
func setIDAndMeta(raw []byte, id, versionID, lastUpdated string) ([]byte, error) {
	members, err := objectMembers(raw)
	if err != nil {
		return nil, err
	}
	var metaMembers []jsonMember
	for _, m := range members {
		if m.key == "meta" {
			if metaMembers, err = objectMembers(m.value); err != nil {
				return nil, err
			}
		}
	}
	metaMembers = setMember(metaMembers, memberEdit{key: "versionId", value: quoteJSON(versionID)})
	metaMembers = setMember(metaMembers, memberEdit{key: "lastUpdated", after: "versionId", value: quoteJSON(lastUpdated)})
	meta := appendMembers(make([]byte, 0, 128), metaMembers)

	members = setMember(members, memberEdit{key: "id", after: "resourceType", value: quoteJSON(id)})
	members = setMember(members, memberEdit{key: "meta", after: "id", value: meta})
	return appendMembers(make([]byte, 0, len(raw)+len(meta)+len(id)+32), members), nil
}

// quoteJSON returns s as a JSON string literal.
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
