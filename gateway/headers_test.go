package gateway

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Pragma":                  "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
	}
	const hstsValue = "max-age=63072000; includeSubDomains"

	requests := []struct {
		name, method, path string
		status             int
	}{
		{"2xx", http.MethodGet, "/api/v1/ok", http.StatusOK},
		{"4xx from handler", http.MethodGet, "/api/v1/bad", http.StatusBadRequest},
		{"404", http.MethodGet, "/nowhere", http.StatusNotFound},
		{"405", http.MethodDelete, "/api/v1/ok", http.StatusMethodNotAllowed},
		{"5xx from panic", http.MethodGet, "/fhir/acme/boom", http.StatusInternalServerError},
		{"mounted handler", http.MethodGet, "/sandbox/idp/login", http.StatusTeapot},
	}
	for _, tls := range []bool{false, true} {
		s, _ := newTestServer(t, Options{TLS: tls})
		s.Engine().GET("/api/v1/ok", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
		s.Engine().GET("/api/v1/bad", func(c *gin.Context) { WriteError(c, http.StatusBadRequest, "bad date") })
		s.Engine().GET("/fhir/acme/boom", func(c *gin.Context) { panic("boom") })
		s.Mount("/sandbox/idp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}))
		for _, r := range requests {
			rec := serve(s, r.method, r.path, nil)
			if rec.Code != r.status {
				t.Errorf("tls=%v %s: status = %d, want %d", tls, r.name, rec.Code, r.status)
			}
			for k, v := range want {
				if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("tls=%v %s: %s = %q, want %q", tls, r.name, k, got, v)
				}
			}
			gotHSTS := rec.Header().Get("Strict-Transport-Security")
			if tls && gotHSTS != hstsValue {
				t.Errorf("tls=%v %s: HSTS = %q, want %q", tls, r.name, gotHSTS, hstsValue)
			}
			if !tls && gotHSTS != "" {
				t.Errorf("tls=%v %s: HSTS %q sent without TLS", tls, r.name, gotHSTS)
			}
		}
	}
}

// A handler serving HTML may replace the API policy, and doing so must not
// leak into other responses through the shared header values.
func TestSecurityHeadersCanBeOverridden(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/sandbox/page", func(c *gin.Context) {
		c.Header("Content-Security-Policy", "default-src 'self'")
		c.Writer.Header().Add("Cache-Control", "private")
		c.Status(http.StatusOK)
	})
	s.Engine().GET("/api/v1/ok", func(c *gin.Context) { c.Status(http.StatusOK) })

	page := serve(s, http.MethodGet, "/sandbox/page", nil)
	if got := page.Header().Get("Content-Security-Policy"); got != "default-src 'self'" {
		t.Errorf("overridden CSP = %q", got)
	}
	api := serve(s, http.MethodGet, "/api/v1/ok", nil)
	if got := api.Header().Get("Content-Security-Policy"); got != apiCSP[0] {
		t.Errorf("CSP after an override = %q, want the API policy", got)
	}
	if got := api.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control after an Add elsewhere = %q, want [no-store]", got)
	}
}
