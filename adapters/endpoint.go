package adapters

import (
	"fmt"
	"log/slog"

	"github.com/go-jose/go-jose/v4"

	"github.com/portalgate/portalgate/fhir"
)

// Endpoint describes one upstream FHIR R4 server: where it is, the quirks of
// its platform and how the adapter authorizes to it.
type Endpoint struct {
	// Name identifies the endpoint in errors, such as "lakeside-hospital";
	// the platform's name when empty.
	Name string
	// BaseURL is the FHIR base, http or https.
	BaseURL string
	// Platform is the quirk description of the server's platform
	// (configs/platforms/*.yaml).
	Platform fhir.Platform
	Auth     Auth
}

// AuthKind is how the adapter gets the bearer tokens of an endpoint.
type AuthKind string

const (
	// AuthNone sends no token (open test servers only).
	AuthNone AuthKind = "none"
	// AuthBackendServices gets tokens by SMART Backend Services
	// (client_credentials), for the network's own EHRs.
	AuthBackendServices AuthKind = "backend-services"
	// AuthTokenSource takes tokens from Options.TokenSource, such as those
	// of a patient's standalone launch at another health system.
	AuthTokenSource AuthKind = "token-source"
)

// Auth is the client registration the gateway holds at an endpoint's
// authorization server. Backend services authenticate with ClientSecret
// (client_secret_basic) when it is set, else with a private_key_jwt
// assertion signed by Key or PrivateKeyFile. Auth prints and logs without
// its secret and key.
type Auth struct {
	Kind         AuthKind
	ClientID     string
	ClientSecret string
	// Key is the private JSON Web Key that signs client assertions.
	Key *jose.JSONWebKey
	// PrivateKeyFile is a PEM file holding that key instead (PKCS #8,
	// PKCS #1 or SEC 1).
	PrivateKeyFile string
	Scopes         []string
	// TokenURL overrides discovery (.well-known/smart-configuration).
	TokenURL string
}

// String describes the registration without its secret or key.
func (a Auth) String() string {
	return fmt.Sprintf("{Kind:%s ClientID:%s ClientSecret:%s Key:%s PrivateKeyFile:%s Scopes:%v TokenURL:%s}",
		a.Kind, a.ClientID, redacted(a.ClientSecret != ""), redacted(a.Key != nil), a.PrivateKeyFile, a.Scopes, a.TokenURL)
}

// GoString keeps %#v from printing the secret or the key.
func (a Auth) GoString() string { return "adapters.Auth" + a.String() }

// LogValue keeps slog from logging the secret or the key.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

func redacted(set bool) string {
	if set {
		return "[redacted]"
	}
	return ""
}
