package fhir

//go:generate go run gen_registry.go

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownResourceType reports a resourceType the models do not define.
var ErrUnknownResourceType = errors.New("fhir: unknown resource type")

// Decoding into golang-fhir-models structs, tolerantly.
//
// The generated enum types reject any code they do not list ("unknown
// AdministrativeGender code `x`"), and encoding/json then abandons the whole
// document. Upstreams do send such codes (local extensions of a required
// value set, typos, codes from a later FHIR version), and one must not cost
// the caller the resource, nor a whole Bundle. So when the plain decode
// fails, the document is decoded once more as generic JSON and walked
// alongside the target struct type: every value the struct's field cannot
// take (an unknown code, a string where a number belongs, an object where a
// list belongs) is dropped from that generic copy and reported as a warning
// naming its path; the copy is then decoded into the struct. The raw bytes
// are never changed: the struct is a view for reading fields, and the raw
// resource remains what travels on.

// Decode decodes a raw resource into a pointer to the golang-fhir-models
// struct of its resourceType (*models.Patient for a Patient), with a warning
// for each value that had to be left out of the decoded view.
func Decode(raw []byte) (any, []string, error) {
	h, err := ReadHeader(raw)
	if err != nil {
		return nil, nil, err
	}
	newResource, ok := resourceTypes[h.ResourceType]
	if !ok {
		return nil, nil, fmt.Errorf("%w %q", ErrUnknownResourceType, h.ResourceType)
	}
	target := newResource()
	warnings, err := decodeTolerant(raw, target, h.ResourceType)
	if err != nil {
		return nil, warnings, err
	}
	return target, warnings, nil
}

// DecodeAs decodes raw into T, typically a golang-fhir-models resource or
// data type (T may also be a pointer to one), with the same tolerance as
// Decode. When T is a resource type, the raw resourceType must name it.
func DecodeAs[T any](raw []byte) (T, []string, error) {
	var out T
	name := reflect.TypeFor[T]()
	for name.Kind() == reflect.Pointer {
		name = name.Elem()
	}
	if _, isResource := resourceTypes[name.Name()]; isResource && name.PkgPath() == modelsPkg {
		h, err := ReadHeader(raw)
		if err != nil {
			return out, nil, err
		}
		if h.ResourceType != name.Name() {
			return out, nil, fmt.Errorf("fhir: decoding a %s as a %s", h.ResourceType, name.Name())
		}
	}
	warnings, err := decodeTolerant(raw, &out, name.Name())
	if err != nil {
		var zero T
		return zero, warnings, err
	}
	return out, warnings, nil
}

var modelsPkg = reflect.TypeOf(resourceTypes["Patient"]()).Elem().PkgPath()

// decodeTolerant decodes raw into target (a pointer), dropping what the
// target's types reject.
func decodeTolerant(raw []byte, target any, root string) ([]string, error) {
	firstErr := json.Unmarshal(raw, target)
	if firstErr == nil {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("fhir: decoding %s: %w", root, firstErr)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keeps decimals exactly as written
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("fhir: decoding %s: %w", root, err)
	}
	t := reflect.TypeOf(target).Elem()
	var warnings []string
	tree, fits := prune(tree, t, root, &warnings)
	slices.Sort(warnings) // map order is random; callers and tests want a stable list
	if !fits {
		return warnings, fmt.Errorf("fhir: decoding %s: %w", root, firstErr)
	}
	cleaned, err := json.Marshal(tree)
	if err != nil {
		return warnings, fmt.Errorf("fhir: decoding %s: %w", root, err)
	}
	// Start from a zero value: the failed attempt may have filled fields.
	reflect.ValueOf(target).Elem().SetZero()
	if err := json.Unmarshal(cleaned, target); err != nil {
		return warnings, fmt.Errorf("fhir: decoding %s: %w", root, err)
	}
	return warnings, nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// prune returns v without the values that type t cannot take, appending a
// warning per removal, and reports whether what remains fits t. Objects and
// arrays of the right kind always fit once pruned, so only a leaf (or a
// container of the wrong kind) is refused as a whole.
func prune(v any, t reflect.Type, path string, warnings *[]string) (any, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	custom := reflect.PointerTo(t).Implements(unmarshalerType)
	switch v := v.(type) {
	case map[string]any:
		var elem func(key string) (reflect.Type, bool)
		switch {
		case custom:
		case t.Kind() == reflect.Struct:
			fields := jsonFields(t)
			elem = func(key string) (reflect.Type, bool) {
				f, ok := fields.lookup(key)
				return f.Type, ok
			}
		case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
			elem = func(string) (reflect.Type, bool) { return t.Elem(), true }
		}
		if elem != nil {
			for key, child := range v {
				ft, ok := elem(key)
				if !ok {
					continue // encoding/json ignores unknown members
				}
				if kept, ok := prune(child, ft, path+"."+key, warnings); ok {
					v[key] = kept
				} else {
					delete(v, key)
				}
			}
			return v, true
		}
	case []any:
		if !custom && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() != reflect.Uint8 {
			kept := make([]any, 0, len(v))
			for i, child := range v {
				if c, ok := prune(child, t.Elem(), fmt.Sprintf("%s[%d]", path, i), warnings); ok {
					kept = append(kept, c)
				}
			}
			return kept, true
		}
	}
	return v, fitsLeaf(v, t, path, warnings)
}

// fitsLeaf test-decodes v into a fresh t, so the verdict is encoding/json's own.
func fitsLeaf(v any, t reflect.Type, path string, warnings *[]string) bool {
	data, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(data, reflect.New(t).Interface())
	}
	if err == nil {
		return true
	}
	*warnings = append(*warnings, fmt.Sprintf("%s: value left out of the decoded view: %s", path, shorten(err.Error())))
	return false
}

func shorten(s string) string {
	const limit = 120
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

// fieldSet maps JSON member names to struct fields the way encoding/json
// matches them: exactly, or else case-insensitively.
type fieldSet map[string]reflect.StructField

func (fs fieldSet) lookup(key string) (reflect.StructField, bool) {
	if f, ok := fs[key]; ok {
		return f, true
	}
	for name, f := range fs {
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

var fieldCache sync.Map // reflect.Type → fieldSet

func jsonFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fs[name] = f
	}
	fieldCache.Store(t, fs)
	return fs
}
