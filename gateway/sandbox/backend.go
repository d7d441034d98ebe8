package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
	"github.com/portalgate/portalgate/tenants"
)

// newBackendJWK makes the gateway's backend-services signing key for this
// sandbox run, as the JSON that configs/sandbox.yaml reads from
// ${SANDBOX_BACKEND_JWK}. A fresh key per start keeps private keys out of
// the repository.
func newBackendJWK() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("sandbox: backend key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "sandbox-backend-" + rand.Text()[:8], Algorithm: string(jose.RS384), Use: "sig"}
	b, err := json.Marshal(jwk)
	if err != nil {
		return "", fmt.Errorf("sandbox: backend key: %w", err)
	}
	return string(b), nil
}

// gatewayClient is the registration, at an org's simulated EHR, of the
// client the gateway itself uses there: a backend-services client for the
// network's own orgs, a standalone-launch client for external ones.
func gatewayClient(auth tenants.EndpointAuth) (smartauth.Client, bool, error) {
	c := smartauth.Client{ID: auth.ClientID, Name: "PortalGate", Scopes: auth.Scopes}
	switch auth.Kind {
	case tenants.AuthBackendServices:
		c.Backend = true
	case tenants.AuthStandalone:
		c.RedirectURIs = []string{auth.RedirectURL}
	default:
		return c, false, nil
	}
	switch {
	case !auth.JWK.IsZero():
		c.JWKS = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{auth.JWK.Key().Public()}}
	case auth.ClientSecret.Reveal() != "":
		c.Secret = auth.ClientSecret.Reveal()
	case c.Backend:
		return c, false, fmt.Errorf("sandbox: backend client %s has neither a JWK nor a secret", auth.ClientID)
	default:
		c.Public = true
	}
	return c, true, nil
}
