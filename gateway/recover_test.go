package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestRecoverAnswersInTheSurfaceFormat(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		contentType string
	}{
		{"portal API", "/api/v1/boom", "application/problem+json"},
		{"FHIR face", "/fhir/acme/Patient/123", "application/fhir+json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := newTestServer(t, Options{})
			s.Engine().GET(tt.path, func(c *gin.Context) {
				c.Header("Content-Length", "999")
				panic("nil map write in handler")
			})
			rec := serve(s, http.MethodGet, tt.path, http.Header{RequestIDHeader: {"req-1"}})

			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Content-Length"); got == "999" {
				t.Errorf("stale Content-Length %q kept", got)
			}
			var body map[string]any
			decodeJSON(t, rec, &body)
			if strings.Contains(rec.Body.String(), "nil map write") {
				t.Errorf("panic message leaked to the client: %s", rec.Body)
			}
			if tt.contentType == problemContentType && (body["status"] != float64(500) || body["requestId"] != "req-1") {
				t.Errorf("problem = %v, want status 500 and requestId req-1", body)
			}
			if tt.contentType == fhirJSON && body["resourceType"] != "OperationOutcome" {
				t.Errorf("body = %v, want an OperationOutcome", body)
			}

			panics := logs.find(t, "panic serving request")
			if len(panics) != 1 {
				t.Fatalf("panic log records = %d, want 1:\n%s", len(panics), logs)
			}
			p := panics[0]
			if p[RequestIDLogKey] != "req-1" || p["route"] != tt.path || p["panic"] != "nil map write in handler" {
				t.Errorf("panic record = %v", p)
			}
			if stack, _ := p["stack"].(string); !strings.Contains(stack, "recover_test.go") {
				t.Errorf("stack does not show the panicking handler: %q", stack)
			}
			access := logs.find(t, "request")
			if len(access) != 1 || access[0]["status"] != float64(500) {
				t.Errorf("access log = %v, want one record with status 500", access)
			}
		})
	}
}

func TestRecoverAfterPartialWrite(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	s.Engine().GET("/api/v1/stream", func(c *gin.Context) {
		c.String(http.StatusOK, "partial")
		panic(errors.New("late failure"))
	})
	rec := serve(s, http.MethodGet, "/api/v1/stream", nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "partial" {
		t.Errorf("got %d %q, want the partial 200 left as is", rec.Code, rec.Body)
	}
	if len(logs.find(t, "panic serving request")) != 1 {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

func TestRecoverLetsErrAbortHandlerThrough(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/api/v1/abort", func(c *gin.Context) { panic(http.ErrAbortHandler) })
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked for net/http", v)
		}
	}()
	serve(s, http.MethodGet, "/api/v1/abort", nil)
	t.Error("ServeHTTP returned normally")
}

func TestPanicMessageIsBounded(t *testing.T) {
	long := strings.Repeat("p", 10_000)
	if got := panicMessage(long); len(got) > maxPanicLen+len("…") {
		t.Errorf("panicMessage kept %d bytes", len(got))
	}
	if got := panicMessage(errors.New("short")); got != "short" {
		t.Errorf("panicMessage = %q", got)
	}
}
