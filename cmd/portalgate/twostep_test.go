package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/sandbox/idp"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/tenants"
)

// A network that requires two-step verification refuses a sign-in whose ID
// token does not show it, and says why.
func TestTwoStepVerificationIsRequiredWhereTheNetworkSaysSo(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := httptest.NewUnstartedServer(nil)
	gwURL := "http://" + gw.Listener.Addr().String()
	op := httptest.NewUnstartedServer(nil)
	issuer := "http://" + op.Listener.Addr().String() + "/idp"

	provider, err := idp.New(idp.Config{
		Issuer: issuer,
		Users: []idp.User{
			{Subject: "pat-one", Username: "with-otp", Password: "pw-one", Given: "Pat", Family: "One", BirthDate: "1980-01-01", AMR: []string{"pwd", "otp"}},
			{Subject: "pat-two", Username: "password-only", Password: "pw-two", Given: "Pat", Family: "Two", BirthDate: "1980-01-01", AMR: []string{"pwd"}},
		},
		Clients: []idp.Client{{ID: "portalgate", Secret: "gateway-secret", RedirectURIs: []string{gwURL + "/auth/callback"}}},
		Logger:  logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	op.Config.Handler = http.StripPrefix("/idp", provider.Handler())
	op.Start()
	defer op.Close()

	cfg, err := tenants.Load("twostep.yaml", []byte(`version: 1
networks:
  - id: strict
    name: Strict Health
    accountModel: network
    identity:
      issuer: `+issuer+`
      clientID: portalgate
      clientSecret: gateway-secret
      redirectURL: `+gwURL+`/auth/callback
      requireAMR: [otp, mfa]
    orgs:
      - id: strict-hospital
        name: Strict Hospital
        membership: affiliated
        endpoints:
          - platform: cerner
            fhirBaseURL: https://fhir.example.org/r4
            auth:
              kind: backend-services
              clientID: portalgate
              scopes: [system/*.read]
              clientSecret: secret-for-tests-only
`), tenants.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(boltstore.Options{Path: t.TempDir() + "/portalgate.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, _, err := assembleGateway(cfg, st, gatewayOptions{Logger: logger, Source: "test", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	gw.Config.Handler = srv.Handler()
	gw.Start()
	defer gw.Close()

	login := gwURL + "/auth/login?network=strict&returnTo=/api/v1/me"
	resp := newBrowser(t).signIn(login, "with-otp", "pw-one")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/api/v1/me" {
		t.Fatalf("sign-in with a second factor ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}

	b := newBrowser(t)
	resp = b.signIn(login, "password-only", "pw-two")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "two-step verification") {
		t.Fatalf("sign-in with a password only: %d %s, want 403 saying two-step verification is required", resp.StatusCode, body)
	}
	if status := b.getJSON(gwURL+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("a refused sign-in left a session: /api/v1/me = %d", status)
	}
}
