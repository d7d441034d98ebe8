package smartauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/fhir/fhirtest"
)

func TestCodeExchangeMustFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(h *harness, form url.Values, verifier string)
		want string
		why  string // part of error_description
	}{
		{"missing verifier", func(_ *harness, f url.Values, _ string) { f.Del("code_verifier") }, errInvalidGrant, "code_verifier is required"},
		{"blank verifier", func(_ *harness, f url.Values, _ string) { f.Set("code_verifier", strings.Repeat(" ", 43)) }, errInvalidGrant, "43 to 128"},
		{"wrong verifier", func(_ *harness, f url.Values, _ string) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, errInvalidGrant, "does not match the code_challenge"},
		{"verifier equal to the challenge", func(_ *harness, f url.Values, v string) {
			f.Set("code_verifier", oauth2.S256ChallengeFromVerifier(v))
		}, errInvalidGrant, "is the code_challenge"},
		{"verifier too long", func(_ *harness, f url.Values, _ string) { f.Set("code_verifier", strings.Repeat("a", 129)) }, errInvalidGrant, "43 to 128"},
		{"wrong redirect_uri", func(h *harness, f url.Values, _ string) { f.Set("redirect_uri", h.redirect+"/other") }, errInvalidGrant, "redirect_uri does not match"},
		{"missing redirect_uri", func(_ *harness, f url.Values, _ string) { f.Del("redirect_uri") }, errInvalidGrant, "redirect_uri does not match"},
		{"random code", func(_ *harness, f url.Values, _ string) { f.Set("code", newSecret()) }, errInvalidGrant, "not issued by this server"},
		{"missing code", func(_ *harness, f url.Values, _ string) { f.Del("code") }, errInvalidRequest, "code is required"},
		{"code of another client", func(_ *harness, f url.Values, _ string) {
			f.Set("client_id", narrowClient)
		}, errInvalidGrant, "another client"},
		{"expired code", func(h *harness, _ url.Values, _ string) { h.clock.Advance(testCodeLife) }, errInvalidGrant, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			verifier := oauth2.GenerateVerifier()
			code := h.launch(h.oauthConfig(publicClient, patientScopes), verifier, testUser, testPassword)
			form := url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.redirect},
				"client_id": {publicClient}, "code_verifier": {verifier},
			}
			tc.edit(h, form, verifier)
			reply := h.post(pathToken, form)
			wantError(t, reply, http.StatusBadRequest, tc.want)
			if d := reply.str("error_description"); !strings.Contains(d, tc.why) {
				t.Errorf("error_description %q, want it to mention %q", d, tc.why)
			}
		})
	}
}

func TestCodeJustBeforeExpiry(t *testing.T) {
	h := newHarness(t)
	verifier := oauth2.GenerateVerifier()
	code := h.launch(h.oauthConfig(publicClient, patientScopes), verifier, testUser, testPassword)
	h.clock.Advance(testCodeLife - time.Second)
	if reply := h.exchange(code, verifier); reply.status != http.StatusOK {
		t.Errorf("exchange a second before expiry: %d %v", reply.status, reply.body)
	}
}

// TestCodeReuseRevokes: a code presented twice fails the second time and
// takes back everything the first presentation was given.
func TestCodeReuseRevokes(t *testing.T) {
	h := newHarness(t)
	verifier := oauth2.GenerateVerifier()
	code := h.launch(h.oauthConfig(publicClient, patientScopes), verifier, testUser, testPassword)
	first := h.exchange(code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: %d %v", first.status, first.body)
	}
	wantError(t, h.exchange(code, verifier), http.StatusBadRequest, errInvalidGrant)
	if status, _ := h.fhirGet(first.str("access_token")); status != http.StatusUnauthorized {
		t.Errorf("access token from a reused code: status %d, want 401", status)
	}
	refresh := h.post(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}, "client_id": {publicClient}})
	wantError(t, refresh, http.StatusBadRequest, errInvalidGrant)
}

// TestFailedExchangeConsumesCode: a wrong verifier burns the code, so it
// cannot be guessed at.
func TestFailedExchangeConsumesCode(t *testing.T) {
	h := newHarness(t)
	verifier := oauth2.GenerateVerifier()
	code := h.launch(h.oauthConfig(publicClient, patientScopes), verifier, testUser, testPassword)
	wantError(t, h.exchange(code, oauth2.GenerateVerifier()), http.StatusBadRequest, errInvalidGrant)
	wantError(t, h.exchange(code, verifier), http.StatusBadRequest, errInvalidGrant)
}

func TestConfidentialClients(t *testing.T) {
	launch := func(h *harness, clientID string) (code, verifier string) {
		verifier = oauth2.GenerateVerifier()
		return h.launch(h.oauthConfig(clientID, patientScopes), verifier, testUser, testPassword), verifier
	}
	codeForm := func(h *harness, code, verifier string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.redirect}, "code_verifier": {verifier}}
	}

	t.Run("client_secret_basic with x/oauth2", func(t *testing.T) {
		h := newHarness(t)
		conf := h.oauthConfig(secretClient, patientScopes)
		conf.ClientSecret = clientSecret
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		verifier := oauth2.GenerateVerifier()
		tok, err := conf.Exchange(h.ctx(), h.launch(conf, verifier, testUser, testPassword), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if status, a := h.fhirGet(tok.AccessToken); status != http.StatusOK || a.ClientID != secretClient {
			t.Errorf("FHIR read: %d %+v", status, a)
		}
	})
	t.Run("client_secret_post", func(t *testing.T) {
		h := newHarness(t)
		code, verifier := launch(h, secretClient)
		form := codeForm(h, code, verifier)
		form.Set("client_id", secretClient)
		form.Set("client_secret", clientSecret)
		if reply := h.post(pathToken, form); reply.status != http.StatusOK {
			t.Errorf("%d %v", reply.status, reply.body)
		}
	})
	t.Run("private_key_jwt on a patient launch", func(t *testing.T) {
		h := newHarness(t)
		code, verifier := launch(h, asymmetricApp)
		form := codeForm(h, code, verifier)
		form.Set("client_assertion_type", assertionTypeJWTBearer)
		form.Set("client_assertion", h.sign(keyIDRSA, h.assertion(asymmetricApp)))
		if reply := h.post(pathToken, form); reply.status != http.StatusOK || reply.str("patient") != testPatient {
			t.Errorf("%d %v", reply.status, reply.body)
		}
	})

	for _, tc := range []struct {
		name   string
		client string
		edit   func(url.Values) []func(*http.Request)
		status int
		want   string
	}{
		{"wrong Basic secret", secretClient, func(url.Values) []func(*http.Request) {
			return []func(*http.Request){basicAuth(secretClient, "wrong")}
		}, http.StatusUnauthorized, errInvalidClient},
		{"secret of another length", secretClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_id", secretClient)
			f.Set("client_secret", clientSecret+"x")
			return nil
		}, http.StatusUnauthorized, errInvalidClient},
		{"confidential client without credentials", secretClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_id", secretClient)
			return nil
		}, http.StatusUnauthorized, errInvalidClient},
		{"Basic and client_secret both", secretClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_secret", clientSecret)
			return []func(*http.Request){basicAuth(secretClient, clientSecret)}
		}, http.StatusBadRequest, errInvalidRequest},
		{"Basic client differs from client_id", secretClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_id", publicClient)
			return []func(*http.Request){basicAuth(secretClient, clientSecret)}
		}, http.StatusUnauthorized, errInvalidClient},
		{"unknown client", publicClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_id", "nobody")
			return nil
		}, http.StatusUnauthorized, errInvalidClient},
		{"no client at all", publicClient, func(url.Values) []func(*http.Request) { return nil }, http.StatusUnauthorized, errInvalidClient},
		{"public client with a secret", publicClient, func(f url.Values) []func(*http.Request) {
			f.Set("client_id", publicClient)
			f.Set("client_secret", "anything")
			return nil
		}, http.StatusUnauthorized, errInvalidClient},
		{"secret for an asymmetric client", asymmetricApp, func(f url.Values) []func(*http.Request) {
			return []func(*http.Request){basicAuth(asymmetricApp, "")}
		}, http.StatusUnauthorized, errInvalidClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			code, verifier := launch(h, tc.client)
			form := codeForm(h, code, verifier)
			reply := h.post(pathToken, form, tc.edit(form)...)
			wantError(t, reply, tc.status, tc.want)
			if strings.HasPrefix(tc.name, "wrong Basic") && !strings.HasPrefix(reply.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", reply.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestRefreshMustFail(t *testing.T) {
	refreshForm := func(token string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {publicClient}}
	}
	t.Run("random refresh token", func(t *testing.T) {
		h := newHarness(t)
		wantError(t, h.post(pathToken, refreshForm(newSecret())), http.StatusBadRequest, errInvalidGrant)
	})
	t.Run("missing refresh token", func(t *testing.T) {
		h := newHarness(t)
		wantError(t, h.post(pathToken, refreshForm("")), http.StatusBadRequest, errInvalidRequest)
	})
	t.Run("access token as refresh token", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		wantError(t, h.post(pathToken, refreshForm(tokens.str("access_token"))), http.StatusBadRequest, errInvalidGrant)
	})
	t.Run("after revocation", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		if r := h.post(pathRevoke, url.Values{"token": {tokens.str("refresh_token")}, "client_id": {publicClient}}); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %v", r.status, r.body)
		}
		wantError(t, h.post(pathToken, refreshForm(tokens.str("refresh_token"))), http.StatusBadRequest, errInvalidGrant)
		if status, _ := h.fhirGet(tokens.str("access_token")); status != http.StatusUnauthorized {
			t.Errorf("access token after its refresh token was revoked: %d", status)
		}
	})
	t.Run("another client's refresh token", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		form := refreshForm(tokens.str("refresh_token"))
		form.Set("client_id", narrowClient)
		wantError(t, h.post(pathToken, form), http.StatusBadRequest, errInvalidGrant)
		// The refusal did not consume the token.
		if r := h.post(pathToken, refreshForm(tokens.str("refresh_token"))); r.status != http.StatusOK {
			t.Errorf("owner's refresh after a foreign attempt: %d %v", r.status, r.body)
		}
	})
	t.Run("wider scope", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens("launch/patient patient/Observation.rs offline_access")
		form := refreshForm(tokens.str("refresh_token"))
		form.Set("scope", "patient/*.rs")
		wantError(t, h.post(pathToken, form), http.StatusBadRequest, errInvalidScope)
	})
	t.Run("expired refresh token", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		h.clock.Advance(testRefreshLife)
		wantError(t, h.post(pathToken, refreshForm(tokens.str("refresh_token"))), http.StatusBadRequest, errInvalidGrant)
	})
}

func TestRefreshNarrowsScopes(t *testing.T) {
	h := newHarness(t)
	tokens := h.patientTokens(patientScopes)
	h.clock.Advance(testRefreshLife - time.Second) // still valid a second before expiry
	reply := h.post(pathToken, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tokens.str("refresh_token")}, "client_id": {publicClient},
		"scope": {"patient/Observation.rs"},
	})
	if reply.status != http.StatusOK || reply.str("scope") != "patient/Observation.rs" {
		t.Fatalf("narrowing refresh: %d %v", reply.status, reply.body)
	}
	if _, a := h.fhirGet(reply.str("access_token")); strings.Join(a.Scopes, " ") != "patient/Observation.rs" {
		t.Errorf("narrowed access scopes = %v", a.Scopes)
	}
	// The new refresh token still carries the whole original grant.
	wide := h.post(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {reply.str("refresh_token")}, "client_id": {publicClient}})
	if wide.str("scope") != patientScopes {
		t.Errorf("refresh without scope after narrowing: %v", wide.body)
	}
}

func TestAuthenticate(t *testing.T) {
	h := newHarness(t)
	tokens := h.patientTokens(patientScopes)
	access := tokens.str("access_token")
	for _, tc := range []struct {
		name, header string
		advance      time.Duration
		ok           bool
	}{
		{"no header", "", 0, false},
		{"basic scheme", "Basic " + access, 0, false},
		{"empty bearer", "Bearer ", 0, false},
		{"unknown token", "Bearer " + newSecret(), 0, false},
		{"refresh token", "Bearer " + tokens.str("refresh_token"), 0, false},
		{"valid", "Bearer " + access, 0, true},
		{"lower-case scheme", "bearer " + access, 0, true},
		{"a second before expiry", "Bearer " + access, testTokenLife - time.Second, true},
		{"at expiry", "Bearer " + access, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.clock.Advance(tc.advance)
			r := httptest.NewRequest(http.MethodGet, "/Patient", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			a, err := h.auth.Authenticate(r)
			if tc.ok {
				if err != nil || a.Patient != testPatient || a.Subject != testUser || a.ClientID != publicClient {
					t.Errorf("Authenticate = %+v, %v", a, err)
				}
				return
			}
			if !errors.Is(err, fhirtest.ErrUnauthorized) {
				t.Errorf("err = %v, want one wrapping fhirtest.ErrUnauthorized", err)
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	t.Run("access token revokes the grant", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		if r := h.post(pathRevoke, url.Values{"token": {tokens.str("access_token")}, "token_type_hint": {"access_token"}, "client_id": {publicClient}}); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %v", r.status, r.body)
		}
		if status, _ := h.fhirGet(tokens.str("access_token")); status != http.StatusUnauthorized {
			t.Errorf("revoked access token: %d", status)
		}
		refresh := h.post(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.str("refresh_token")}, "client_id": {publicClient}})
		wantError(t, refresh, http.StatusBadRequest, errInvalidGrant)
	})
	t.Run("unknown token is fine", func(t *testing.T) {
		h := newHarness(t)
		if r := h.post(pathRevoke, url.Values{"token": {"nothing"}, "client_id": {publicClient}}); r.status != http.StatusOK {
			t.Errorf("%d %v", r.status, r.body)
		}
	})
	t.Run("another client's token is refused", func(t *testing.T) {
		h := newHarness(t)
		tokens := h.patientTokens(patientScopes)
		r := h.post(pathRevoke, url.Values{"token": {tokens.str("access_token")}, "client_id": {narrowClient}})
		wantError(t, r, http.StatusBadRequest, errUnauthorizedClient)
		if status, _ := h.fhirGet(tokens.str("access_token")); status != http.StatusOK {
			t.Errorf("token revoked by a stranger: %d", status)
		}
	})
	t.Run("client must authenticate", func(t *testing.T) {
		h := newHarness(t)
		wantError(t, h.post(pathRevoke, url.Values{"token": {"x"}}), http.StatusUnauthorized, errInvalidClient)
		wantError(t, h.post(pathRevoke, url.Values{"client_id": {publicClient}}), http.StatusBadRequest, errInvalidRequest)
	})
}

func TestRuntimeRevocationKnobs(t *testing.T) {
	h := newHarness(t)
	amy := h.patientTokens(patientScopes)
	verifier := oauth2.GenerateVerifier()
	bobCode := h.launch(h.oauthConfig(publicClient, patientScopes), verifier, otherUser, otherPassword)
	bob := h.exchange(bobCode, verifier)
	backend := h.post(pathToken, backendForm(backendRSA, h.sign(keyIDRSA, h.assertion(backendRSA))))

	// A code not yet exchanged is revoked too.
	pendingVerifier := oauth2.GenerateVerifier()
	pendingCode := h.launch(h.oauthConfig(publicClient, patientScopes), pendingVerifier, testUser, testPassword)

	if n := h.auth.RevokePatientTokens(testPatient); n != 2 {
		t.Errorf("RevokePatientTokens revoked %d grants, want 2", n)
	}
	if status, _ := h.fhirGet(amy.str("access_token")); status != http.StatusUnauthorized {
		t.Errorf("revoked patient's token: %d", status)
	}
	wantError(t, h.exchange(pendingCode, pendingVerifier), http.StatusBadRequest, errInvalidGrant)
	if status, _ := h.fhirGet(bob.str("access_token")); status != http.StatusOK {
		t.Errorf("other patient's token: %d", status)
	}
	if status, _ := h.fhirGet(backend.str("access_token")); status != http.StatusOK {
		t.Errorf("backend token: %d", status)
	}

	if n := h.auth.RevokeClientTokens(backendRSA); n != 1 {
		t.Errorf("RevokeClientTokens revoked %d grants, want 1", n)
	}
	if status, _ := h.fhirGet(backend.str("access_token")); status != http.StatusUnauthorized {
		t.Errorf("revoked client's token: %d", status)
	}
	if n := h.auth.RevokeClientTokens(backendRSA); n != 0 {
		t.Errorf("second RevokeClientTokens revoked %d, want 0", n)
	}
}

func TestIntrospection(t *testing.T) {
	h := newHarness(t)
	tokens := h.patientTokens(patientScopes)
	introspect := func(token string) tokenReply {
		return h.post(pathIntrospect, url.Values{"token": {token}}, basicAuth(secretClient, clientSecret))
	}

	active := introspect(tokens.str("access_token"))
	want := map[string]any{
		"active": true, "client_id": publicClient, "scope": patientScopes, "sub": testUser,
		"patient": testPatient, "fhirUser": h.base + "/Patient/" + testPatient, "token_type": "Bearer",
		"exp": float64(h.clock.Now().Add(testTokenLife).Unix()), "iat": float64(h.clock.Now().Unix()),
	}
	for k, v := range want {
		if active.body[k] != v {
			t.Errorf("introspection %s = %v, want %v", k, active.body[k], v)
		}
	}
	if r := introspect(tokens.str("refresh_token")); r.body["active"] != true || r.body["token_type"] != nil {
		t.Errorf("refresh token introspection: %v", r.body)
	}

	inactive := func(name, token string) {
		t.Helper()
		r := introspect(token)
		if r.status != http.StatusOK || len(r.body) != 1 || r.body["active"] != false {
			t.Errorf("%s: %d %v, want exactly {\"active\":false}", name, r.status, r.body)
		}
	}
	inactive("unknown token", newSecret())
	h.clock.Advance(testTokenLife)
	inactive("expired token", tokens.str("access_token"))
	h.auth.RevokePatientTokens(testPatient)
	inactive("revoked refresh token", tokens.str("refresh_token"))

	wantError(t, h.post(pathIntrospect, url.Values{"token": {"x"}}), http.StatusUnauthorized, errInvalidClient)
	wantError(t, h.post(pathIntrospect, url.Values{}, basicAuth(secretClient, clientSecret)), http.StatusBadRequest, errInvalidRequest)
}

func TestTokenEndpointRequestErrors(t *testing.T) {
	h := newHarness(t)
	send := func(method, contentType, body string) tokenReply {
		t.Helper()
		req, _ := http.NewRequest(method, h.base+pathToken, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		reply, err := doJSON(h.ehr.Client(), req)
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	const form = "application/x-www-form-urlencoded"
	if r := send(http.MethodGet, "", ""); r.status != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("GET: %d Allow=%q", r.status, r.header.Get("Allow"))
	}
	wantError(t, send(http.MethodPost, "application/json", `{"grant_type":"client_credentials"}`), http.StatusBadRequest, errInvalidRequest)
	wantError(t, send(http.MethodPost, form, "grant_type=authorization_code&grant_type=refresh_token&client_id="+publicClient), http.StatusBadRequest, errInvalidRequest)
	wantError(t, send(http.MethodPost, form, "client_id="+publicClient), http.StatusBadRequest, errInvalidRequest)
	wantError(t, send(http.MethodPost, form, "grant_type=password&client_id="+publicClient), http.StatusBadRequest, errUnsupportedGrantType)
	wantError(t, send(http.MethodPost, form, "grant_type=%zz"), http.StatusBadRequest, errInvalidRequest)
	wantError(t, send(http.MethodPost, form, "grant_type=client_credentials&client_id="+publicClient+"&scope=system/*.rs"), http.StatusBadRequest, errUnauthorizedClient)
	wantError(t, send(http.MethodPost, form, "grant_type=x&pad="+strings.Repeat("a", maxFormBytes)), http.StatusBadRequest, errInvalidRequest)

	if p := h.get(h.ehr.Client(), h.base+"/auth/nothing"); p.status != http.StatusNotFound {
		t.Errorf("unknown auth path: %d", p.status)
	}
}

// TestConcurrentUse exercises the store from many goroutines at once:
// exchanges, FHIR requests, refreshes, revocations. Run with -race.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t)
	const n = 8
	codes, verifiers := make([]string, n), make([]string, n)
	for i := range n {
		verifiers[i] = oauth2.GenerateVerifier()
		codes[i] = h.launch(h.oauthConfig(publicClient, patientScopes), verifiers[i], testUser, testPassword)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens, err := h.tryPost(pathToken, url.Values{
				"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {h.redirect},
				"client_id": {publicClient}, "code_verifier": {verifiers[i]},
			})
			if err != nil || tokens.status != http.StatusOK {
				t.Errorf("exchange: %v %v", err, tokens.body)
				return
			}
			r := httptest.NewRequest(http.MethodGet, "/Patient", nil)
			r.Header.Set("Authorization", "Bearer "+tokens.str("access_token"))
			if _, err := h.auth.Authenticate(r); err != nil {
				t.Errorf("Authenticate: %v", err)
			}
			refreshed, err := h.tryPost(pathToken, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {tokens.str("refresh_token")}, "client_id": {publicClient},
			})
			if err != nil || refreshed.status != http.StatusOK {
				t.Errorf("refresh: %v %v", err, refreshed.body)
			}
			h.auth.RevokeClientTokens(narrowClient)
			h.clock.Advance(time.Millisecond)
		}()
	}
	wg.Wait()
}
