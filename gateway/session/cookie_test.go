package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/session"
)

const tok = "q2Vx3YrFh0m1rQw8dN4uLk9sZ7tB6cP5aJ2gH1eW0yU"

func TestCookie(t *testing.T) {
	tests := []struct {
		name   string
		secure bool
		maxAge time.Duration
		want   string
	}{
		{"https", true, 12 * time.Hour, "__Host-portalgate=" + tok + "; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax"},
		{"http", false, 12 * time.Hour, "portalgate_session=" + tok + "; Path=/; Max-Age=43200; HttpOnly; SameSite=Lax"},
		{"browser session", true, 0, "__Host-portalgate=" + tok + "; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{"part of a second rounds up", false, 1500 * time.Millisecond, "portalgate_session=" + tok + "; Path=/; Max-Age=2; HttpOnly; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := session.Cookie(tok, tt.secure, tt.maxAge)
			if got := c.String(); got != tt.want {
				t.Errorf("cookie\n got %s\nwant %s", got, tt.want)
			}
			if c.Domain != "" {
				t.Errorf("Domain = %q; a __Host- cookie has none", c.Domain)
			}
		})
	}
}

func TestClearCookie(t *testing.T) {
	for _, secure := range []bool{true, false} {
		c := session.ClearCookie(secure)
		if c.Name != session.CookieName(secure) || c.Value != "" || c.MaxAge >= 0 || c.Secure != secure || c.Path != "/" {
			t.Errorf("ClearCookie(%v) = %s", secure, c)
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name       string
		auth       string
		cookie     *http.Cookie
		secure     bool
		want       string
		fromCookie bool
	}{
		{name: "nothing", secure: true},
		{name: "bearer", auth: "Bearer " + tok, want: tok},
		{name: "scheme is case-insensitive", auth: "bEaReR " + tok, want: tok},
		{name: "extra spaces", auth: "Bearer   " + tok, want: tok},
		{name: "padding allowed", auth: "Bearer abc==", want: "abc=="},
		{name: "secure cookie", cookie: &http.Cookie{Name: "__Host-portalgate", Value: tok}, secure: true, want: tok, fromCookie: true},
		{name: "plain cookie", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}, want: tok, fromCookie: true},
		{name: "bearer wins over cookie", auth: "Bearer other", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}, want: "other"},
		{name: "other scheme falls to cookie", auth: "Basic dXNlcjpwYXNz", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}, want: tok, fromCookie: true},
		{name: "malformed bearer never falls back", auth: "Bearer a b", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}},
		{name: "empty bearer", auth: "Bearer ", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}},
		{name: "bearer without space", auth: "Bearer" + tok},
		{name: "https ignores the plain cookie", cookie: &http.Cookie{Name: "portalgate_session", Value: tok}, secure: true},
		{name: "http ignores the __Host- cookie", cookie: &http.Cookie{Name: "__Host-portalgate", Value: tok}},
		{name: "junk cookie", cookie: &http.Cookie{Name: "portalgate_session", Value: "a,b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.cookie != nil {
				r.AddCookie(tt.cookie)
			}
			got, fromCookie := session.TokenFromRequest(r, tt.secure)
			if got != tt.want || fromCookie != tt.fromCookie {
				t.Errorf("TokenFromRequest = %q, %v; want %q, %v", got, fromCookie, tt.want, tt.fromCookie)
			}
		})
	}
}

func FuzzTokenFromRequest(f *testing.F) {
	f.Add("Bearer "+tok, "portalgate_session="+tok, false)
	f.Add("bearer  abc==", "__Host-portalgate=x", true)
	f.Add("Basic Zm9v", "__Host-portalgate="+tok+"; portalgate_session=y", true)
	f.Add("Bearer", "", false)
	f.Add("Bearer \x00", "portalgate_session=\"quoted\"", false)
	f.Fuzz(func(t *testing.T, auth, cookies string, secure bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("Cookie", cookies)
		got, fromCookie := session.TokenFromRequest(r, secure)
		for _, c := range got {
			if c <= ' ' || c >= 0x7f || strings.ContainsRune(",;\"\\", c) {
				t.Fatalf("token %q holds %q", got, c)
			}
		}
		if fromCookie && got == "" {
			t.Fatal("an empty token came from a cookie")
		}
		scheme, _, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "bearer") && fromCookie {
			t.Fatalf("Authorization %q was overridden by a cookie", auth)
		}
		if fromCookie && !strings.Contains(cookies, session.CookieName(secure)+"=") {
			t.Fatalf("token from a cookie of the wrong name in %q", cookies)
		}
	})
}
