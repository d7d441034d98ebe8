package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestAccessLogNamesTheRouteNeverThePath(t *testing.T) {
	clock := newFakeClock()
	s, logs := newTestServer(t, Options{Now: clock.Now})
	s.Engine().GET("/fhir/:network/Patient/:id", func(c *gin.Context) {
		clock.Advance(1500 * time.Microsecond)
		c.String(http.StatusOK, "0123456789")
	})

	const secret = "Smith"
	serve(s, http.MethodGet, "/fhir/acme/Patient/pat-8731?name="+secret+"&birthdate=1970-01-01",
		http.Header{RequestIDHeader: {"rid-1"}})

	out := logs.String()
	for _, leaked := range []string{"pat-8731", secret, "birthdate", "1970-01-01", "?"} {
		if strings.Contains(out, leaked) {
			t.Errorf("log output contains %q:\n%s", leaked, out)
		}
	}
	recs := logs.find(t, "request")
	if len(recs) != 1 {
		t.Fatalf("access log records = %d, want 1:\n%s", len(recs), out)
	}
	want := map[string]any{
		"level":         "INFO",
		"method":        "GET",
		"route":         "/fhir/:network/Patient/:id",
		"status":        float64(200),
		"bytes":         float64(10),
		"duration_ms":   1.5,
		RequestIDLogKey: "rid-1",
	}
	for k, v := range want {
		if recs[0][k] != v {
			t.Errorf("access log %s = %v, want %v", k, recs[0][k], v)
		}
	}
}

func TestAccessLogUnmatchedAndOddRequests(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	s.Engine().GET("/api/v1/me", func(c *gin.Context) { c.Status(http.StatusOK) })

	serve(s, http.MethodGet, "/api/v1/patients/MRN-0042?ssn=123-45-6789", nil)
	serve(s, "PROPFIND", "/api/v1/me", nil)

	out := logs.String()
	for _, leaked := range []string{"MRN-0042", "123-45-6789", "PROPFIND"} {
		if strings.Contains(out, leaked) {
			t.Errorf("log output contains %q:\n%s", leaked, out)
		}
	}
	recs := logs.find(t, "request")
	if len(recs) != 2 {
		t.Fatalf("access log records = %d, want 2", len(recs))
	}
	if recs[0]["route"] != "unmatched" || recs[0]["status"] != float64(404) {
		t.Errorf("404 record = %v", recs[0])
	}
	if recs[1]["method"] != "OTHER" {
		t.Errorf("odd method logged as %v, want OTHER", recs[1]["method"])
	}
}

func TestAccessLogRespectsLevel(t *testing.T) {
	logs := &logBuffer{}
	s, _ := newTestServer(t, Options{Logger: slogJSON(logs, "WARN")})
	s.Engine().GET("/api/v1/me", func(c *gin.Context) { c.Status(http.StatusOK) })
	serve(s, http.MethodGet, "/api/v1/me", nil)
	if out := logs.String(); out != "" {
		t.Errorf("info access log written at warn level: %s", out)
	}
}
