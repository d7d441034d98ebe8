package tenants

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodeVisits bounds the work of one decode, so that YAML aliases that
// fan out ("billion laughs") end in an error instead of exhausting memory.
const maxNodeVisits = 200_000

// decoder turns a yaml.Node tree into Go values field by field, unlike
// yaml.v3's own decoding, so that every problem is reported with its line,
// column and field path, unknown keys are errors, ${NAME} references are
// expanded in scalar values, and fields absent from the YAML keep the value
// they had (which is how a policy overrides its preset).
type decoder struct {
	problems *problems
	lookup   func(string) (string, bool)
	visits   int
}

// nodeDecoder is implemented by types that decode themselves from a node.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var (
	nodeDecoderType     = reflect.TypeFor[nodeDecoder]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// spend counts a node visit; past the budget it reports once and says stop.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	d.visits++
	if d.visits == maxNodeVisits+1 {
		d.problems.decodeFailed(n, path, errors.New("document too large or too deeply aliased"))
	}
	return d.visits <= maxNodeVisits
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.problems.decodeFailed(n, path, errors.New("unresolved alias"))
			return
		}
		n = n.Alias
	}
	// The last node decoded at a path is the one in effect (a key written
	// beside a merge key overrides the merged one).
	d.problems.nodes[path] = n

	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		d.decodeText(n, v, path)
		return
	}

	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		d.decodeBool(n, v, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.decodeInt(n, v, path)
	default:
		d.problems.decodeFailed(n, path, fmt.Errorf("cannot decode into %s", v.Type()))
	}
}

// scalar returns the expanded text of a scalar node; null counts as "".
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.problems.decodeFailed(n, path, fmt.Errorf("expected %s, found %s", want, describe(n)))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	s, err := expand(n.Value, d.lookup)
	if err != nil {
		d.problems.decodeFailed(n, path, err)
		return "", false
	}
	return s, true
}

// typedScalar returns a scalar's text when it has the YAML tag wanted or was
// written as an unquoted ${NAME} reference, whose type the YAML parser could
// not know.
func (d *decoder) typedScalar(n *yaml.Node, path, tag, want string) (string, bool) {
	quoted := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
	fromVariable := !quoted && strings.Contains(n.Value, "${")
	if n.Kind == yaml.ScalarNode && n.ShortTag() != tag && !fromVariable {
		d.problems.decodeFailed(n, path, fmt.Errorf("expected %s, found %s", want, describe(n)))
		return "", false
	}
	return d.scalar(n, path, want)
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.typedScalar(n, path, "!!bool", "true or false")
	if !ok {
		return
	}
	switch strings.ToLower(s) {
	case "true":
		v.SetBool(true)
	case "false":
		v.SetBool(false)
	default:
		d.problems.decodeFailed(n, path, fmt.Errorf("expected true or false, found %q", s))
	}
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.typedScalar(n, path, "!!int", "an integer")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(s, 0, v.Type().Bits())
	if err != nil {
		d.problems.decodeFailed(n, path, fmt.Errorf("expected an integer that fits in %d bits, found %q", v.Type().Bits(), s))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	s, ok := d.scalar(n, path, "a value")
	if !ok {
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.problems.decodeFailed(n, path, err)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.problems.decodeFailed(n, path, fmt.Errorf("expected a list, found %s", describe(n)))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, out.Index(i), indexPath(path, i))
	}
	v.Set(out)
}

// decodeStruct decodes a mapping into the struct's yaml-tagged fields. Keys
// it does not know are errors, except top-level keys starting with "x-",
// which hold anchors for reuse; merge keys ("<<") apply before the keys
// written beside them.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problems.decodeFailed(n, path, fmt.Errorf("expected a mapping, found %s", describe(n)))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind == yaml.ScalarNode && key.Value == "<<" && key.ShortTag() == "!!merge" {
			d.decodeMerge(val, v, path)
			continue
		}
		if key.Kind != yaml.ScalarNode {
			d.problems.decodeFailed(key, path, fmt.Errorf("keys must be plain strings, found %s", describe(key)))
			continue
		}
		if path == "" && strings.HasPrefix(key.Value, "x-") {
			continue // top-level extension keys hold YAML anchors for reuse
		}
		fieldPath := joinPath(path, key.Value)
		if seen[key.Value] {
			d.problems.decodeFailed(key, fieldPath, fmt.Errorf("duplicate key %q", key.Value))
			continue
		}
		seen[key.Value] = true
		index, ok := fields[key.Value]
		if !ok {
			d.problems.decodeFailed(key, fieldPath, unknownKeyError(key.Value, fields))
			continue
		}
		d.decode(val, v.FieldByIndex(index), fieldPath)
	}
}

func (d *decoder) decodeMerge(val *yaml.Node, v reflect.Value, path string) {
	if !d.spend(val, path) {
		return
	}
	if val.Kind == yaml.AliasNode && val.Alias != nil {
		val = val.Alias
	}
	switch val.Kind {
	case yaml.MappingNode:
		d.decodeStruct(val, v, path)
	case yaml.SequenceNode:
		// Earlier mappings win in YAML merges, so apply them last.
		for _, m := range slices.Backward(val.Content) {
			d.decodeMerge(m, v, path)
		}
	default:
		d.problems.decodeFailed(val, path, fmt.Errorf("merge key (<<) needs a mapping or a list of mappings, found %s", describe(val)))
	}
}

// yamlFields maps yaml key names to field indexes, following embedded structs.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Index
	}
	return out
}

func unknownKeyError(key string, fields map[string][]int) error {
	known := make([]string, 0, len(fields))
	for name := range fields {
		known = append(known, name)
	}
	slices.Sort(known)
	best, bestDist := "", 3
	for _, name := range known {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key %q (did you mean %q?)", key, best)
	}
	return fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance, used only to suggest a key name.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!timestamp":
			return "a date"
		default:
			return "a string"
		}
	}
	return "nothing"
}
