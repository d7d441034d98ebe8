package access

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/portalgate/portalgate/fhir"
)

// Scope is a SMART resource scope: the grant it makes in a launch context.
type Scope struct {
	// Context is "patient", "user" or "system".
	Context string
	Grant
}

// Errors of ParseScope.
var (
	// ErrNotResourceScope: the scope is valid OAuth but grants no resource access (openid,
	// fhirUser, launch/patient, offline_access…).
	ErrNotResourceScope = errors.New("access: not a SMART resource scope")
	// ErrInvalidScope: the scope has a resource scope's shape but cannot be honoured.
	ErrInvalidScope = errors.New("access: invalid SMART resource scope")
)

// scopeParams are the search parameters fine-grained scopes may use: the ones whose element
// the gateway can check on every resource it returns.
var scopeParams = []string{"category", "code"}

// maxScopeLen bounds a scope, which comes from outside (an app's authorization request).
const maxScopeLen = 2048

// ParseScope reads a SMART resource scope: v1 ("patient/Observation.read", "user/*.write",
// "patient/*.*") or v2 ("patient/Observation.rs", "patient/*.cruds"), with an optional
// fine-grained query ("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory").
// v1 read grants r and s, write grants c, u and d.
//
// A query may use category and code, each given any number of times (ANDed) with comma lists
// (ORed) of tokens; any other parameter or a modifier is ErrInvalidScope, since honouring a scope
// while ignoring part of its query would grant more than the patient agreed to. Scopes that are
// not about resources (openid, launch/patient…) are ErrNotResourceScope.
func ParseScope(s string) (Scope, error) {
	context, rest, found := strings.Cut(s, "/")
	if !found || context != "patient" && context != "user" && context != "system" {
		return Scope{}, ErrNotResourceScope
	}
	if len(s) > maxScopeLen {
		return Scope{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidScope, maxScopeLen)
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	dot := strings.LastIndexByte(path, '.')
	if dot < 0 {
		return Scope{}, fmt.Errorf("%w: no permissions after a dot", ErrInvalidScope)
	}
	typ, perms := path[:dot], path[dot+1:]
	if typ != "*" && !isResourceType(typ) {
		return Scope{}, fmt.Errorf("%w: no resource type before the dot", ErrInvalidScope)
	}
	set, err := parsePermissions(perms)
	if err != nil {
		return Scope{}, fmt.Errorf("%w: %v", ErrInvalidScope, err)
	}
	sc := Scope{Context: context, Grant: Grant{Type: typ, Interactions: set}}
	if hasQuery {
		if sc.Where, err = parseScopeQuery(query); err != nil {
			return Scope{}, fmt.Errorf("%w: %v", ErrInvalidScope, err)
		}
	}
	return sc, nil
}

// parsePermissions reads v1 read, write or *, or v2 letters: each of c, r, u, d, s at most
// once, in that order.
func parsePermissions(p string) (Interactions, error) {
	switch p {
	case "read":
		return bit(Read) | bit(Search), nil
	case "write":
		return bit(Create) | bit(Update) | bit(Delete), nil
	case "*":
		return AllInteractions, nil
	case "":
		return 0, errors.New("no permissions")
	}
	var set Interactions
	rest := smartLetters
	for k := 0; k < len(p); k++ {
		at := strings.IndexByte(rest, p[k])
		if at < 0 {
			return 0, errors.New(`permissions must be v1 read, write or *, or v2 letters of "cruds" in that order`)
		}
		set |= bit(Interaction(p[k]))
		rest = rest[at+1:]
	}
	return set, nil
}

func parseScopeQuery(query string) ([]Condition, error) {
	values, err := url.ParseQuery(query)
	if err != nil {
		return nil, errors.New("malformed query")
	}
	if len(values) == 0 {
		return nil, errors.New("empty query")
	}
	var where []Condition
	for key, vals := range values {
		if !slices.Contains(scopeParams, key) {
			return nil, fmt.Errorf("query parameter %q is not supported (only %s)", key, strings.Join(scopeParams, " and "))
		}
		for _, v := range vals {
			c := Condition{Param: key}
			for _, part := range fhir.SplitOR(v) {
				t, err := fhir.ParseToken(part)
				if err != nil {
					return nil, fmt.Errorf("query parameter %q holds an empty or malformed token", key)
				}
				c.AnyOf = append(c.AnyOf, t)
			}
			where = append(where, c)
		}
	}
	// url.Values is a map: sort for a stable order.
	slices.SortStableFunc(where, func(a, b Condition) int { return strings.Compare(a.Param, b.Param) })
	return where, nil
}

// ScopeGrants returns the grants of the patient and user resource scopes among scopes.
// Scopes that are not resource scopes, system scopes (a patient's app never holds them) and
// scopes that do not parse grant nothing.
func ScopeGrants(scopes []string) []Grant {
	var grants []Grant
	for _, s := range scopes {
		sc, err := ParseScope(s)
		if err != nil || sc.Context == "system" || sc.Interactions == 0 {
			continue
		}
		grants = append(grants, sc.Grant)
	}
	return grants
}

// isResourceType reports whether s has the shape of a FHIR resource type name.
func isResourceType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' || len(s) > 64 {
		return false
	}
	for k := 0; k < len(s); k++ {
		if c := s[k]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
