package adapters_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/portalgate/portalgate/adapters"
	_ "github.com/portalgate/portalgate/adapters/all"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
	"github.com/portalgate/portalgate/tenants"
)

// endpointFromConfig describes a configured endpoint to the adapters, as the
// gateway does: the adapters know nothing of the configuration.
func endpointFromConfig(name string, e *tenants.Endpoint) adapters.Endpoint {
	kinds := map[tenants.AuthKind]adapters.AuthKind{
		tenants.AuthBackendServices: adapters.AuthBackendServices,
		tenants.AuthStandalone:      adapters.AuthTokenSource, // the patient's tokens, in Options.TokenSource
		tenants.AuthNone:            adapters.AuthNone,
	}
	return adapters.Endpoint{
		Name:     name,
		BaseURL:  e.FHIRBaseURL,
		Platform: e.Quirks(),
		Auth: adapters.Auth{
			Kind:           kinds[e.Auth.Kind],
			ClientID:       e.Auth.ClientID,
			ClientSecret:   e.Auth.ClientSecret.Reveal(),
			Key:            e.Auth.JWK.Key(),
			PrivateKeyFile: e.Auth.PrivateKeyFile,
			Scopes:         e.Auth.Scopes,
			TokenURL:       e.Auth.TokenURL,
		},
	}
}

const testConfig = `version: 1
networks:
  - id: acme
    name: Acme Health
    accountModel: network
    identity:
      issuer: https://id.acme.example
      clientID: portal
      redirectURL: https://portal.acme.example/auth/callback
    orgs:
      - id: acme-hospital
        name: Acme Hospital
        membership: affiliated
        endpoints:
          - platform: epic
            fhirBaseURL: ${EPIC_URL}
            auth:
              kind: backend-services
              clientID: portalgate-test
              scopes: [system/*.read]
              jwk: ${BACKEND_JWK}
      - id: acme-clinic
        name: Acme Clinic
        membership: affiliated
        endpoints:
          - platform: cerner
            fhirBaseURL: ${CERNER_URL}
            auth:
              kind: backend-services
              clientID: portalgate-test
              clientSecret: ${CERNER_SECRET}
              scopes: [system/*.read]
`

// TestEndpointsFromConfiguration builds adapters from a loaded network and
// reads through each with backend-services auth: a private_key_jwt at Epic,
// a client secret at Oracle Health.
func TestEndpointsFromConfiguration(t *testing.T) {
	const clientID, secret = "portalgate-test", "s3cret-for-tests-only"
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	platforms, err := tenants.DefaultPlatforms()
	if err != nil {
		t.Fatal(err)
	}
	upstream := func(platform string, client smartauth.Client) *fhirtest.TestServer {
		auth := smartauth.New(smartauth.Config{Clients: []smartauth.Client{client}})
		ts := fhirtest.NewTestServer(fhirtest.WithPlatform(platforms[platform]), fhirtest.WithAuthorizer(auth))
		t.Cleanup(ts.Close)
		if err := ts.Load(json.RawMessage(`{"resourceType":"Patient","id":"p1"}`)); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	public := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}}
	epic := upstream("epic", smartauth.Client{ID: clientID, Backend: true, JWKS: public})
	cerner := upstream("cerner", smartauth.Client{ID: clientID, Backend: true, Secret: secret})

	jwk, err := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "RS384"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := tenants.Load("test.yaml", []byte(testConfig), tenants.WithEnv(nil), tenants.WithVars(map[string]string{
		"EPIC_URL": epic.URL, "CERNER_URL": cerner.URL, "BACKEND_JWK": string(jwk), "CERNER_SECRET": secret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	network, _ := cfg.Network("acme")
	for _, tc := range []struct {
		org, platform string
		up            *fhirtest.TestServer
	}{{"acme-hospital", "epic", epic}, {"acme-clinic", "cerner", cerner}} {
		org, _ := network.Org(tc.org)
		a, err := adapters.New(endpointFromConfig(tc.org, org.Primary()), adapters.Options{HTTPClient: tc.up.Client()})
		if err != nil {
			t.Fatalf("%s: %v", tc.org, err)
		}
		if a.Name() != tc.org || a.Platform().Name != tc.platform {
			t.Errorf("%s: adapter %q for platform %q", tc.org, a.Name(), a.Platform().Name)
		}
		if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
			t.Errorf("%s: %v", tc.org, err)
		}
	}
}
