package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/store/storetest"
)

// gatewayFor serves the two sign-in routes of a gateway on e.svc, as the
// HTTP layer will: /auth/login keeps the binding in a cookie and redirects
// to the provider; /auth/callback finishes the login and redirects to the
// page the user came from, which says who is signed in.
func gatewayFor(e *env) *httptest.Server {
	const bindingCookie = "portalgate_login"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/login", func(w http.ResponseWriter, r *http.Request) {
		login, err := e.svc.StartLogin(r.Context(), r.URL.Query().Get("network"), r.URL.Query().Get("returnTo"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: bindingCookie, Value: login.Binding, Path: "/auth/callback",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
		http.Redirect(w, r, login.AuthURL, http.StatusFound)
	})
	mux.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) {
		binding, _ := r.Cookie(bindingCookie)
		if binding == nil {
			binding = &http.Cookie{}
		}
		id, err := e.svc.FinishLogin(r.Context(), r.URL.Query().Get("state"), r.URL.Query().Get("code"), binding.Value)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "who", Value: id.Subject, Path: "/"})
		http.Redirect(w, r, id.ReturnTo, http.StatusFound)
	})
	mux.HandleFunc("GET /records", func(w http.ResponseWriter, r *http.Request) {
		who, err := r.Cookie("who")
		if err != nil {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "records of %s", who.Value)
	})
	gw := httptest.NewServer(mux)
	e.t.Cleanup(gw.Close)
	for _, n := range e.networks {
		n.Identity.RedirectURL = gw.URL + "/auth/callback"
	}
	return gw
}

func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func TestBrowserSignsInEndToEnd(t *testing.T) {
	e := newEnv(t)
	gw := gatewayFor(e)
	resp, err := newBrowser(t).Get(gw.URL + "/auth/login?network=lakeside&returnTo=" + url.QueryEscape("/records"))
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || body != "records of patient-42" {
		t.Fatalf("browser ended at %s with %s: %q", resp.Request.URL, resp.Status, body)
	}
	if resp.Request.URL.Path != "/records" {
		t.Errorf("returned to %s, want /records", resp.Request.URL.Path)
	}
}

func TestCallbackInAnotherBrowserIsRefused(t *testing.T) {
	e := newEnv(t)
	gw := gatewayFor(e)
	// The victim's browser starts a login; the attacker gets the callback
	// URL (from a log, a referrer, or by starting the login himself).
	victim := newBrowser(t)
	victim.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := victim.Get(gw.URL + "/auth/login?network=lakeside")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.Contains(callback, "/auth/callback?") {
		t.Fatalf("no callback: %s", callback)
	}
	resp, err = newBrowser(t).Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	msg := readAll(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(msg, "another browser") {
		t.Fatalf("callback in another browser: %s %q", resp.Status, msg)
	}
}

func TestAuthorizationRequest(t *testing.T) {
	e := newEnv(t)
	login, err := e.svc.StartLogin(t.Context(), "lakeside", "/records?tab=labs")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(login.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             "portalgate-lakeside",
		"redirect_uri":          "https://gateway.example/auth/callback",
		"scope":                 "openid profile email",
		"code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Scheme+"://"+u.Host+u.Path != e.op.issuer+"/authorize" {
		t.Errorf("AuthURL goes to %s", u.Path)
	}
	state, nonce, challenge := q.Get("state"), q.Get("nonce"), q.Get("code_challenge")
	for name, v := range map[string]string{"state": state, "nonce": nonce, "code_challenge": challenge, "binding": login.Binding} {
		if b, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(b) != 32 {
			t.Errorf("%s %q is not 256 bits of base64url", name, v)
		}
	}
	if state == nonce || state == login.Binding || nonce == login.Binding {
		t.Error("state, nonce and binding repeat each other")
	}
	if !login.Expires.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("Expires = %v, want ten minutes on", login.Expires)
	}

	// The store holds the login under the state's hash, and neither the
	// state nor the binding themselves.
	sum := sha256.Sum256([]byte(state))
	var keys []string
	must(t, e.kv.Scan(t.Context(), "", func(k string, v []byte) error {
		keys = append(keys, k)
		for _, secret := range []string{state, login.Binding} {
			if strings.Contains(k, secret) || strings.Contains(string(v), secret) {
				t.Errorf("a secret is stored in clear under %s", k)
			}
		}
		return nil
	}))
	if want := []string{"login/" + hex.EncodeToString(sum[:])}; !slices.Equal(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
}

func TestFinishLogin(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(op *fakeOP) {
		op.claims["amr"] = []string{"pwd", "otp"}
		op.claims["email_verified"] = "true" // as a string, like some providers
	})
	login, state, code := e.start("northwind")
	id, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding)
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Identity{
		Network: "northwind", Issuer: e.op.issuer, Subject: "patient-42", Name: "Ada Lovelace",
		Email: "ada@example.org", EmailVerified: true, AMR: []string{"pwd", "otp"}, ACR: "urn:loa:1",
		AuthTime: t0, ReturnTo: "/records",
	}
	got := *id
	if got.IDToken == "" || strings.Count(got.IDToken, ".") != 2 {
		t.Errorf("IDToken = %q, want the raw JWT", got.IDToken)
	}
	got.IDToken = ""
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("identity\n got %+v\nwant %+v", got, want)
	}
}

func TestNameFromGivenAndFamily(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(op *fakeOP) {
		delete(op.claims, "name")
		delete(op.claims, "auth_time")
		op.claims["given_name"], op.claims["family_name"] = "Grace", "Hopper"
		op.claims["email_verified"] = false
	})
	login, state, code := e.start("lakeside")
	id, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding)
	if err != nil {
		t.Fatal(err)
	}
	if id.Name != "Grace Hopper" || id.EmailVerified {
		t.Errorf("name %q, email verified %v", id.Name, id.EmailVerified)
	}
}

// TestRefusals walks every way an ID token or a callback can be wrong.
func TestRefusals(t *testing.T) {
	rogue := &jose.JSONWebKey{}
	tests := []struct {
		name    string
		network string
		setup   func(e *env)
		// at is when the callback arrives, after t0.
		at      time.Duration
		wantErr error
		// wantMsg is part of the error's text, which must say why.
		wantMsg string
	}{
		{name: "accepted", network: "lakeside"},
		{name: "wrong audience", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "audience",
			setup: mutate(func(c map[string]any) { c["aud"] = "someone-else" })},
		{name: "several audiences without azp", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "azp",
			setup: mutate(func(c map[string]any) { c["aud"] = []string{"portalgate-lakeside", "other"} })},
		{name: "several audiences with our azp", network: "lakeside",
			setup: mutate(func(c map[string]any) {
				c["aud"], c["azp"] = []string{"portalgate-lakeside", "other"}, "portalgate-lakeside"
			})},
		{name: "azp of another party", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "azp",
			setup: mutate(func(c map[string]any) { c["azp"] = "other" })},
		{name: "wrong issuer", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "issued by a different provider",
			setup: mutate(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{name: "wrong nonce", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "nonce",
			setup: mutate(func(c map[string]any) { c["nonce"] = "replayed-from-another-login" })},
		{name: "no nonce", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "nonce",
			setup: mutate(func(c map[string]any) { delete(c, "nonce") })},
		{name: "a second before expiry", network: "lakeside", at: time.Minute - time.Second,
			setup: mutate(func(c map[string]any) { c["exp"] = t0.Add(time.Minute).Unix() })},
		{name: "at expiry", network: "lakeside", at: time.Minute, wantErr: identity.ErrTokenRejected, wantMsg: "expired",
			setup: mutate(func(c map[string]any) { c["exp"] = t0.Add(time.Minute).Unix() })},
		{name: "past expiry", network: "lakeside", at: time.Minute + time.Second, wantErr: identity.ErrTokenRejected, wantMsg: "expired",
			setup: mutate(func(c map[string]any) { c["exp"] = t0.Add(time.Minute).Unix() })},
		{name: "no subject", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "subject",
			setup: mutate(func(c map[string]any) { delete(c, "sub") })},
		{name: "at_hash of another access token", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "access token",
			setup: mutate(func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })},
		{name: "malformed amr", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "claims",
			setup: mutate(func(c map[string]any) { c["amr"] = 7 })},
		{name: "signed by an unknown key", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "signature",
			setup: func(e *env) {
				*rogue = *e.op.newKey("rogue")
				e.op.set(func(op *fakeOP) { op.signing = rogue })
			}},
		{name: "signed by another key under a known kid", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "signature",
			setup: func(e *env) {
				*rogue = *e.op.newKey("k1")
				e.op.set(func(op *fakeOP) { op.signing = rogue })
			}},
		{name: "unsigned (alg none)", network: "lakeside", wantErr: identity.ErrTokenRejected,
			setup: func(e *env) { e.op.set(func(op *fakeOP) { op.rawIDToken = unsigned }) }},
		{name: "HMAC with the client secret", network: "lakeside", wantErr: identity.ErrTokenRejected,
			setup: func(e *env) {
				e.op.set(func(op *fakeOP) {
					op.rawIDToken = func(c map[string]any) string {
						return sign(t, &jose.JSONWebKey{Key: []byte("lakeside-oidc-secret-padded-to-32b"), KeyID: "k1", Algorithm: string(jose.HS256)}, c)
					}
				})
			}},
		{name: "no ID token", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "no ID token",
			setup: func(e *env) { e.op.set(func(op *fakeOP) { op.omitIDToken = true }) }},
		{name: "provider refuses the code", network: "lakeside", wantErr: identity.ErrTokenRejected, wantMsg: "refused",
			setup: func(e *env) { e.op.set(func(op *fakeOP) { op.tokenStatus = http.StatusBadRequest }) }},
		{name: "token endpoint fails", network: "lakeside", wantErr: identity.ErrProviderUnavailable, wantMsg: "503",
			setup: func(e *env) { e.op.set(func(op *fakeOP) { op.tokenStatus = http.StatusServiceUnavailable }) }},
		{name: "key set unreachable", network: "lakeside", wantErr: identity.ErrProviderUnavailable, wantMsg: "signing keys",
			setup: func(e *env) { e.op.set(func(op *fakeOP) { op.jwksDown = true }) }},
		{name: "two-step network, password only", network: "northwind", wantErr: identity.ErrAuthContext,
			wantMsg: "this network requires two-step verification (amr one of [otp mfa]); the provider reported amr [pwd]"},
		{name: "two-step network, no amr", network: "northwind", wantErr: identity.ErrAuthContext,
			wantMsg: "the provider reported amr []", setup: mutate(func(c map[string]any) { delete(c, "amr") })},
		{name: "two-step network, otp", network: "northwind",
			setup: mutate(func(c map[string]any) { c["amr"] = []string{"pwd", "otp"} })},
		{name: "acr too low", network: "harbor", wantErr: identity.ErrAuthContext,
			wantMsg: `authentication level (acr) of one of [urn:loa:2]; the provider reported acr "urn:loa:1"`},
		{name: "acr high enough", network: "harbor",
			setup: mutate(func(c map[string]any) { c["acr"] = "urn:loa:2" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			login, state, code := e.start(tt.network)
			if tt.setup != nil {
				tt.setup(e)
			}
			e.clock.Set(t0.Add(tt.at))
			id, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if id.Subject != "patient-42" {
					t.Fatalf("subject %q", id.Subject)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			for _, secret := range []string{state, code, login.Binding} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds a secret", err)
				}
			}
			// The failure names the login's network, and who signed in once the ID
			// token was verified.
			var failed *identity.LoginError
			if !errors.As(err, &failed) || failed.Network != tt.network {
				t.Errorf("err = %#v, want a *LoginError of network %s", err, tt.network)
			} else if verified := tt.wantErr == identity.ErrAuthContext; verified != (failed.Subject == "patient-42" && failed.Issuer == e.op.issuer) ||
				!verified && (failed.Subject != "" || failed.Issuer != "") {
				t.Errorf("login error names issuer %q subject %q", failed.Issuer, failed.Subject)
			}
			// Whatever went wrong, the login is spent.
			if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); !errors.Is(err, identity.ErrLoginExpired) {
				t.Errorf("second try: %v, want ErrLoginExpired", err)
			}
		})
	}
}

func mutate(f func(claims map[string]any)) func(e *env) {
	return func(e *env) { e.op.set(func(op *fakeOP) { op.mutate = f }) }
}

// unsigned builds a JWT with "alg": "none" and no signature.
func unsigned(claims map[string]any) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload, _ := json.Marshal(claims)
	return header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}

func TestCallbackRefusals(t *testing.T) {
	t.Run("replayed state", func(t *testing.T) {
		e := newEnv(t)
		login, state, code := e.start("lakeside")
		if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); !errors.Is(err, identity.ErrLoginExpired) {
			t.Fatalf("replay: %v, want ErrLoginExpired", err)
		}
	})
	t.Run("mismatched binding spends the login", func(t *testing.T) {
		e := newEnv(t)
		login, state, code := e.start("lakeside")
		for _, binding := range []string{"", "forged", login.Binding + "x"} {
			_, err := e.svc.FinishLogin(t.Context(), state, code, binding)
			if !errors.Is(err, identity.ErrBindingMismatch) && !errors.Is(err, identity.ErrLoginExpired) {
				t.Fatalf("binding %q: %v", binding, err)
			}
		}
		if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); !errors.Is(err, identity.ErrLoginExpired) {
			t.Fatalf("after a mismatch: %v, want ErrLoginExpired", err)
		}
		if n := e.op.tokenHits.Load(); n != 0 {
			t.Errorf("the code was exchanged %d times for a mismatched binding", n)
		}
	})
	t.Run("first mismatch", func(t *testing.T) {
		e := newEnv(t)
		_, state, code := e.start("lakeside")
		if _, err := e.svc.FinishLogin(t.Context(), state, code, "forged"); !errors.Is(err, identity.ErrBindingMismatch) {
			t.Fatalf("%v, want ErrBindingMismatch", err)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		e := newEnv(t)
		login, _, code := e.start("lakeside")
		for _, state := range []string{"", "made-up", strings.Repeat("x", 5000)} {
			if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); !errors.Is(err, identity.ErrLoginExpired) {
				t.Errorf("state of %d bytes: %v", len(state), err)
			}
		}
	})
	t.Run("no code", func(t *testing.T) {
		e := newEnv(t)
		login, state, _ := e.start("lakeside")
		if _, err := e.svc.FinishLogin(t.Context(), state, "", login.Binding); !errors.Is(err, identity.ErrTokenRejected) {
			t.Errorf("%v, want ErrTokenRejected", err)
		}
	})
	t.Run("network removed meanwhile", func(t *testing.T) {
		e := newEnv(t)
		login, state, code := e.start("lakeside")
		delete(e.networks, "lakeside")
		if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); !errors.Is(err, identity.ErrUnknownNetwork) {
			t.Errorf("%v, want ErrUnknownNetwork", err)
		}
	})
}

// loginNetwork returns the network a failed login names, "" when none.
func loginNetwork(err error) string {
	var failed *identity.LoginError
	if errors.As(err, &failed) {
		return failed.Network
	}
	return ""
}

func TestFailuresNameTheLoginsNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	login, state, code := e.start("northwind")
	_, err := e.svc.FinishLogin(ctx, state, code, "forged")
	if !errors.Is(err, identity.ErrBindingMismatch) || loginNetwork(err) != "northwind" {
		t.Errorf("forged binding: %v in network %q", err, loginNetwork(err))
	}
	if err.Error() != identity.ErrBindingMismatch.Error() {
		t.Errorf("message %q, want the wrapped error's", err)
	}
	// A replay is still filed under the login's network.
	_, err = e.svc.FinishLogin(ctx, state, code, login.Binding)
	if !errors.Is(err, identity.ErrLoginExpired) || loginNetwork(err) != "northwind" {
		t.Errorf("replay: %v in network %q", err, loginNetwork(err))
	}

	login, state, code = e.start("harbor")
	e.clock.Set(t0.Add(identity.DefaultLoginTTL))
	_, err = e.svc.FinishLogin(ctx, state, code, login.Binding)
	if !errors.Is(err, identity.ErrLoginExpired) || loginNetwork(err) != "harbor" {
		t.Errorf("expired: %v in network %q", err, loginNetwork(err))
	}

	// A state that never named a login names no network.
	_, err = e.svc.FinishLogin(ctx, "made-up", code, login.Binding)
	if !errors.Is(err, identity.ErrLoginExpired) || loginNetwork(err) != "" {
		t.Errorf("unknown state: %v in network %q", err, loginNetwork(err))
	}
}

func TestAbandonLogin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	login, state, code := e.start("harbor")
	network, err := e.svc.AbandonLogin(ctx, state)
	if err != nil || network != "harbor" {
		t.Fatalf("AbandonLogin = %q, %v; want harbor", network, err)
	}
	// Abandoned is spent: it can be neither finished nor abandoned again.
	if _, err := e.svc.FinishLogin(ctx, state, code, login.Binding); !errors.Is(err, identity.ErrLoginExpired) || loginNetwork(err) != "harbor" {
		t.Errorf("finishing an abandoned login: %v in network %q", err, loginNetwork(err))
	}
	if network, err := e.svc.AbandonLogin(ctx, state); !errors.Is(err, identity.ErrLoginExpired) || network != "" || loginNetwork(err) != "harbor" {
		t.Errorf("abandoning twice: %q, %v", network, err)
	}
	if n := e.op.tokenHits.Load(); n != 0 {
		t.Errorf("an abandoned login exchanged its code %d times", n)
	}
	for _, state := range []string{"", "made-up"} {
		if network, err := e.svc.AbandonLogin(ctx, state); !errors.Is(err, identity.ErrLoginExpired) || network != "" || loginNetwork(err) != "" {
			t.Errorf("AbandonLogin(%q) = %q, %v; want ErrLoginExpired naming no network", state, network, err)
		}
	}
}

func TestLoginLifetime(t *testing.T) {
	for _, tt := range []struct {
		at   time.Duration
		want error
	}{
		{at: 10*time.Minute - time.Nanosecond},
		{at: 10 * time.Minute, want: identity.ErrLoginExpired},
		{at: time.Hour, want: identity.ErrLoginExpired},
	} {
		t.Run(tt.at.String(), func(t *testing.T) {
			e := newEnv(t)
			login, state, code := e.start("lakeside")
			e.clock.Set(t0.Add(tt.at))
			_, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding)
			if !errors.Is(err, tt.want) {
				t.Fatalf("callback at +%v: %v, want %v", tt.at, err, tt.want)
			}
		})
	}
}

func TestConcurrentCallbacksOneWins(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			c := &clock{now: t0}
			e := newEnvOn(t, eng.Open(t, c.Now), c)
			login, state, code := e.start("lakeside")
			const callers = 8
			var wg sync.WaitGroup
			results := make(chan error, callers)
			for range callers {
				wg.Go(func() {
					_, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding)
					results <- err
				})
			}
			wg.Wait()
			close(results)
			wins := 0
			for err := range results {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, identity.ErrLoginExpired):
					t.Errorf("unexpected: %v", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d callbacks of one login succeeded, want 1", wins)
			}
		})
	}
}

func TestUnknownNetwork(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.StartLogin(t.Context(), "nowhere", "/"); !errors.Is(err, identity.ErrUnknownNetwork) {
		t.Fatalf("%v, want ErrUnknownNetwork", err)
	}
	if _, ok := e.svc.EndSessionURL(t.Context(), "nowhere", "", ""); ok {
		t.Error("an unknown network has an end-session URL")
	}
}

func TestStartLoginRefusesOpenRedirects(t *testing.T) {
	e := newEnv(t)
	for _, returnTo := range []string{
		"https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
		"javascript:alert(1)", "evil.example/records", "/records\r\nSet-Cookie: x=1", "/%zz",
	} {
		if _, err := e.svc.StartLogin(t.Context(), "lakeside", returnTo); !errors.Is(err, identity.ErrInvalidReturnTo) {
			t.Errorf("returnTo %q: %v, want ErrInvalidReturnTo", returnTo, err)
		}
	}
	if n := e.op.discoveryHits.Load(); n != 0 {
		t.Errorf("refused logins reached the provider %d times", n)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	login, state, code := e.start("lakeside")
	if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
		t.Fatal(err)
	}
	fetches := e.op.jwksHits.Load()

	// The provider rotates: a new key under a new kid, the old one retired.
	k2 := e.op.newKey("k2")
	e.op.set(func(op *fakeOP) { op.published, op.signing = []*jose.JSONWebKey{k2}, k2 })
	login, state, code = e.start("lakeside")
	if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
		t.Fatalf("token under the rotated key: %v", err)
	}
	if got := e.op.jwksHits.Load(); got != fetches+1 {
		t.Errorf("key set fetched %d times for the rotation, want once", got-fetches)
	}
	// Later logins use the cached new key.
	login, state, code = e.start("lakeside")
	if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
		t.Fatal(err)
	}
	if got := e.op.jwksHits.Load(); got != fetches+1 {
		t.Errorf("key set refetched without a rotation")
	}
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(op *fakeOP) { op.discoveryDown = true })
	if n := e.op.discoveryHits.Load(); n != 0 {
		t.Fatalf("building the service made %d discovery calls", n)
	}
	_, err := e.svc.StartLogin(t.Context(), "lakeside", "/")
	if !errors.Is(err, identity.ErrProviderUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("provider down: %v, want ErrProviderUnavailable with the cause", err)
	}
	if _, ok := e.svc.EndSessionURL(t.Context(), "lakeside", "", ""); ok {
		t.Error("end-session URL without discovery")
	}

	e.op.set(func(op *fakeOP) { op.discoveryDown = false })
	login, state, code := e.start("lakeside")
	if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
		t.Fatal(err)
	}
	hits := e.op.discoveryHits.Load()
	e.start("northwind") // same issuer: cached
	if got := e.op.discoveryHits.Load(); got != hits {
		t.Errorf("discovery repeated after success: %d more calls", got-hits)
	}
}

func TestConcurrentLoginsDiscoverOnce(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := e.svc.StartLogin(t.Context(), "lakeside", "/"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.op.discoveryHits.Load(); n != 1 {
		t.Errorf("%d discovery calls, want 1", n)
	}
}

func TestDiscoveryHasADeadline(t *testing.T) {
	e := newEnv(t)
	e.op.set(func(op *fakeOP) { op.discoveryHangs = true })
	svc := e.newService(identity.Options{CallTimeout: 50 * time.Millisecond})
	_, err := svc.StartLogin(t.Context(), "lakeside", "/")
	if !errors.Is(err, identity.ErrProviderUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging discovery: %v, want ErrProviderUnavailable wrapping the deadline", err)
	}
}

func TestWaitingForDiscoveryEndsWithTheCaller(t *testing.T) {
	e := newEnv(t)
	var once sync.Once
	entered := make(chan struct{})
	e.op.set(func(op *fakeOP) {
		op.discoveryHangs = true
		op.onDiscovery = func() { once.Do(func() { close(entered) }) }
	})
	svc := e.newService(identity.Options{CallTimeout: 300 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = svc.StartLogin(t.Context(), "lakeside", "/") })
	<-entered // the first caller now holds the discovery
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := svc.StartLogin(ctx, "lakeside", "/")
	if !errors.Is(err, identity.ErrProviderUnavailable) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "waiting for discovery") {
		t.Errorf("second caller: %v, want it to stop waiting at its own deadline", err)
	}
	wg.Wait()
	if n := e.op.discoveryHits.Load(); n != 1 {
		t.Errorf("%d discovery requests, want 1", n)
	}
}

func TestUnreachableProvider(t *testing.T) {
	e := newEnv(t)
	e.networks["lakeside"].Identity.Issuer = "http://127.0.0.1:1/idp"
	if _, err := e.svc.StartLogin(t.Context(), "lakeside", "/"); !errors.Is(err, identity.ErrProviderUnavailable) {
		t.Fatalf("%v, want ErrProviderUnavailable", err)
	}
}

func TestClientAuthentication(t *testing.T) {
	for _, tt := range []struct {
		name    string
		methods []string
		public  bool
		want    string
	}{
		{name: "default is basic", want: "basic"},
		{name: "basic listed", methods: []string{"client_secret_post", "client_secret_basic"}, want: "basic"},
		{name: "post only", methods: []string{"client_secret_post"}, want: "post"},
		{name: "public client", methods: []string{"none"}, public: true, want: "post"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.op.set(func(op *fakeOP) { op.authMethods = tt.methods })
			if tt.public {
				e.networks["lakeside"].Identity.ClientSecret = ""
				e.op.clients["portalgate-lakeside"] = ""
			}
			login, state, code := e.start("lakeside")
			if _, err := e.svc.FinishLogin(t.Context(), state, code, login.Binding); err != nil {
				t.Fatal(err)
			}
			e.op.set(func(op *fakeOP) {
				if op.lastClientAuth != tt.want {
					t.Errorf("client authenticated by %s, want %s", op.lastClientAuth, tt.want)
				}
			})
			if n := e.op.tokenHits.Load(); n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
		})
	}
}

func TestEndSessionURL(t *testing.T) {
	e := newEnv(t)
	got, ok := e.svc.EndSessionURL(t.Context(), "lakeside", "the.id.token", "https://gateway.example/signed-out")
	if !ok {
		t.Fatal("no end-session URL")
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != e.op.issuer+"/end_session" || q.Get("ui") != "plain" ||
		q.Get("id_token_hint") != "the.id.token" || q.Get("client_id") != "portalgate-lakeside" ||
		q.Get("post_logout_redirect_uri") != "https://gateway.example/signed-out" {
		t.Errorf("end-session URL %s", got)
	}
	bare, ok := e.svc.EndSessionURL(t.Context(), "lakeside", "", "")
	if !ok || strings.Contains(bare, "id_token_hint") || strings.Contains(bare, "post_logout") {
		t.Errorf("without hint or redirect: %s", bare)
	}

	other := newEnv(t)
	other.op.set(func(op *fakeOP) { op.noEndSession = true })
	if got, ok := other.svc.EndSessionURL(t.Context(), "lakeside", "hint", ""); ok {
		t.Errorf("provider without logout endpoint gave %s", got)
	}
}

func TestNewServiceNeedsItsParts(t *testing.T) {
	if _, err := identity.NewService(identity.Options{}); err == nil {
		t.Error("built without a lookup or a store")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
