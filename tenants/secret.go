package tenants

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"gopkg.in/yaml.v3"
)

// redacted is what secrets print as.
const redacted = "[redacted]"

// Secret is a credential from the configuration. It prints, logs and
// marshals as "[redacted]"; Reveal returns the value for the one place that
// sends it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

func (s Secret) GoString() string             { return strconv.Quote(s.String()) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.String()) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// JWK is a private JSON Web Key given inline, either as a YAML mapping or as
// a string of JSON (so that it can come whole from a ${NAME} variable). Like
// Secret, it never prints its contents.
type JWK struct {
	key *jose.JSONWebKey
}

// IsZero reports whether no key was given.
func (k JWK) IsZero() bool { return k.key == nil }

// Key returns the parsed key, or nil when none was given.
func (k JWK) Key() *jose.JSONWebKey { return k.key }

func (k JWK) String() string {
	if k.key == nil {
		return ""
	}
	return redacted
}

func (k JWK) GoString() string             { return strconv.Quote(k.String()) }
func (k JWK) LogValue() slog.Value         { return slog.StringValue(k.String()) }
func (k JWK) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// ParseJWK parses a JSON Web Key; it must be a valid key, but may be public
// or private (callers that sign check IsPublic).
func ParseJWK(data []byte) (JWK, error) {
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(data); err != nil {
		// go-jose's messages name the problem, never key material.
		return JWK{}, fmt.Errorf("invalid JWK: %w", err)
	}
	if !key.Valid() {
		return JWK{}, fmt.Errorf("invalid JWK: the key is incomplete")
	}
	return JWK{key: &key}, nil
}

func (k *JWK) decodeNode(d *decoder, n *yaml.Node, path string) {
	var raw []byte
	switch {
	case isNull(n):
		*k = JWK{}
		return
	case n.Kind == yaml.ScalarNode:
		s, ok := d.scalar(n, path, "a JWK")
		if !ok {
			return
		}
		raw = []byte(s)
	case n.Kind == yaml.MappingNode:
		v, ok := d.plain(n, path)
		if !ok {
			return
		}
		var err error
		if raw, err = json.Marshal(v); err != nil {
			d.problems.decodeFailed(n, path, fmt.Errorf("invalid JWK: %w", err))
			return
		}
	default:
		d.problems.decodeFailed(n, path, fmt.Errorf("expected a JWK mapping or JSON string, found %s", describe(n)))
		return
	}
	key, err := ParseJWK(raw)
	if err != nil {
		d.problems.decodeFailed(n, path, err)
		return
	}
	*k = key
}

// plain converts a node to the values encoding/json understands, expanding
// ${NAME} references in string values.
func (d *decoder) plain(n *yaml.Node, path string) (any, bool) {
	if !d.spend(n, path) {
		return nil, false
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			v, ok := d.plain(n.Content[i+1], joinPath(path, key.Value))
			if !ok {
				return nil, false
			}
			m[key.Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, ok := d.plain(item, indexPath(path, i))
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			return strings.EqualFold(n.Value, "true"), true
		case "!!int", "!!float":
			if !json.Valid([]byte(n.Value)) {
				d.problems.decodeFailed(n, path, fmt.Errorf("number %q has no JSON form", n.Value))
				return nil, false
			}
			return json.Number(n.Value), true
		}
		return d.scalar(n, path, "a value")
	}
	d.problems.decodeFailed(n, path, fmt.Errorf("unexpected %s", describe(n)))
	return nil, false
}
