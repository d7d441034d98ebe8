package idp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/gateway/sandbox/idp"
)

const fuzzIssuer = "http://127.0.0.1:8080/sandbox/idp"

func newFuzzProvider(f *testing.F) *idp.Provider {
	f.Helper()
	p, err := idp.New(idp.Config{
		Issuer: fuzzIssuer,
		Users:  []idp.User{alex},
		Clients: []idp.Client{{
			ID: clientID, Secret: clientSecret,
			RedirectURIs: []string{"http://127.0.0.1:8080" + callbackPath},
		}},
	})
	if err != nil {
		f.Fatal(err)
	}
	return p
}

func validAuthorizeQuery() url.Values {
	return url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {"http://127.0.0.1:8080" + callbackPath},
		"response_type":         {"code"},
		"scope":                 {"openid profile email"},
		"state":                 {"s"},
		"nonce":                 {"n"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
}

// FuzzAuthorize checks that no authorization request, however malformed,
// makes the provider fail or redirect anywhere but the registered URI.
func FuzzAuthorize(f *testing.F) {
	h := newFuzzProvider(f).Handler()
	f.Add(validAuthorizeQuery().Encode())
	f.Add("client_id=portal&response_type=code")
	f.Add("scope=openid&prompt=none%20login&max_age=-1&request=x.y.z")
	f.Add("%zz&;&&=")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/authorize", nil)
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, rawQuery)
		}
		if loc := rec.Header().Get("Location"); loc != "" &&
			!strings.HasPrefix(loc, "http://127.0.0.1:8080"+callbackPath+"?") &&
			!strings.HasPrefix(loc, fuzzIssuer+"/login?") {
			t.Fatalf("redirected to %q for %q", loc, rawQuery)
		}
	})
}

// FuzzSubmitLogin posts arbitrary sign-in forms: the answer is a redirect
// to the library, the form again (401) or a refusal (400), never a failure.
func FuzzSubmitLogin(f *testing.F) {
	h := newFuzzProvider(f).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+validAuthorizeQuery().Encode(), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Query().Get("request") == "" {
		f.Fatalf("authorize: status %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
	id := loc.Query().Get("request")
	f.Add(url.Values{"request": {id}, "username": {alex.Username}, "password": {alex.Password}}.Encode())
	f.Add(url.Values{"request": {id}, "username": {alex.Username}, "password": {"wrong"}}.Encode())
	f.Add("request=" + id + "&username=%ff%fe&password=%00")
	f.Add("request=&username=&password=")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusSeeOther:
			if !strings.HasPrefix(rec.Header().Get("Location"), fuzzIssuer+"/authorize/callback?id=") {
				t.Fatalf("redirected to %q", rec.Header().Get("Location"))
			}
		case http.StatusUnauthorized, http.StatusBadRequest:
			if !strings.HasPrefix(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
				t.Fatalf("page without its policy: %q", rec.Header().Get("Content-Security-Policy"))
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
