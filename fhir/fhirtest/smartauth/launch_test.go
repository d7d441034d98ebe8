package smartauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestDiscovery(t *testing.T) {
	h := newHarness(t)
	p := h.get(h.ehr.Client(), h.base+"/.well-known/smart-configuration")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if p.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("discovery lacks a CORS header")
	}
	cfg := h.discover()
	endpoints := map[string]string{
		cfg.AuthorizationEndpoint: h.base + "/auth/authorize",
		cfg.TokenEndpoint:         h.base + "/auth/token",
		cfg.RevocationEndpoint:    h.base + "/auth/revoke",
		cfg.IntrospectionEndpoint: h.base + "/auth/introspect",
	}
	for got, want := range endpoints {
		if got != want {
			t.Errorf("endpoint %q, want %q", got, want)
		}
	}
	if !slices.Equal(cfg.CodeChallengeMethods, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want only S256", cfg.CodeChallengeMethods)
	}
	for _, want := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		if !slices.Contains(cfg.GrantTypes, want) {
			t.Errorf("grant_types_supported lacks %s", want)
		}
	}
	for _, want := range []string{"private_key_jwt", "client_secret_basic", "client_secret_post"} {
		if !slices.Contains(cfg.TokenEndpointAuthMethods, want) {
			t.Errorf("token_endpoint_auth_methods_supported lacks %s", want)
		}
	}
	for _, want := range []string{"RS384", "ES384"} {
		if !slices.Contains(cfg.TokenEndpointAuthSigningAlgValues, want) {
			t.Errorf("signing algorithms lack %s", want)
		}
	}
	for _, want := range []string{
		"launch-standalone", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
		"context-standalone-patient", "permission-offline", "permission-patient", "permission-v1",
		"permission-v2", "authorize-post",
	} {
		if !slices.Contains(cfg.Capabilities, want) {
			t.Errorf("capabilities lack %s", want)
		}
	}
	if !slices.Equal(cfg.ResponseTypes, []string{"code"}) || len(cfg.Scopes) == 0 {
		t.Errorf("response_types_supported = %v, scopes_supported = %v", cfg.ResponseTypes, cfg.Scopes)
	}

	req, _ := http.NewRequest(http.MethodPost, h.base+"/.well-known/smart-configuration", nil)
	resp, err := h.ehr.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST discovery: status %d, want 405", resp.StatusCode)
	}
}

func TestCORSPreflight(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/.well-known/smart-configuration", "/auth/token", "/auth/revoke"} {
		req, _ := http.NewRequest(http.MethodOptions, h.base+path, nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := h.ehr.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("OPTIONS %s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
}

// TestStandaloneLaunch is the whole journey of a patient app with
// golang.org/x/oauth2: discovery, sign-in (first with a wrong password),
// code exchange, FHIR access, expiry, refresh, rotation.
func TestStandaloneLaunch(t *testing.T) {
	h := newHarness(t)
	conf := h.oauthConfig(publicClient, patientScopes)
	verifier := oauth2.GenerateVerifier()
	const state = "a-state/with?odd=chars&more"

	browser := h.browser()
	form := h.get(browser, h.authURL(conf, state, verifier))
	if form.status != http.StatusOK || !strings.Contains(form.body, "Health Tracker") {
		t.Fatalf("authorize: %d\n%s", form.status, form.body)
	}

	retry := h.signIn(browser, form, testUser, "wrong password")
	if retry.status != http.StatusUnauthorized || !strings.Contains(retry.body, `role="alert"`) {
		t.Fatalf("wrong password: status %d, want 401 with the form and a message\n%s", retry.status, retry.body)
	}
	if h.appHits.Load() != 0 {
		t.Fatal("a failed sign-in reached the app")
	}

	done := h.signIn(browser, retry, testUser, testPassword)
	q := done.url.Query()
	if done.url.Path != callbackPath || q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("sign-in ended at %s, want the callback with code and the exact state", done.url)
	}

	tok, err := conf.Exchange(h.ctx(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Errorf("token = %+v, want a Bearer token with expiry and refresh token", tok)
	}
	if got := tok.Extra("patient"); got != testPatient {
		t.Errorf("patient = %v, want %s", got, testPatient)
	}
	if got := tok.Extra("scope"); got != patientScopes {
		t.Errorf("scope = %v, want %s", got, patientScopes)
	}
	if got := tok.Extra("expires_in"); got != float64(testTokenLife/time.Second) {
		t.Errorf("expires_in = %v", got)
	}

	status, access := h.fhirGet(tok.AccessToken)
	if status != http.StatusOK || access.Patient != testPatient || access.ClientID != publicClient ||
		access.Subject != testUser || !slices.Equal(access.Scopes, strings.Fields(patientScopes)) {
		t.Fatalf("FHIR read: %d %+v", status, access)
	}

	// The EHR's clock passes the token's lifetime: the upstream refuses it.
	h.clock.Advance(testTokenLife)
	if status, _ := h.fhirGet(tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, want 401", status)
	}

	// The client's clock agrees the token expired, so its TokenSource refreshes.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := conf.TokenSource(h.ctx(), &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken || refreshed.RefreshToken == "" {
		t.Fatal("refresh did not issue a new access token and a rotated refresh token")
	}
	if got := refreshed.Extra("patient"); got != testPatient {
		t.Errorf("refreshed patient = %v", got)
	}
	if status, access := h.fhirGet(refreshed.AccessToken); status != http.StatusOK || access.Patient != testPatient {
		t.Fatalf("refreshed token: %d %+v", status, access)
	}

	// The rotated refresh token is dead; presenting it again is reuse and
	// revokes the grant, including the tokens just issued.
	reuse := h.post(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {publicClient}})
	wantError(t, reuse, http.StatusBadRequest, errInvalidGrant)
	if status, _ := h.fhirGet(refreshed.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("after refresh token reuse the grant's access token still works: %d", status)
	}
	again := h.post(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed.RefreshToken}, "client_id": {publicClient}})
	wantError(t, again, http.StatusBadRequest, errInvalidGrant)
}

// TestPublicClientAutoDetectedAuthStyle: x/oauth2's default first tries
// Basic with an empty secret, is refused, and retries with client_id in
// the body. The refused try must not burn the code.
func TestPublicClientAutoDetectedAuthStyle(t *testing.T) {
	h := newHarness(t)
	conf := h.oauthConfig(publicClient, patientScopes)
	conf.Endpoint.AuthStyle = oauth2.AuthStyleAutoDetect
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(h.ctx(), h.launch(conf, verifier, testUser, testPassword), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TokenSource(h.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh: %v", err)
	}
}

func TestTokenResponseHeaders(t *testing.T) {
	h := newHarness(t)
	reply := h.patientTokens(patientScopes)
	if reply.header.Get("Cache-Control") != "no-store" || reply.header.Get("Pragma") != "no-cache" {
		t.Errorf("headers %v, want Cache-Control: no-store and Pragma: no-cache", reply.header)
	}
	if reply.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("token endpoint lacks a CORS header")
	}
	if !strings.HasPrefix(reply.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type = %q", reply.header.Get("Content-Type"))
	}
	if _, isNumber := reply.body["expires_in"].(float64); !isNumber {
		t.Errorf("expires_in = %#v, want a number", reply.body["expires_in"])
	}
}

func TestRefreshTokenOnlyWithOfflineOrOnlineAccess(t *testing.T) {
	for _, tc := range []struct {
		scope       string
		wantRefresh bool
	}{
		{"launch/patient patient/*.rs", false},
		{"launch/patient patient/*.rs offline_access", true},
		{"launch/patient patient/*.rs online_access", true},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			h := newHarness(t)
			reply := h.patientTokens(tc.scope)
			if got := reply.str("refresh_token") != ""; got != tc.wantRefresh {
				t.Errorf("refresh token issued = %v, want %v", got, tc.wantRefresh)
			}
		})
	}
}

func TestGrantedScopesAreRequestedAndAllowed(t *testing.T) {
	h := newHarness(t)
	verifier := oauth2.GenerateVerifier()
	conf := h.oauthConfig(narrowClient, "launch/patient patient/Observation.rs?category=laboratory patient/Condition.rs system/*.rs openid")
	reply := h.post(pathToken, url.Values{
		"grant_type": {"authorization_code"}, "code": {h.launch(conf, verifier, testUser, testPassword)},
		"redirect_uri": {h.redirect}, "client_id": {narrowClient}, "code_verifier": {verifier},
	})
	if want := "launch/patient patient/Observation.rs?category=laboratory"; reply.str("scope") != want {
		t.Errorf("scope = %q, want %q", reply.str("scope"), want)
	}
}

func TestSignInPage(t *testing.T) {
	h := newHarness(t)
	conf := h.oauthConfig(publicClient, patientScopes)
	p := h.get(h.browser(), h.authURL(conf, "s", oauth2.GenerateVerifier()))
	for _, want := range []string{
		`<html lang="en">`, `<label for="username">`, `<label for="password">`, `name="username"`,
		`name="password"`, `autocomplete="current-password"`, "Read, search all your records",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	parseForm(t, p.body) // checks every input is labelled
}

func TestSignInDeny(t *testing.T) {
	h := newHarness(t)
	conf := h.oauthConfig(publicClient, patientScopes)
	browser := h.browser()
	form := h.get(browser, h.authURL(conf, "st", oauth2.GenerateVerifier()))
	done := h.submit(browser, form, url.Values{"decision": {"deny"}})
	if q := done.url.Query(); done.url.Path != callbackPath || q.Get("error") != errAccessDenied || q.Get("state") != "st" || q.Has("code") {
		t.Errorf("deny ended at %s, want the callback with access_denied", done.url)
	}
}

func TestSignInRequestIsSingleUseAndExpires(t *testing.T) {
	h := newHarness(t)
	conf := h.oauthConfig(publicClient, patientScopes)
	browser := h.browser()

	form := h.get(browser, h.authURL(conf, "st", oauth2.GenerateVerifier()))
	if done := h.signIn(browser, form, testUser, testPassword); done.url.Path != callbackPath {
		t.Fatalf("first sign-in ended at %s", done.url)
	}
	if again := h.signIn(browser, form, testUser, testPassword); again.status != http.StatusBadRequest || h.appHits.Load() != 1 {
		t.Errorf("second sign-in with the same form: status %d, app hits %d; want 400 and no redirect", again.status, h.appHits.Load())
	}

	form = h.get(browser, h.authURL(conf, "st", oauth2.GenerateVerifier()))
	h.clock.Advance(signInLifetime - time.Second)
	wrong := h.signIn(browser, form, testUser, "nope")
	if wrong.status != http.StatusUnauthorized {
		t.Fatalf("sign-in just before expiry: %d", wrong.status)
	}
	h.clock.Advance(time.Second)
	if late := h.signIn(browser, wrong, testUser, testPassword); late.status != http.StatusBadRequest {
		t.Errorf("sign-in at expiry: status %d, want 400", late.status)
	}

	bogus := h.submit(browser, form, url.Values{"request": {"made-up"}, "username": {testUser}, "password": {testPassword}})
	if bogus.status != http.StatusBadRequest {
		t.Errorf("unknown sign-in request: status %d, want 400", bogus.status)
	}
}

// TestAuthorizeNeverRedirectsToUnverifiedURI covers requests whose client
// or redirect URI cannot be trusted: the user gets an HTML page, the app
// gets nothing.
func TestAuthorizeNeverRedirectsToUnverifiedURI(t *testing.T) {
	h := newHarness(t)
	valid := func() url.Values {
		return url.Values{
			"response_type": {"code"}, "client_id": {publicClient}, "redirect_uri": {h.redirect},
			"scope": {patientScopes}, "state": {"s"}, "aud": {h.base}, "code_challenge_method": {"S256"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		}
	}
	for name, edit := range map[string]func(url.Values){
		"unknown client":               func(v url.Values) { v.Set("client_id", "nobody") },
		"missing client":               func(v url.Values) { v.Del("client_id") },
		"missing redirect_uri":         func(v url.Values) { v.Del("redirect_uri") },
		"unregistered redirect_uri":    func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") },
		"redirect_uri with more path":  func(v url.Values) { v.Set("redirect_uri", h.redirect+"/x") },
		"redirect_uri with a query":    func(v url.Values) { v.Set("redirect_uri", h.redirect+"?x=1") },
		"redirect_uri trailing slash":  func(v url.Values) { v.Set("redirect_uri", h.redirect+"/") },
		"repeated redirect_uri":        func(v url.Values) { v.Add("redirect_uri", h.redirect) },
		"repeated client_id":           func(v url.Values) { v.Add("client_id", secretClient) },
		"backend client, no redirects": func(v url.Values) { v.Set("client_id", backendRSA) },
	} {
		t.Run(name, func(t *testing.T) {
			params := valid()
			edit(params)
			p := h.get(h.browser(), h.base+"/auth/authorize?"+params.Encode())
			if p.status != http.StatusBadRequest || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("status %d %s, want a 400 HTML page", p.status, p.header.Get("Content-Type"))
			}
			if h.appHits.Load() != 0 || p.url.Path == callbackPath {
				t.Error("redirected to the app")
			}
		})
	}
}

// TestAuthorizeErrorsRedirect covers bad requests from a trusted client
// and redirect URI: RFC 6749 §4.1.2.1 errors sent back with the state.
func TestAuthorizeErrorsRedirect(t *testing.T) {
	h := newHarness(t)
	valid := func() url.Values {
		return url.Values{
			"response_type": {"code"}, "client_id": {publicClient}, "redirect_uri": {h.redirect},
			"scope": {patientScopes}, "state": {"s t/ä"}, "aud": {h.base}, "code_challenge_method": {"S256"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		}
	}
	for _, tc := range []struct {
		name string
		edit func(url.Values)
		want string
	}{
		{"wrong aud", func(v url.Values) { v.Set("aud", "https://other.example/fhir") }, errInvalidRequest},
		{"aud with trailing slash", func(v url.Values) { v.Set("aud", h.base+"/") }, errInvalidRequest},
		{"missing aud", func(v url.Values) { v.Del("aud") }, errInvalidRequest},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, errInvalidRequest},
		{"missing challenge method", func(v url.Values) { v.Del("code_challenge_method") }, errInvalidRequest},
		{"missing challenge", func(v url.Values) { v.Del("code_challenge") }, errInvalidRequest},
		{"short challenge", func(v url.Values) { v.Set("code_challenge", "abc") }, errInvalidRequest},
		{"challenge not base64url", func(v url.Values) { v.Set("code_challenge", strings.Repeat("+", 43)) }, errInvalidRequest},
		{"missing response_type", func(v url.Values) { v.Del("response_type") }, errInvalidRequest},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "token") }, errUnsupportedResponseType},
		{"missing scope", func(v url.Values) { v.Del("scope") }, errInvalidScope},
		{"only ungrantable scopes", func(v url.Values) { v.Set("scope", "system/*.rs openid") }, errInvalidScope},
		{"repeated scope", func(v url.Values) { v.Add("scope", "openid") }, errInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := valid()
			edit := tc.edit
			edit(params)
			p := h.get(h.browser(), h.base+"/auth/authorize?"+params.Encode())
			q := p.url.Query()
			if p.url.Path != callbackPath || q.Get("error") != tc.want || q.Get("error_description") == "" {
				t.Errorf("ended at %s, want the callback with error %s", p.url, tc.want)
			}
			if q.Get("state") != "s t/ä" || q.Has("code") {
				t.Errorf("state = %q, code present = %v", q.Get("state"), q.Has("code"))
			}
		})
	}

	t.Run("missing state", func(t *testing.T) {
		params := valid()
		params.Del("state")
		p := h.get(h.browser(), h.base+"/auth/authorize?"+params.Encode())
		if q := p.url.Query(); q.Get("error") != errInvalidRequest || q.Has("state") {
			t.Errorf("ended at %s, want invalid_request without state", p.url)
		}
	})
}

// TestAuthorizePost covers authorize-post: the same request as a form.
func TestAuthorizePost(t *testing.T) {
	h := newHarness(t)
	verifier := oauth2.GenerateVerifier()
	browser := h.browser()
	resp, err := browser.PostForm(h.base+"/auth/authorize", url.Values{
		"response_type": {"code"}, "client_id": {publicClient}, "redirect_uri": {h.redirect},
		"scope": {patientScopes}, "state": {"posted"}, "aud": {h.base}, "code_challenge_method": {"S256"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)},
	})
	if err != nil {
		t.Fatal(err)
	}
	form := readPage(t, resp)
	if form.status != http.StatusOK {
		t.Fatalf("POST authorize: %d %s", form.status, form.body)
	}
	done := h.signIn(browser, form, testUser, testPassword)
	if q := done.url.Query(); q.Get("state") != "posted" {
		t.Fatalf("ended at %s", done.url)
	}
	if reply := h.exchange(done.url.Query().Get("code"), verifier); reply.status != http.StatusOK {
		t.Errorf("exchange: %d %v", reply.status, reply.body)
	}
}
