package smartauth

import (
	"errors"
	"fmt"
	"strings"
)

// Scopes with a fixed meaning in the patient launch.
const (
	scopeLaunchPatient = "launch/patient"
	scopeOffline       = "offline_access"
	scopeOnline        = "online_access"
)

// accessKind is the kind of access a grant gives: a patient's own record
// through a sign-in, or a backend service's system access.
type accessKind int

const (
	patientAccess accessKind = iota + 1
	systemAccess
)

// resourceScope is a SMART clinical scope, v1 (patient/Observation.read) or
// v2 (patient/Observation.rs?category=laboratory).
type resourceScope struct {
	context  string // patient, user or system
	resource string // a FHIR resource type or *
	perms    string // v2 letters in canonical order, a subsequence of "cruds"
	query    string // v2 fine-grained constraint, without the "?"
}

func parseResourceScope(s string) (resourceScope, bool) {
	context, rest, ok := strings.Cut(s, "/")
	if !ok || (context != "patient" && context != "user" && context != "system") {
		return resourceScope{}, false
	}
	rest, query, _ := strings.Cut(rest, "?")
	resource, perm, ok := strings.Cut(rest, ".")
	if !ok || !validResourceName(resource) {
		return resourceScope{}, false
	}
	perms, ok := permissions(perm)
	if !ok {
		return resourceScope{}, false
	}
	return resourceScope{context: context, resource: resource, perms: perms, query: query}, true
}

func validResourceName(s string) bool {
	if s == "*" {
		return true
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// permissions maps a v1 or v2 permission to v2 letters.
func permissions(p string) (string, bool) {
	switch p {
	case "read":
		return "rs", true
	case "write":
		return "cud", true
	case "*":
		return "cruds", true
	case "":
		return "", false
	}
	// v2: each of c, r, u, d, s at most once and in that order.
	rest := "cruds"
	for _, r := range p {
		i := strings.IndexRune(rest, r)
		if i < 0 {
			return "", false
		}
		rest = rest[i+1:]
	}
	return p, true
}

// covers reports whether a grant of a includes everything o asks for.
func (a resourceScope) covers(o resourceScope) bool {
	if a.context != o.context || (a.resource != "*" && a.resource != o.resource) {
		return false
	}
	if a.query != "" && a.query != o.query {
		return false
	}
	for _, p := range o.perms {
		if !strings.ContainsRune(a.perms, p) {
			return false
		}
	}
	return true
}

// scopeCovers reports whether holding scope a includes scope o.
func scopeCovers(a, o string) bool {
	if a == o {
		return true
	}
	ar, ok := parseResourceScope(a)
	if !ok {
		return false
	}
	or, ok := parseResourceScope(o)
	return ok && ar.covers(or)
}

func anyCovers(held []string, o string) bool {
	for _, a := range held {
		if scopeCovers(a, o) {
			return true
		}
	}
	return false
}

// supports reports whether the server grants scope s for this kind of access.
func (k accessKind) supports(s string) bool {
	if k == patientAccess && (s == scopeLaunchPatient || s == scopeOffline || s == scopeOnline) {
		return true
	}
	rs, ok := parseResourceScope(s)
	if !ok {
		return false
	}
	if k == systemAccess {
		return rs.context == "system"
	}
	return rs.context == "patient" || rs.context == "user"
}

// grantScopes returns the requested scopes the server supports for kind and
// the client may have (allowed nil allows all), in the order requested.
// Scopes it does not grant are left out, as RFC 6749 §3.3 lets a server do.
func grantScopes(requested, allowed []string, kind accessKind) []string {
	var granted []string
	for _, s := range requested {
		if kind.supports(s) && (allowed == nil || anyCovers(allowed, s)) {
			granted = append(granted, s)
		}
	}
	return granted
}

func hasScope(scopes []string, s string) bool {
	for _, have := range scopes {
		if have == s {
			return true
		}
	}
	return false
}

// parseScopes splits a scope parameter (RFC 6749 §3.3), dropping repeats.
func parseScopes(param string) ([]string, error) {
	var scopes []string
	for _, s := range strings.Split(param, " ") {
		if s == "" || hasScope(scopes, s) {
			continue
		}
		if !validScopeToken(s) {
			return nil, fmt.Errorf("scope %q has characters a scope may not contain", s)
		}
		scopes = append(scopes, s)
	}
	if len(scopes) == 0 {
		return nil, errors.New("scope is empty")
	}
	return scopes, nil
}

// validScopeToken checks the scope-token syntax of RFC 6749 §3.3.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// describeScope says in plain words what a scope lets the app do, for the
// sign-in page.
func describeScope(s string) string {
	switch s {
	case scopeLaunchPatient:
		return "Know which patient record you chose"
	case scopeOffline:
		return "Keep access after you close the app, until you revoke it"
	case scopeOnline:
		return "Keep access while you stay signed in"
	}
	rs, ok := parseResourceScope(s)
	if !ok {
		return s
	}
	verbs := map[rune]string{'c': "create", 'r': "read", 'u': "update", 'd': "delete", 's': "search"}
	var actions []string
	for _, p := range rs.perms {
		actions = append(actions, verbs[p])
	}
	what := "all your records"
	if rs.resource != "*" {
		what = "your " + rs.resource + " records"
	}
	d := strings.ToUpper(actions[0][:1]) + strings.Join(actions, ", ")[1:] + " " + what
	if rs.query != "" {
		d += " (only " + rs.query + ")"
	}
	return d
}
