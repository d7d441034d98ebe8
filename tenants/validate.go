package tenants

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// validate fills in defaults, resolves platforms and time zones, and
// reports every problem it finds.
func (c *Config) validate(platforms map[string]fhir.Platform, now time.Time, report reporter) {
	if c.Version != 0 && c.Version != 1 {
		report("version", "unsupported version %d (known: 1)", c.Version)
	}
	c.Version = 1
	if len(c.Networks) == 0 {
		report("networks", "at least one network is required")
	}
	seen := map[string]bool{}
	for i, n := range c.Networks {
		path := indexPath("networks", i)
		if n == nil {
			report(path, "a network is required, found null")
			continue
		}
		if n.ID != "" && seen[n.ID] {
			report(joinPath(path, "id"), "duplicate network id %q", n.ID)
		}
		seen[n.ID] = true
		n.validate(path, platforms, report)
	}
	if c.Sandbox != nil {
		c.Sandbox.validate(c, now, report)
	}
}

func (n *Network) validate(path string, platforms map[string]fhir.Platform, report reporter) {
	checkID(n.ID, joinPath(path, "id"), report)
	if strings.TrimSpace(n.Name) == "" {
		report(joinPath(path, "name"), "a name is required")
	}
	if n.TimeZone != "" {
		loc, err := time.LoadLocation(n.TimeZone)
		if err != nil {
			report(joinPath(path, "timeZone"), "unknown time zone %q", n.TimeZone)
		}
		n.location = loc
	}
	switch n.AccountModel {
	case AccountModelNetwork, AccountModelConsent:
	case "":
		report(joinPath(path, "accountModel"), "an account model is required (known: consent, network)")
	default:
		report(joinPath(path, "accountModel"), "unknown account model %q (known: consent, network)", n.AccountModel)
	}
	n.Identity.validate(joinPath(path, "identity"), report)

	if n.Policy.Preset == "" {
		// No policy key at all: the seed defaults apply.
		n.Policy, _ = Preset(PresetSeed)
	}
	n.Policy.validate(joinPath(path, "policy"), report)

	orgsPath := joinPath(path, "orgs")
	if len(n.Orgs) == 0 {
		report(orgsPath, "at least one org is required")
	}
	seen := map[string]bool{}
	affiliated := false
	for i, o := range n.Orgs {
		op := indexPath(orgsPath, i)
		if o == nil {
			report(op, "an org is required, found null")
			continue
		}
		if o.ID != "" && seen[o.ID] {
			report(joinPath(op, "id"), "duplicate org id %q", o.ID)
		}
		seen[o.ID] = true
		affiliated = affiliated || o.Membership == MembershipAffiliated
		o.validate(op, platforms, report)
	}
	if len(n.Orgs) > 0 && !affiliated {
		report(orgsPath, "at least one org must be affiliated")
	}
}

func (idp *IdentityProvider) validate(path string, report reporter) {
	if idp.Issuer == "" {
		report(joinPath(path, "issuer"), "an issuer URL is required")
	} else if _, err := checkURL(idp.Issuer); err != nil {
		report(joinPath(path, "issuer"), "%v", err)
	}
	if idp.ClientID == "" {
		report(joinPath(path, "clientID"), "a client id is required")
	}
	if idp.Scopes == nil {
		idp.Scopes = slices.Clone(defaultIdentityScopes)
	} else if !slices.Contains(idp.Scopes, "openid") {
		report(joinPath(path, "scopes"), "the openid scope is required")
	}
	if idp.RedirectURL == "" {
		report(joinPath(path, "redirectURL"), "a redirect URL is required")
	} else if _, err := checkURL(idp.RedirectURL); err != nil {
		report(joinPath(path, "redirectURL"), "%v", err)
	}
	for _, list := range []struct {
		name   string
		values []string
	}{{"requireAMR", idp.RequireAMR}, {"requireACR", idp.RequireACR}} {
		for i, v := range list.values {
			if strings.TrimSpace(v) == "" {
				report(indexPath(joinPath(path, list.name), i), "must not be empty")
			}
		}
	}
}

// CheckAuthContext reports whether an ID token's amr and acr satisfy the
// network's two-step verification rule.
func (idp *IdentityProvider) CheckAuthContext(amr []string, acr string) error {
	if len(idp.RequireAMR) > 0 && !slices.ContainsFunc(amr, func(m string) bool { return slices.Contains(idp.RequireAMR, m) }) {
		return fmt.Errorf("sign-in used %v; one of %v is required", amr, idp.RequireAMR)
	}
	if len(idp.RequireACR) > 0 && !slices.Contains(idp.RequireACR, acr) {
		return fmt.Errorf("sign-in level %q; one of %v is required", acr, idp.RequireACR)
	}
	return nil
}

func (o *Org) validate(path string, platforms map[string]fhir.Platform, report reporter) {
	checkID(o.ID, joinPath(path, "id"), report)
	if strings.TrimSpace(o.Name) == "" {
		report(joinPath(path, "name"), "a name is required")
	}
	switch o.Membership {
	case MembershipAffiliated, MembershipExternal:
	case "":
		report(joinPath(path, "membership"), "a membership is required (known: affiliated, external)")
	default:
		report(joinPath(path, "membership"), "unknown membership %q (known: affiliated, external)", o.Membership)
	}
	endpointsPath := joinPath(path, "endpoints")
	if len(o.Endpoints) == 0 {
		report(endpointsPath, "at least one endpoint is required")
	}
	seen := map[string]bool{}
	for i, e := range o.Endpoints {
		ep := indexPath(endpointsPath, i)
		if e == nil {
			report(ep, "an endpoint is required, found null")
			continue
		}
		if e.ID == "" {
			e.ID = e.Platform
		}
		if e.ID != "" {
			if seen[e.ID] {
				report(joinPath(ep, "id"), "duplicate endpoint id %q; name each endpoint with id", e.ID)
			}
			seen[e.ID] = true
			checkID(e.ID, joinPath(ep, "id"), report)
		}
		e.validate(ep, o.Membership, platforms, report)
	}
}

func (e *Endpoint) validate(path string, membership Membership, platforms map[string]fhir.Platform, report reporter) {
	known := make([]string, 0, len(platforms))
	for name := range platforms {
		known = append(known, name)
	}
	slices.Sort(known)
	quirks, ok := platforms[e.Platform]
	switch {
	case e.Platform == "":
		report(joinPath(path, "platform"), "a platform is required (known: %s)", strings.Join(known, ", "))
	case !ok:
		report(joinPath(path, "platform"), "unknown platform %q (known: %s)", e.Platform, strings.Join(known, ", "))
	}
	e.quirks = quirks

	if e.FHIRBaseURL == "" {
		report(joinPath(path, "fhirBaseURL"), "a FHIR base URL is required")
	} else if u, err := checkURL(e.FHIRBaseURL); err != nil {
		report(joinPath(path, "fhirBaseURL"), "%v", err)
	} else {
		e.FHIRBaseURL = strings.TrimRight(u.String(), "/")
	}
	e.Auth.validate(joinPath(path, "auth"), membership, quirks, report)
}

func (a *EndpointAuth) validate(path string, membership Membership, quirks fhir.Platform, report reporter) {
	field := func(name string) string { return joinPath(path, name) }
	if a.TokenURL != "" {
		if _, err := checkURL(a.TokenURL); err != nil {
			report(field("tokenURL"), "%v", err)
		}
	}
	hasKey := a.PrivateKeyFile != "" || !a.JWK.IsZero()
	if a.PrivateKeyFile != "" && !a.JWK.IsZero() {
		report(field("jwk"), "give privateKeyFile or jwk, not both")
	}

	switch a.Kind {
	case AuthBackendServices:
		if membership == MembershipExternal {
			report(field("kind"), "an external org is reached by standalone patient launch, not backend services")
		}
		requireClient(a, path, report)
		for i, s := range a.Scopes {
			if !strings.HasPrefix(s, "system/") {
				report(indexPath(field("scopes"), i), "backend services use system/ scopes, found %q", s)
			}
		}
		switch quirks.Auth.BackendClientAuth {
		case "client_secret_basic":
			if a.ClientSecret == "" {
				report(field("clientSecret"), "platform %s authenticates backend clients with a client secret", quirks.Name)
			}
			if hasKey {
				report(field("jwk"), "platform %s takes a client secret, not a private key", quirks.Name)
			}
		case "private_key_jwt":
			if !hasKey {
				// Reported on jwk so that an unreadable jwk is not reported twice.
				report(field("jwk"), "platform %s needs privateKeyFile or jwk to sign client assertions", quirks.Name)
			}
			if a.ClientSecret != "" {
				report(field("clientSecret"), "platform %s takes a private key, not a client secret", quirks.Name)
			}
		default:
			if !hasKey && a.ClientSecret == "" {
				report(field("jwk"), "a client secret, privateKeyFile or jwk is required")
			}
		}
		if !a.JWK.IsZero() {
			checkSigningKey(a.JWK, quirks.Auth.BackendAssertionAlg, field("jwk"), report)
		}
	case AuthStandalone:
		requireClient(a, path, report)
		if len(a.Scopes) > 0 && !slices.Contains(a.Scopes, "launch/patient") {
			report(field("scopes"), "a standalone patient launch needs the launch/patient scope")
		}
		if a.RedirectURL == "" {
			report(field("redirectURL"), "a redirect URL is required for standalone launch")
		} else if _, err := checkURL(a.RedirectURL); err != nil {
			report(field("redirectURL"), "%v", err)
		}
		if hasKey && a.ClientSecret != "" {
			report(field("clientSecret"), "give a client secret or a private key, not both")
		}
		if !a.JWK.IsZero() {
			checkSigningKey(a.JWK, quirks.Auth.BackendAssertionAlg, field("jwk"), report)
		}
	case AuthNone:
		if a.ClientID != "" || a.ClientSecret != "" || hasKey || len(a.Scopes) > 0 || a.TokenURL != "" || a.RedirectURL != "" {
			report(path, "auth kind none takes no client, scopes, keys or URLs")
		}
	case "":
		report(field("kind"), "an auth kind is required (known: backend-services, none, standalone)")
	default:
		report(field("kind"), "unknown auth kind %q (known: backend-services, none, standalone)", a.Kind)
	}
}

func requireClient(a *EndpointAuth, path string, report reporter) {
	if a.ClientID == "" {
		report(joinPath(path, "clientID"), "a client id is required")
	}
	if len(a.Scopes) == 0 {
		report(joinPath(path, "scopes"), "at least one scope is required")
	}
}

// checkSigningKey reports a JWK that cannot sign client assertions with alg.
func checkSigningKey(k JWK, alg string, path string, report reporter) {
	key := k.Key()
	if key.IsPublic() {
		report(path, "a private key is required to sign client assertions")
		return
	}
	if key.Algorithm != "" && alg != "" && key.Algorithm != alg {
		report(path, "the key is for %s but the platform signs with %s", key.Algorithm, alg)
		return
	}
	var fits bool
	switch {
	case alg == "":
		fits = true
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		_, fits = key.Key.(*rsa.PrivateKey)
	case strings.HasPrefix(alg, "ES"):
		ec, ok := key.Key.(*ecdsa.PrivateKey)
		curves := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}
		fits = ok && ec.Curve == curves[alg]
	}
	if !fits {
		report(path, "the key cannot sign %s client assertions", alg)
	}
}

// checkURL accepts absolute https URLs, and http only on loopback hosts
// (local development and the sandbox). Credentials never go in URLs.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%q carries credentials; put them in the client settings", u.Redacted())
	case u.Fragment != "" || u.RawQuery != "":
		return nil, fmt.Errorf("%q must not have a query or fragment", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("%q must use https (http is only for loopback hosts)", raw)
	default:
		return nil, fmt.Errorf("%q must be an https URL", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkID(id, path string, report reporter) {
	switch {
	case id == "":
		report(path, "an id is required")
	case !validID(id):
		report(path, "invalid id %q: use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit", id)
	}
}

// validID accepts DNS-label-like ids, which are safe in URL paths.
func validID(id string) bool {
	if id == "" || len(id) > 63 || id[0] == '-' || id[len(id)-1] == '-' {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
