package smartauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestBackendServices gets system tokens with golang.org/x/oauth2's
// client-credentials client carrying a signed assertion, with both
// algorithms SMART requires.
func TestBackendServices(t *testing.T) {
	for _, tc := range []struct {
		client, kid, wantScope string
	}{
		{backendRSA, keyIDRSA, "system/Patient.rs system/Observation.rs"}, // allowed by system/*.rs
		{backendEC, keyIDEC, "system/Patient.rs system/Observation.rs"},
		{backendByURL, keyIDRSA, "system/Patient.rs system/Observation.rs"},
	} {
		t.Run(tc.client, func(t *testing.T) {
			h := newHarness(t)
			cfg := h.discover()
			cc := clientcredentials.Config{
				ClientID:  tc.client,
				TokenURL:  cfg.TokenEndpoint,
				Scopes:    []string{"system/Patient.rs", "system/Observation.rs", "patient/*.rs", "launch/patient"},
				AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{
					"client_assertion_type": {assertionTypeJWTBearer},
					"client_assertion":      {h.sign(tc.kid, h.assertion(tc.client))},
				},
			}
			tok, err := cc.Token(h.ctx())
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			if tok.RefreshToken != "" || tok.Extra("patient") != nil || tok.Extra("scope") != tc.wantScope {
				t.Errorf("token = %+v scope %v patient %v", tok, tok.Extra("scope"), tok.Extra("patient"))
			}
			status, access := h.fhirGet(tok.AccessToken)
			if status != http.StatusOK || access.Patient != "" || access.Subject != tc.client || access.ClientID != tc.client {
				t.Errorf("FHIR read: %d %+v", status, access)
			}
		})
	}
}

// Oracle Health system accounts authenticate with a client secret.
func TestBackendServicesWithSecret(t *testing.T) {
	h := newHarness(t)
	cfg := h.discover()
	cc := clientcredentials.Config{
		ClientID:     backendSecret,
		ClientSecret: clientSecret,
		TokenURL:     cfg.TokenEndpoint,
		Scopes:       []string{"system/Observation.read"},
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(h.ctx())
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if status, access := h.fhirGet(tok.AccessToken); status != http.StatusOK || access.Patient != "" || access.ClientID != backendSecret {
		t.Errorf("FHIR read: %d %+v", status, access)
	}
	cc.ClientSecret = "wrong"
	if _, err := cc.Token(h.ctx()); err == nil {
		t.Error("a wrong secret got a token")
	}
}

func TestBackendAssertionMustFail(t *testing.T) {
	otherEC, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client string
		// assertion returns the client_assertion to send.
		assertion func(h *harness, c jwt.Claims) string
		status    int
		want      string
		why       string // part of error_description, to know it failed for the right reason
	}{
		{"wrong aud", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Audience = jwt.Audience{h.base}
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "aud must be"},
		{"expired", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Expiry = jwt.NewNumericDate(h.clock.Now())
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "expired"},
		{"exp more than five minutes ahead", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Expiry = jwt.NewNumericDate(h.clock.Now().Add(5*time.Minute + time.Second))
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "more than 5m0s ahead"},
		{"no exp", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Expiry = nil
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "exp is required"},
		{"not yet valid", backendRSA, func(h *harness, c jwt.Claims) string {
			c.NotBefore = jwt.NewNumericDate(h.clock.Now().Add(time.Minute))
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "nbf"},
		{"no jti", backendRSA, func(h *harness, c jwt.Claims) string {
			c.ID = ""
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "jti is required"},
		{"sub is not the client", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Subject = backendEC
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "iss and sub"},
		{"iss of another client", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Issuer, c.Subject = backendEC, backendEC
			return h.sign(keyIDRSA, c) // RSA key, but backendEC's set holds only the EC key
		}, http.StatusUnauthorized, errInvalidClient, "signature does not verify"},
		{"unknown issuer", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Issuer, c.Subject = "nobody", "nobody"
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "iss is not a client"},
		{"issuer is a public client", backendRSA, func(h *harness, c jwt.Claims) string {
			c.Issuer, c.Subject = publicClient, publicClient
			return h.sign(keyIDRSA, c)
		}, http.StatusUnauthorized, errInvalidClient, "iss is not a client"},
		{"signed by a key the client did not register", backendEC, func(h *harness, c jwt.Claims) string {
			return signWith(h.t, jose.ES384, jose.JSONWebKey{Key: otherEC, KeyID: keyIDEC}, c)
		}, http.StatusUnauthorized, errInvalidClient, "signature does not verify"},
		{"no kid", backendEC, func(h *harness, c jwt.Claims) string {
			return signWith(h.t, jose.ES384, h.ecKey, c)
		}, http.StatusUnauthorized, errInvalidClient, "kid header is required"},
		{"unknown kid", backendEC, func(h *harness, c jwt.Claims) string {
			return signWith(h.t, jose.ES384, jose.JSONWebKey{Key: h.ecKey, KeyID: "other"}, c)
		}, http.StatusUnauthorized, errInvalidClient, "signature does not verify"},
		{"HMAC signature", backendRSA, func(h *harness, c jwt.Claims) string {
			return signWith(h.t, jose.HS384, jose.JSONWebKey{Key: make([]byte, 48), KeyID: keyIDRSA}, c)
		}, http.StatusUnauthorized, errInvalidClient, "unexpected signature algorithm"},
		{"unsigned", backendRSA, func(h *harness, c jwt.Claims) string {
			return "eyJhbGciOiJub25lIn0." + mustB64JSON(h.t, c) + "."
		}, http.StatusUnauthorized, errInvalidClient, "unexpected signature algorithm"},
		{"garbage", backendRSA, func(*harness, jwt.Claims) string { return "not.a.jwt" }, http.StatusUnauthorized, errInvalidClient, "parse"},
		{"missing assertion", backendRSA, func(*harness, jwt.Claims) string { return "" }, http.StatusUnauthorized, errInvalidClient, "client_assertion is required"},
		{"patient app may not use client_credentials", asymmetricApp, func(h *harness, c jwt.Claims) string {
			return h.sign(keyIDRSA, c)
		}, http.StatusBadRequest, errUnauthorizedClient, "not registered for backend services"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			reply := h.post(pathToken, backendForm(tc.client, tc.assertion(h, h.assertion(tc.client))))
			wantError(t, reply, tc.status, tc.want)
			if d := reply.str("error_description"); !strings.Contains(d, tc.why) {
				t.Errorf("error_description %q, want it to mention %q", d, tc.why)
			}
		})
	}
}

func TestBackendAssertionTypeAndScope(t *testing.T) {
	h := newHarness(t)
	form := backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA)))
	form.Set("client_assertion_type", "urn:other")
	wantError(t, h.post(pathToken, form), http.StatusUnauthorized, errInvalidClient)

	form = backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA)))
	form.Set("scope", "patient/*.rs launch/patient")
	wantError(t, h.post(pathToken, form), http.StatusBadRequest, errInvalidScope)

	form = backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA)))
	form.Set("client_id", backendEC)
	wantError(t, h.post(pathToken, form), http.StatusUnauthorized, errInvalidClient)

	form = backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA)))
	form.Set("scope", "system/*.cruds") // the client may only read and search
	wantError(t, h.post(pathToken, form), http.StatusBadRequest, errInvalidScope)
}

func TestBackendAssertionReplay(t *testing.T) {
	h := newHarness(t)
	claims := h.assertion(backendEC)
	claims.Expiry = jwt.NewNumericDate(h.clock.Now().Add(5 * time.Minute)) // the longest allowed
	assertion := h.sign(keyIDEC, claims)
	if r := h.post(pathToken, backendForm(backendEC, assertion)); r.status != http.StatusOK {
		t.Fatalf("first use: %d %v", r.status, r.body)
	}
	wantError(t, h.post(pathToken, backendForm(backendEC, assertion)), http.StatusUnauthorized, errInvalidClient)

	// The same jti, newly signed, is still a replay until the first expires...
	h.clock.Advance(4*time.Minute + 59*time.Second)
	again := claims
	again.Expiry = jwt.NewNumericDate(h.clock.Now().Add(time.Minute))
	wantError(t, h.post(pathToken, backendForm(backendEC, h.sign(keyIDEC, again))), http.StatusUnauthorized, errInvalidClient)

	// ...and a jti may be reused by another client.
	other := h.assertion(backendRSA)
	other.ID = claims.ID
	if r := h.post(pathToken, backendForm(backendRSA, h.sign(keyIDRSA, other))); r.status != http.StatusOK {
		t.Errorf("same jti from another client: %d %v", r.status, r.body)
	}
}

func TestBackendTokenExpiry(t *testing.T) {
	h := newHarness(t)
	reply := h.post(pathToken, backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA))))
	if reply.str("refresh_token") != "" {
		t.Error("client_credentials issued a refresh token")
	}
	h.clock.Advance(testTokenLife - time.Second)
	if status, _ := h.fhirGet(reply.str("access_token")); status != http.StatusOK {
		t.Errorf("a second before expiry: %d", status)
	}
	h.clock.Advance(time.Second)
	if status, _ := h.fhirGet(reply.str("access_token")); status != http.StatusUnauthorized {
		t.Errorf("at expiry: %d", status)
	}
}

func TestBackendJWKSURL(t *testing.T) {
	h := newHarness(t)
	if r := h.post(pathToken, backendForm(backendByURL, h.sign(keyIDRSA, h.assertion(backendByURL)))); r.status != http.StatusOK {
		t.Fatalf("%d %v", r.status, r.body)
	}
	if h.jwksHits.Load() == 0 {
		t.Error("the JWKS URL was not fetched")
	}
	h.jwksDown.Store(true)
	wantError(t, h.post(pathToken, backendForm(backendByURL, h.sign(keyIDRSA, h.assertion(backendByURL)))), http.StatusUnauthorized, errInvalidClient)
	h.jwksDown.Store(false)

	t.Run("jku must be the registered URL", func(t *testing.T) {
		signer, err := jose.NewSigner(
			jose.SigningKey{Algorithm: jose.RS384, Key: jose.JSONWebKey{Key: h.rsaKey, KeyID: keyIDRSA}},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("jku", "https://attacker.example/jwks"))
		if err != nil {
			t.Fatal(err)
		}
		assertion, err := jwt.Signed(signer).Claims(h.assertion(backendByURL)).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, h.post(pathToken, backendForm(backendByURL, assertion)), http.StatusUnauthorized, errInvalidClient)
	})
}

func mustB64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
