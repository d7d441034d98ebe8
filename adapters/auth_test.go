package adapters

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
)

func TestBackendServicesPrivateKeyJWT(t *testing.T) {
	cases := []struct {
		name string
		key  any
	}{
		{"RSA key", testRSAKey()},
		{"P-384 key", testECKey()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, upstreamConfig{platform: "epic", clients: []smartauth.Client{
				{ID: testClientID, Backend: true, JWKS: publicJWKS(tc.key, testKeyID)},
			}})
			up.load(t, patient("p1"))
			ep := up.endpoint()
			ep.Auth.Key = privateJWK(tc.key)
			a, _ := up.adapterFor(t, ep, Options{})

			resp, err := a.Read(context.Background(), "Patient", "p1")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(resp.Body), `"p1"`) {
				t.Errorf("read returned %s", resp.Body)
			}
			if n := len(up.requests("/.well-known/smart-configuration")); n != 1 {
				t.Errorf("discovery requests = %d, want 1 (no tokenURL configured)", n)
			}
			if n := len(up.requests("/auth/token")); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
		})
	}
}

func TestConfiguredTokenURLSkipsDiscovery(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart"})
	up.load(t, patient("p1"))
	ep := up.endpoint()
	ep.Auth.TokenURL = up.URL + "/auth/token"
	a, _ := up.adapterFor(t, ep, Options{})
	if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	if n := len(up.requests("/.well-known/smart-configuration")); n != 0 {
		t.Errorf("discovery requests = %d, want 0", n)
	}
}

func TestTokenFetchedOnceForConcurrentSearches(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart"})
	up.load(t, patient("p1"), observation("o1", "p1", "", "laboratory"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})

	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = a.Search(context.Background(), "Observation", values("patient", "p1"))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := len(up.requests("/auth/token")); n != 1 {
		t.Errorf("token requests = %d for 50 concurrent searches, want 1", n)
	}
	if n := len(up.requests("/Observation")); n != 50 {
		t.Errorf("searches = %d, want 50", n)
	}
}

func TestTokenRenewedShortlyBeforeExpiry(t *testing.T) {
	const lifetime = 5 * time.Minute
	up := newUpstream(t, upstreamConfig{platform: "smart", tokenLifetime: lifetime})
	up.load(t, patient("p1"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})
	read := func() {
		t.Helper()
		if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
			t.Fatal(err)
		}
	}
	read()
	renewAt := lifetime - refreshEarly
	up.clock.Advance(renewAt - time.Nanosecond)
	read()
	if n := len(up.requests("/auth/token")); n != 1 {
		t.Fatalf("token requests just before renewal = %d, want 1", n)
	}
	up.clock.Advance(time.Nanosecond)
	read()
	if n := len(up.requests("/auth/token")); n != 2 {
		t.Fatalf("token requests at renewal = %d, want 2", n)
	}
	read()
	if n := len(up.requests("/auth/token")); n != 2 {
		t.Fatalf("token requests after renewal = %d, want 2", n)
	}
}

func TestRevokedTokenReplacedOnce(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart"})
	up.load(t, patient("p1"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})
	ctx := context.Background()
	if _, err := a.Read(ctx, "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	up.auth.RevokeClientTokens(testClientID)
	if _, err := a.Read(ctx, "Patient", "p1"); err != nil {
		t.Fatalf("read after revocation: %v", err)
	}
	if n := len(up.requests("/auth/token")); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	if n := len(up.requests("/Patient/p1")); n != 3 {
		t.Errorf("reads = %d, want 3 (one refused, then retried)", n)
	}
}

func TestClientSecretBasic(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "cerner", clients: []smartauth.Client{
		{ID: testClientID, Backend: true, Secret: testSecret},
	}})
	up.load(t, patient("p1"))
	ep := up.endpoint()
	ep.Auth.Key = nil
	ep.Auth.ClientSecret = testSecret

	a, _ := up.adapterFor(t, ep, Options{})
	if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatal(err)
	}

	ep.Auth.ClientSecret = "wrong-" + testSecret
	up.sent.Reset()
	a, sleeper := up.adapterFor(t, ep, Options{})
	_, err := a.Read(context.Background(), "Patient", "p1")
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *AuthError", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("the error reveals the client secret: %v", err)
	}
	if n := len(up.requests("/auth/token")); n != 1 || len(sleeper.Waits()) != 0 {
		t.Errorf("a refused client was retried: %d token requests, waits %v", n, sleeper.Waits())
	}
}

func TestTokenEndpointDownIsRetried(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart"})
	up.load(t, patient("p1"))
	a, sleeper := up.adapterFor(t, up.endpoint(), Options{})
	if err := up.SetFaults(fhirtest.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	sleeper.onSleep = up.ResetFaults
	if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatalf("read after the token endpoint recovered: %v", err)
	}
	if len(sleeper.Waits()) != 1 {
		t.Errorf("waits = %v, want one retry", sleeper.Waits())
	}
}

func TestPassedTokenSource(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"p1"}`))
	}))
	defer srv.Close()
	ep := Endpoint{Name: "riverbend", BaseURL: srv.URL, Platform: platform(t, "athena"),
		Auth: Auth{Kind: AuthTokenSource, ClientID: "app"}}

	if _, err := New(ep, Options{}); err == nil {
		t.Fatal("a standalone endpoint without a token source was accepted")
	}
	a, err := New(ep, Options{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "patient-token"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer patient-token" {
		t.Errorf("Authorization = %q", gotAuth)
	}
}

func TestAssertionClaims(t *testing.T) {
	now := t0
	for _, key := range []any{testRSAKey(), testECKey()} {
		s, err := newAssertionSigner(Auth{Key: privateJWK(key)}, "RS384")
		if err != nil {
			t.Fatal(err)
		}
		first, err := s.sign("client-1", "https://ehr.example/token", now)
		if err != nil {
			t.Fatal(err)
		}
		second, _ := s.sign("client-1", "https://ehr.example/token", now)

		claims, header := verifyAssertion(t, first, key)
		if claims.Issuer != "client-1" || claims.Subject != "client-1" {
			t.Errorf("iss, sub = %q, %q", claims.Issuer, claims.Subject)
		}
		if !claims.Audience.Contains("https://ehr.example/token") || len(claims.Audience) != 1 {
			t.Errorf("aud = %v", claims.Audience)
		}
		if exp := claims.Expiry.Time(); exp.After(now.Add(5*time.Minute)) || !exp.After(now) {
			t.Errorf("exp = %v, want within five minutes of %v", exp, now)
		}
		if header.KeyID != testKeyID {
			t.Errorf("kid = %q", header.KeyID)
		}
		if other, _ := verifyAssertion(t, second, key); other.ID == claims.ID || claims.ID == "" {
			t.Errorf("jti %q repeated or empty", claims.ID)
		}
	}
}

func verifyAssertion(t *testing.T, assertion string, key any) (jwt.Claims, jose.Header) {
	t.Helper()
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS384, jose.ES384})
	if err != nil {
		t.Fatal(err)
	}
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	}
	var claims jwt.Claims
	if err := tok.Claims(pub, &claims); err != nil {
		t.Fatal(err)
	}
	return claims, tok.Headers[0]
}

func TestPrivateKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(testRSAKey())
	sec1, _ := x509.MarshalECPrivateKey(testECKey())
	cases := []struct {
		name    string
		path    string
		wantAlg string
		wantErr bool
	}{
		{"PKCS #8 RSA", write("rsa8.pem", "PRIVATE KEY", pkcs8), "RS384", false},
		{"PKCS #1 RSA", write("rsa1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSAKey())), "RS384", false},
		{"SEC 1 P-384", write("ec.pem", "EC PRIVATE KEY", sec1), "ES384", false},
		{"certificate", write("cert.pem", "CERTIFICATE", []byte{1, 2, 3}), "", true},
		{"not PEM", filepath.Join(dir, "missing.pem"), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newAssertionSigner(Auth{PrivateKeyFile: tc.path}, "RS384")
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertion, err := s.sign("c", "https://x.example/token", t0)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS384, jose.ES384})
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Headers[0]
			if h.Algorithm != tc.wantAlg {
				t.Errorf("alg = %s, want %s", h.Algorithm, tc.wantAlg)
			}
			if h.KeyID == "" {
				t.Error("no kid: a key without one must be named by its thumbprint")
			}
		})
	}
}

func TestPublicJWKRefused(t *testing.T) {
	public := &jose.JSONWebKey{Key: &testRSAKey().PublicKey, KeyID: "pub"}
	if _, err := newAssertionSigner(Auth{Key: public}, "RS384"); err == nil {
		t.Fatal("a public key was accepted for signing")
	}
}

func TestParseSMARTConfiguration(t *testing.T) {
	cases := []struct {
		body string
		want string // "" means an error
	}{
		{`{"token_endpoint":"https://ehr.example/oauth2/token"}`, "https://ehr.example/oauth2/token"},
		{`{"token_endpoint":"http://127.0.0.1:8080/auth/token"}`, "http://127.0.0.1:8080/auth/token"},
		{`{"token_endpoint":"http://localhost/auth/token"}`, "http://localhost/auth/token"},
		{`{"token_endpoint":"http://ehr.example/token"}`, ""},
		{`{"token_endpoint":"https://user:pw@ehr.example/token"}`, ""},
		{`{"token_endpoint":"/token"}`, ""},
		{`{"token_endpoint":"ftp://ehr.example/token"}`, ""},
		{`{}`, ""},
		{`[]`, ""},
		{`not json`, ""},
	}
	for _, tc := range cases {
		got, err := parseSMARTConfiguration([]byte(tc.body))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: accepted as %q", tc.body, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.body, got, err, tc.want)
		}
	}
}

func TestTokenLifetime(t *testing.T) {
	cases := []struct {
		extra map[string]any
		want  time.Duration
	}{
		{map[string]any{"expires_in": float64(300)}, 5 * time.Minute},
		{map[string]any{"expires_in": "120"}, 2 * time.Minute},
		{map[string]any{"expires_in": float64(0)}, unknownLifetime},
		{map[string]any{"expires_in": float64(-5)}, unknownLifetime},
		{map[string]any{"expires_in": "soon"}, unknownLifetime},
		{map[string]any{}, unknownLifetime},
		{map[string]any{"expires_in": float64(1e12)}, 24 * time.Hour},
	}
	for _, tc := range cases {
		tok := (&oauth2.Token{AccessToken: "x"}).WithExtra(tc.extra)
		if got := tokenLifetime(tok); got != tc.want {
			t.Errorf("expires_in %v: lifetime %v, want %v", tc.extra["expires_in"], got, tc.want)
		}
	}
}

func TestTokenCacheRenewalMargin(t *testing.T) {
	// A token shorter-lived than twice the margin is renewed at half its life.
	clock := newFakeClock()
	fetches := 0
	c := newTokenCache(func(context.Context) (*oauth2.Token, time.Duration, error) {
		fetches++
		return &oauth2.Token{AccessToken: "t"}, 60 * time.Second, nil
	}, clock.Now)
	ctx := context.Background()
	_, _ = c.Token(ctx)
	clock.Advance(30*time.Second - time.Nanosecond)
	_, _ = c.Token(ctx)
	if fetches != 1 {
		t.Fatalf("fetches before half-life = %d", fetches)
	}
	clock.Advance(time.Nanosecond)
	_, _ = c.Token(ctx)
	if fetches != 2 {
		t.Fatalf("fetches at half-life = %d", fetches)
	}
}

func TestTokenWaitBoundedByContext(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	c := newTokenCache(func(ctx context.Context) (*oauth2.Token, time.Duration, error) {
		close(started)
		<-release
		return &oauth2.Token{AccessToken: "t"}, time.Minute, nil
	}, time.Now)
	go func() { _, _ = c.Token(context.Background()) }()
	<-started // the first caller now holds the fetch
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter whose context ended got %v", err)
	}
	close(release)
}

func FuzzParseSMARTConfiguration(f *testing.F) {
	f.Add([]byte(`{"token_endpoint":"https://ehr.example/oauth2/token"}`))
	f.Add([]byte(`{"token_endpoint":"http://127.0.0.1/t"}`))
	f.Add([]byte(`{"token_endpoint":"http://[::1]:80/t#x"}`))
	f.Add([]byte(`{"token_endpoint":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseSMARTConfiguration(body)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "https://") && !strings.HasPrefix(got, "http://") {
			t.Fatalf("accepted %q", got)
		}
	})
}
