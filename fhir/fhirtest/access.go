package fhirtest

import (
	"net/url"
	"strings"
)

// operation is what a request does with a resource, as SMART v2 scopes name it.
type operation byte

const (
	opCreate operation = 'c'
	opRead   operation = 'r'
	opUpdate operation = 'u'
	opSearch operation = 's'
)

// grant is what one request may see and do, derived from its Access.
type grant struct {
	// patient limits the request to one patient's compartment; "" sees all.
	patient string
	// scopes are the resource scopes of the token; when the token carries
	// none the server does not restrict types (the Authorizer said nothing).
	scopes []resourceScope
}

// systemGrant is the grant of requests to a server without an Authorizer.
var systemGrant = &grant{}

// resourceScope is one SMART resource scope such as "patient/Observation.rs"
// or "patient/Observation.rs?category=…|laboratory".
type resourceScope struct {
	typ    string // a resource type or "*"
	ops    string // letters of "cruds"
	filter url.Values
}

func newGrant(a Access) *grant {
	g := &grant{patient: a.Patient}
	for _, s := range a.Scopes {
		if rs, ok := parseResourceScope(s); ok {
			g.scopes = append(g.scopes, rs)
		}
	}
	return g
}

// parseResourceScope reads "context/Type.permissions[?query]" in SMART v1
// (read, write, *) or v2 (c?r?u?d?s?) form. Other scopes (openid,
// launch/patient…) are not resource scopes.
func parseResourceScope(s string) (resourceScope, bool) {
	context, rest, ok := strings.Cut(s, "/")
	if !ok || (context != "patient" && context != "user" && context != "system") {
		return resourceScope{}, false
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || (typ != "*" && !isTypeName(typ)) {
		return resourceScope{}, false
	}
	rs := resourceScope{typ: typ}
	switch perms {
	case "read":
		rs.ops = "rs"
	case "write":
		rs.ops = "cud"
	case "*":
		rs.ops = "cruds"
	default:
		if !isV2Permissions(perms) {
			return resourceScope{}, false
		}
		rs.ops = perms
	}
	if hasQuery {
		filter, err := url.ParseQuery(query)
		if err != nil || len(filter) == 0 {
			return resourceScope{}, false
		}
		rs.filter = filter
	}
	return rs, true
}

// isV2Permissions reports whether p matches c?r?u?d?s? and is not empty.
func isV2Permissions(p string) bool {
	rest := p
	for _, c := range "cruds" {
		rest = strings.TrimPrefix(rest, string(c))
	}
	return p != "" && rest == ""
}

// typeRule is what a grant allows for one type and operation: nothing,
// everything, or the resources matching one of some filters.
type typeRule struct {
	allowed bool
	filters []*searchQuery // nil: no filter
}

// rule returns what the grant allows for op on typ. Scope filters that do
// not parse as searches of typ grant nothing.
func (g *grant) rule(typ string, op operation) typeRule {
	if len(g.scopes) == 0 {
		return typeRule{allowed: true}
	}
	var r typeRule
	for _, sc := range g.scopes {
		if (sc.typ != "*" && sc.typ != typ) || !strings.ContainsRune(sc.ops, rune(op)) {
			continue
		}
		if sc.filter == nil {
			return typeRule{allowed: true}
		}
		q, err := parseFilter(typ, sc.filter)
		if err != nil {
			continue
		}
		r.allowed = true
		r.filters = append(r.filters, q)
	}
	return r
}

// permits reports whether the rule lets the record through.
func (r typeRule) permits(rec *record) bool {
	if !r.allowed {
		return false
	}
	if r.filters == nil {
		return true
	}
	for _, f := range r.filters {
		if f.matches(rec) {
			return true
		}
	}
	return false
}

// sees reports whether the grant's patient limit lets the record through:
// resources outside every compartment (Practitioner, Organization…) are
// visible to all.
func (g *grant) sees(rec *record) bool {
	return g.patient == "" || !hasCompartment(rec.typ) || rec.inCompartment(g.patient)
}

// canRead reports whether the grant may read the record (by id or as an include).
func (g *grant) canRead(rec *record) bool {
	return g.sees(rec) && (g.rule(rec.typ, opRead).permits(rec) || g.rule(rec.typ, opSearch).permits(rec))
}
