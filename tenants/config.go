package tenants

import (
	"slices"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// Config is one loaded and validated configuration file.
type Config struct {
	// Version of the file format; only 1 exists.
	Version  int        `yaml:"version"`
	Networks []*Network `yaml:"networks"`
	// Sandbox describes the sandbox people; nil outside the sandbox.
	Sandbox *Sandbox `yaml:"sandbox"`

	// Source is the name the file was loaded under.
	Source string `yaml:"-"`
}

// Network returns the network with the given id.
func (c *Config) Network(id string) (*Network, bool) {
	i := slices.IndexFunc(c.Networks, func(n *Network) bool { return n != nil && n.ID == id })
	if i < 0 {
		return nil, false
	}
	return c.Networks[i], true
}

// AccountModel decides how a person's accounts span a network's orgs.
type AccountModel string

const (
	// AccountModelNetwork: one account sees every org of the network.
	AccountModelNetwork AccountModel = "network"
	// AccountModelConsent: one account sees every affiliated org only if the
	// person consents to share across the network; otherwise there is one
	// account per org and no data crosses between them.
	AccountModelConsent AccountModel = "consent"
)

// OneAccount reports whether a person with the given consent choice has one
// account across the network's affiliated orgs.
func (m AccountModel) OneAccount(consentsToShare bool) bool {
	return m == AccountModelNetwork || consentsToShare
}

// Network is a tenant: a health network that runs the gateway, with its
// identity provider, its orgs and its policy.
type Network struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// TimeZone is the IANA zone in which dates (birthdays, business days)
	// are counted; UTC when empty.
	TimeZone     string           `yaml:"timeZone"`
	AccountModel AccountModel     `yaml:"accountModel"`
	Identity     IdentityProvider `yaml:"identity"`
	Orgs         []*Org           `yaml:"orgs"`
	// Policy starts from a named preset ("seed" unless another is named)
	// and overrides the fields the file sets.
	Policy Policy `yaml:"policy"`

	location *time.Location
}

// Location returns the network's time zone.
func (n *Network) Location() *time.Location {
	if n.location == nil {
		return time.UTC
	}
	return n.location
}

// Org returns the org with the given id.
func (n *Network) Org(id string) (*Org, bool) {
	i := slices.IndexFunc(n.Orgs, func(o *Org) bool { return o != nil && o.ID == id })
	if i < 0 {
		return nil, false
	}
	return n.Orgs[i], true
}

// Affiliated returns the network's own orgs, in file order.
func (n *Network) Affiliated() []*Org {
	return slices.DeleteFunc(slices.Clone(n.Orgs), func(o *Org) bool { return o == nil || o.Membership != MembershipAffiliated })
}

// IdentityProvider is the network's OpenID Connect provider, at which
// patients sign in; the gateway is its relying party.
type IdentityProvider struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"clientID"`
	ClientSecret Secret `yaml:"clientSecret"`
	// Scopes must include openid; openid, profile and email when absent.
	Scopes      []string `yaml:"scopes"`
	RedirectURL string   `yaml:"redirectURL"`
	// RequireAMR lists authentication methods (ID token "amr") of which at
	// least one must be present: the network's two-step verification.
	RequireAMR []string `yaml:"requireAMR"`
	// RequireACR lists the acceptable ID token "acr" values.
	RequireACR []string `yaml:"requireACR"`
}

// defaultIdentityScopes are requested when a network names none.
var defaultIdentityScopes = []string{"openid", "profile", "email"}

// Membership says whether an org belongs to the network.
type Membership string

const (
	// MembershipAffiliated orgs are the network's own; the gateway reaches
	// them with its own credentials.
	MembershipAffiliated Membership = "affiliated"
	// MembershipExternal orgs are other health systems a patient links,
	// reached with the patient's own authorization.
	MembershipExternal Membership = "external"
)

// Org is one health organization: a member of the network or an external
// health system that patients link.
type Org struct {
	ID         string      `yaml:"id"`
	Name       string      `yaml:"name"`
	Membership Membership  `yaml:"membership"`
	Endpoints  []*Endpoint `yaml:"endpoints"`
}

// Endpoint returns the endpoint with the given id.
func (o *Org) Endpoint(id string) (*Endpoint, bool) {
	i := slices.IndexFunc(o.Endpoints, func(e *Endpoint) bool { return e != nil && e.ID == id })
	if i < 0 {
		return nil, false
	}
	return o.Endpoints[i], true
}

// Primary returns the org's first endpoint, the one records are read from
// unless a caller picks another.
func (o *Org) Primary() *Endpoint {
	if len(o.Endpoints) == 0 {
		return nil
	}
	return o.Endpoints[0]
}

// Endpoint is one FHIR R4 base URL of an org, with its platform and the way
// the gateway authorizes to it.
type Endpoint struct {
	// ID names the endpoint within its org; it defaults to the platform name.
	ID       string `yaml:"id"`
	Platform string `yaml:"platform"`
	// FHIRBaseURL is the FHIR base, without a trailing slash.
	FHIRBaseURL string       `yaml:"fhirBaseURL"`
	Auth        EndpointAuth `yaml:"auth"`

	quirks fhir.Platform
}

// Quirks returns the platform description the endpoint's platform names.
func (e *Endpoint) Quirks() fhir.Platform { return e.quirks }

// AuthKind is how the gateway gets tokens for an endpoint.
type AuthKind string

const (
	// AuthBackendServices: SMART Backend Services (client_credentials),
	// for the network's own EHRs.
	AuthBackendServices AuthKind = "backend-services"
	// AuthStandalone: SMART standalone patient launch (authorization code +
	// PKCE), for records a patient links at another health system.
	AuthStandalone AuthKind = "standalone"
	// AuthNone: no authorization (open test servers only).
	AuthNone AuthKind = "none"
)

// EndpointAuth is the client registration the gateway holds at an endpoint's
// authorization server.
type EndpointAuth struct {
	Kind     AuthKind `yaml:"kind"`
	ClientID string   `yaml:"clientID"`
	// ClientSecret is for platforms that authenticate clients with
	// client_secret_basic.
	ClientSecret Secret   `yaml:"clientSecret"`
	Scopes       []string `yaml:"scopes"`
	// PrivateKeyFile (PEM) or JWK holds the key that signs private_key_jwt
	// client assertions; at most one is set.
	PrivateKeyFile string `yaml:"privateKeyFile"`
	JWK            JWK    `yaml:"jwk"`
	// TokenURL overrides discovery (.well-known/smart-configuration).
	TokenURL string `yaml:"tokenURL"`
	// RedirectURL is the gateway's callback for standalone launches.
	RedirectURL string `yaml:"redirectURL"`
}
