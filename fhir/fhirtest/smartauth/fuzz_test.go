package smartauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portalgate/portalgate/fhir/fhirtest"
)

const (
	fuzzBase     = "https://ehr.example/fhir"
	fuzzRedirect = "https://app.example/cb"
)

// fuzzServer is a server with one client of each kind, served in-process.
func fuzzServer(t testing.TB) *Server {
	rsaKey, _ := testKeys(t)
	keys := &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: keyIDRSA}}}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return New(Config{
		Clients: []Client{
			{ID: publicClient, Public: true, RedirectURIs: []string{fuzzRedirect}},
			{ID: secretClient, Secret: clientSecret, RedirectURIs: []string{fuzzRedirect}},
			{ID: backendRSA, Backend: true, JWKS: keys},
		},
		Users: []User{{Username: testUser, Password: testPassword, Patient: testPatient}},
		Clock: func() time.Time { return now },
	})
}

func serveFuzz(s *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeAuth(w, r.WithContext(fhirtest.WithBaseURL(r.Context(), fuzzBase)))
	return w
}

// FuzzTokenEndpoint feeds arbitrary forms and credentials to the token
// endpoint: every answer must be a well-formed OAuth reply, never a panic.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "", "grant_type=authorization_code&code=abc&client_id="+publicClient+"&code_verifier=x")
	f.Add("application/x-www-form-urlencoded", "Basic cG9ydGFsOnMzY3JldA==", "grant_type=refresh_token&refresh_token=r")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "", "grant_type=client_credentials&client_assertion_type="+
		url.QueryEscape(assertionTypeJWTBearer)+"&client_assertion=e30.e30.sig&scope=system%2F*.rs")
	f.Add("application/x-www-form-urlencoded", "Basic %%%", "grant_type=%zz&&&=")
	f.Add("text/plain", "Bearer x", "{}")
	s := fuzzServer(f)
	errorCodes := map[string]bool{
		errInvalidRequest: true, errInvalidClient: true, errInvalidGrant: true, errInvalidScope: true,
		errUnauthorizedClient: true, errUnsupportedGrantType: true,
	}
	f.Fuzz(func(t *testing.T, contentType, authorization, body string) {
		r := httptest.NewRequest(http.MethodPost, pathToken, strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Authorization", authorization)
		w := serveFuzz(s, r)
		var reply map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
			t.Fatalf("status %d, body not JSON: %q", w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusOK:
			if reply["access_token"] == nil {
				t.Fatalf("200 without access_token: %v", reply)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if code, _ := reply["error"].(string); !errorCodes[code] || (code == errInvalidClient) != (w.Code == http.StatusUnauthorized) {
				t.Fatalf("status %d with error %v", w.Code, reply)
			}
		default:
			t.Fatalf("status %d: %v", w.Code, reply)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("reply may be cached")
		}
	})
}

// FuzzClientAssertion feeds arbitrary strings to the private_key_jwt
// verifier. Only the seed signed with the registered key may pass.
func FuzzClientAssertion(f *testing.F) {
	rsaKey, _ := testKeys(f)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	valid := signWith(f, jose.RS384, jose.JSONWebKey{Key: rsaKey, KeyID: keyIDRSA}, jwt.Claims{
		Issuer: backendRSA, Subject: backendRSA, Audience: jwt.Audience{fuzzBase + pathToken},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: "seed",
	})
	f.Add(valid)
	f.Add(valid[:len(valid)-4] + "AAAA")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, assertion string) {
		s := fuzzServer(t) // fresh, so the valid seed is never a replay
		c, err := s.verifyAssertion(context.Background(), assertion, fuzzBase+pathToken)
		if err == nil && (assertion != valid || c.ID != backendRSA) {
			t.Fatalf("accepted %q as %v", assertion, c)
		}
	})
}

// FuzzAuthorize feeds arbitrary authorization requests: the answer is a
// sign-in page, a redirect to the registered URI, or an error page, never
// a redirect anywhere else.
func FuzzAuthorize(f *testing.F) {
	f.Add("response_type=code&client_id=" + publicClient + "&redirect_uri=" + url.QueryEscape(fuzzRedirect) +
		"&scope=launch%2Fpatient&state=s&aud=" + url.QueryEscape(fuzzBase) +
		"&code_challenge_method=S256&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
	f.Add("client_id=" + publicClient + "&redirect_uri=" + url.QueryEscape(fuzzRedirect) + "&aud=x")
	f.Add("client_id=" + publicClient + "&redirect_uri=https://evil.example/")
	f.Add("%zz")
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery = pathAuthorize, query
		w := serveFuzz(s, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("status %d without an HTML page", w.Code)
			}
		case http.StatusSeeOther:
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if loc.Scheme+"://"+loc.Host+loc.Path != fuzzRedirect || loc.Query().Get("error") == "" {
				t.Fatalf("redirected to %s", loc)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}
