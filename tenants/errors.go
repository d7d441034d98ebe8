package tenants

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem found in a configuration file, placed at the
// line and column of the offending value and named by its field path, such
// as "networks[0].orgs[1].endpoints[0].platform".
type FieldError struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Field  string
	Err    error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrors returns every FieldError inside err, which may be one
// FieldError or several joined with errors.Join.
func FieldErrors(err error) []*FieldError {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range joined.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// problems collects every problem of one load, so that a user fixing a file
// sees all of them at once.
type problems struct {
	file   string
	list   []*FieldError
	nodes  map[string]*yaml.Node // field path → the node it was decoded from
	failed map[string]bool       // field paths whose decoding failed
}

func newProblems(file string) *problems {
	return &problems{file: file, nodes: map[string]*yaml.Node{}, failed: map[string]bool{}}
}

// at records a problem at an explicit node.
func (p *problems) at(n *yaml.Node, path string, err error) {
	fe := &FieldError{File: p.file, Field: path, Err: err}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	p.list = append(p.list, fe)
}

// decodeFailed records a problem found while decoding and remembers the path,
// so that validation does not report the same field again as missing.
func (p *problems) decodeFailed(n *yaml.Node, path string, err error) {
	p.failed[path] = true
	p.at(n, path, err)
}

// field records a validation problem for a field path, placed at the field's
// node or, when the field is absent, at its nearest present ancestor.
func (p *problems) field(path string, format string, args ...any) {
	for q := path; ; q = parentPath(q) {
		if p.failed[q] {
			return
		}
		if q == "" {
			break
		}
	}
	var node *yaml.Node
	for q := path; node == nil; q = parentPath(q) {
		node = p.nodes[q]
		if q == "" {
			break
		}
	}
	p.at(node, path, fmt.Errorf(format, args...))
}

// err returns the collected problems in file order, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, 0, len(p.list))
	seen := map[string]bool{}
	for _, fe := range p.list {
		if msg := fe.Error(); !seen[msg] {
			seen[msg] = true
			errs = append(errs, fe)
		}
	}
	return errors.Join(errs...)
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// parentPath drops the last segment: "a.b[2]" → "a.b", "a.b" → "a", "a" → "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
