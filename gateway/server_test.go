package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRejectsBadTrustedProxy(t *testing.T) {
	_, err := New(Options{TrustedProxies: []string{"10.0.0.0/8", "not-an-ip"}})
	if err == nil || !strings.Contains(err.Error(), "trusted proxies") {
		t.Errorf("New = %v, want a trusted proxies error", err)
	}
}

func TestNewRejectsSharedRegistryTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Registry: reg}); err != nil {
		t.Fatalf("first New: %v", err)
	}
	if _, err := New(Options{Registry: reg}); err == nil {
		t.Error("second New on the same registry succeeded, want a registration error")
	}
}

func TestGinRunsInReleaseMode(t *testing.T) {
	newTestServer(t, Options{})
	if gin.Mode() != gin.ReleaseMode {
		t.Errorf("gin mode = %q, want release", gin.Mode())
	}
}

func TestClientIPHonoursTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		want    string
	}{
		{"no proxy trusted", nil, "192.0.2.10"},
		{"proxy trusted", []string{"192.0.2.0/24"}, "203.0.113.7"},
	}
	for _, tt := range tests {
		s, _ := newTestServer(t, Options{TrustedProxies: tt.trusted})
		var got string
		s.Engine().GET("/ip", func(c *gin.Context) { got = c.ClientIP() })
		req, _ := http.NewRequest(http.MethodGet, "/ip", nil)
		req.RemoteAddr = "192.0.2.10:5555"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		s.Handler().ServeHTTP(discardWriter{header: http.Header{}}, req)
		if got != tt.want {
			t.Errorf("%s: ClientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMountStripsPrefix(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	echo := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.Method+" "+r.URL.Path+" "+r.URL.RawQuery+" "+r.RequestURI)
		})
	}
	s.Mount("/sandbox/epic/fhir/", echo("epic"))
	s.Mount("/sandbox/cerner/fhir", echo("cerner"))
	s.Mount("/sandbox/idp", echo("idp"))
	s.Engine().GET("/sandbox/other", func(c *gin.Context) { c.String(http.StatusOK, "route") })

	tests := []struct{ method, target, want string }{
		{http.MethodGet, "/sandbox/epic/fhir/Patient/1?_count=5", "epic GET /Patient/1 _count=5 /sandbox/epic/fhir/Patient/1?_count=5"},
		{http.MethodPost, "/sandbox/cerner/fhir/", "cerner POST /  /sandbox/cerner/fhir/"},
		{http.MethodGet, "/sandbox/cerner/fhir?_getpages=abc", "cerner GET / _getpages=abc /sandbox/cerner/fhir?_getpages=abc"},
		{http.MethodGet, "/sandbox/idp/authorize", "idp GET /authorize  /sandbox/idp/authorize"},
		{http.MethodGet, "/sandbox/other", "route"},
	}
	for _, tt := range tests {
		rec := serve(s, tt.method, tt.target, nil)
		if rec.Code != http.StatusOK || rec.Body.String() != tt.want {
			t.Errorf("%s %s = %d %q, want %q", tt.method, tt.target, rec.Code, rec.Body, tt.want)
		}
	}
	if strings.Contains(logs.String(), "Patient/1") {
		t.Errorf("mounted request path logged:\n%s", logs)
	}
	if recs := logs.find(t, "request"); len(recs) == 0 || recs[0]["route"] != "/sandbox/epic/fhir/*rest" {
		t.Errorf("mounted route logged as %v, want its template", recs)
	}
}

func TestMountRejectsBadPrefix(t *testing.T) {
	for _, prefix := range []string{"sandbox", "/sandbox/:org/fhir", "/files/*all", "/nil-handler"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mount(%q) did not panic", prefix)
				}
			}()
			s, _ := newTestServer(t, Options{})
			var h http.Handler = http.NotFoundHandler()
			if prefix == "/nil-handler" {
				h = nil
			}
			s.Mount(prefix, h)
		}()
	}
}

// discardWriter is a ResponseWriter that keeps nothing but headers, so
// that benchmarks measure the gateway rather than the recorder.
type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header         { return w.header }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}
