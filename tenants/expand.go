package tenants

import (
	"fmt"
	"strings"
)

// expand replaces ${NAME} and ${NAME:-default} in s with values from lookup;
// "$$" stands for a literal "$", and a "$" followed by anything else is kept
// as it is, so passwords and regular expressions need no escaping. It fails
// on an unterminated reference, a malformed name or an undefined variable
// without a default.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ at offset %d", i)
		}
		ref := s[i+2 : i+2+end]
		name, def, hasDefault := strings.Cut(ref, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}", name, ref)
		}
		val, ok := lookup(name)
		switch {
		case ok && (val != "" || !hasDefault):
			b.WriteString(val)
		case hasDefault:
			b.WriteString(def)
		default:
			return "", fmt.Errorf("variable %s is not set", name)
		}
		i += 2 + end
	}
	return b.String(), nil
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
