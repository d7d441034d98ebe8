package access

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/portalgate/portalgate/fhir"
)

// Interaction is what a request does with a resource, named by its SMART v2 scope letter.
type Interaction byte

// The interactions, in SMART's "cruds" order.
const (
	Create Interaction = 'c'
	Read   Interaction = 'r'
	Update Interaction = 'u'
	Delete Interaction = 'd'
	Search Interaction = 's'
)

var interactionNames = map[Interaction]string{
	Create: "create", Read: "read", Update: "update", Delete: "delete", Search: "search",
}

// String returns "create", "read", "update", "delete" or "search".
func (i Interaction) String() string {
	if name, ok := interactionNames[i]; ok {
		return name
	}
	return fmt.Sprintf("Interaction(%q)", rune(i))
}

func (i Interaction) valid() bool { _, ok := interactionNames[i]; return ok }

// writes reports whether the interaction changes a record.
func (i Interaction) writes() bool { return i == Create || i == Update || i == Delete }

// Interactions is a set of interactions.
type Interactions uint8

// The members of Interactions, one bit per interaction in "cruds" order.
const (
	createBit Interactions = 1 << iota
	readBit
	updateBit
	deleteBit
	searchBit
)

// Interaction sets used by the purposes.
const (
	AllInteractions = createBit | readBit | updateBit | deleteBit | searchBit
	ReadOnly        = readBit | searchBit
)

const smartLetters = "cruds"

// bit returns the set holding only i, or the empty set for an unknown interaction.
func bit(i Interaction) Interactions {
	if k := strings.IndexByte(smartLetters, byte(i)); k >= 0 {
		return 1 << k
	}
	return 0
}

// Has reports whether the set holds i.
func (s Interactions) Has(i Interaction) bool { b := bit(i); return b != 0 && s&b != 0 }

// String returns the set's SMART v2 letters in "cruds" order ("rs").
func (s Interactions) String() string {
	var b strings.Builder
	for k := range len(smartLetters) {
		if s&(1<<k) != 0 {
			b.WriteByte(smartLetters[k])
		}
	}
	return b.String()
}

// Grant allows some interactions on one resource type, or on every type. With conditions, it
// covers only the resources that meet all of them.
type Grant struct {
	// Type is a FHIR resource type, or "*" for every type.
	Type         string
	Interactions Interactions
	// Where lists conditions that all hold of a covered resource; none covers every resource
	// of the type.
	Where []Condition
}

// covers reports whether the grant is about resources of type typ ("" asks about any type).
func (g Grant) covers(typ string) bool { return typ == "" || g.Type == "*" || g.Type == typ }

// unrestricted reports whether the grant covers every resource of every type.
func (g Grant) unrestricted() bool { return g.Type == "*" && len(g.Where) == 0 }

// Condition holds of a resource when one of its codings in the element the search parameter
// Param names (category, code) matches one of AnyOf.
type Condition struct {
	Param string
	AnyOf []fhir.Token
}

// Value returns the condition as a search parameter value: its tokens joined by commas, with
// commas, bars and backslashes inside a token escaped as FHIR searches require.
func (c Condition) Value() string {
	var b strings.Builder
	for k, t := range c.AnyOf {
		if k > 0 {
			b.WriteByte(',')
		}
		if t.SystemSet {
			writeEscaped(&b, t.System)
			b.WriteByte('|')
		}
		writeEscaped(&b, t.Code)
	}
	return b.String()
}

func writeEscaped(b *strings.Builder, s string) {
	for k := 0; k < len(s); k++ {
		if strings.IndexByte(`,|$\`, s[k]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[k])
	}
}

// intersect returns the grants that both a and b allow: for every pair about compatible
// types, the narrower type, the common interactions and the conditions of both.
func intersect(a, b []Grant) []Grant {
	var out []Grant
	for _, x := range a {
		for _, y := range b {
			if x.Type != "*" && y.Type != "*" && x.Type != y.Type {
				continue
			}
			g := Grant{Type: x.Type, Interactions: x.Interactions & y.Interactions}
			if g.Type == "*" {
				g.Type = y.Type
			}
			if g.Interactions == 0 {
				continue
			}
			g.Where = append(slices.Clip(x.Where), y.Where...)
			out = append(out, g)
		}
	}
	return out
}

// excludedBy reports whether the request's own search parameters ask only for resources the
// grant's conditions leave out: a search for category=vital-signs under a grant limited to
// laboratory results.
func excludedBy(g Grant, params url.Values) bool {
	for _, c := range g.Where {
		for _, v := range params[c.Param] { // several values are ANDed
			if !overlapsAny(v, c.AnyOf) {
				return true
			}
		}
	}
	return false
}

// overlapsAny reports whether a search value (a comma list of tokens) may match a resource
// some of the tokens match. A value that does not parse is left for the search to refuse.
func overlapsAny(value string, tokens []fhir.Token) bool {
	for _, part := range fhir.SplitOR(value) {
		q, err := fhir.ParseToken(part)
		if err != nil {
			return true
		}
		for _, t := range tokens {
			if tokensOverlap(q, t) {
				return true
			}
		}
	}
	return false
}

// tokensOverlap reports whether some coding could match both tokens.
func tokensOverlap(a, b fhir.Token) bool {
	systems := !a.SystemSet || !b.SystemSet || a.System == b.System
	codes := a.Code == "" || b.Code == "" || a.Code == b.Code
	return systems && codes
}

// narrowing returns the search parameters that make an upstream search return only what the
// grants cover, when one search can say it: one grant's conditions, or alternatives that each
// limit the same parameter. Otherwise the grant filter alone does the narrowing.
func narrowing(relevant []Grant) url.Values {
	if slices.ContainsFunc(relevant, func(g Grant) bool { return len(g.Where) == 0 }) {
		return nil
	}
	if len(relevant) == 1 {
		add := url.Values{}
		for _, c := range relevant[0].Where {
			add.Add(c.Param, c.Value())
		}
		return add
	}
	merged := Condition{Param: relevant[0].Where[0].Param}
	for _, g := range relevant {
		if len(g.Where) != 1 || g.Where[0].Param != merged.Param {
			return nil
		}
		for _, t := range g.Where[0].AnyOf {
			if !slices.Contains(merged.AnyOf, t) {
				merged.AnyOf = append(merged.AnyOf, t)
			}
		}
	}
	return url.Values{merged.Param: {merged.Value()}}
}
