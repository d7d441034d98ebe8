package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/fhir"
)

func TestNotFoundAndMethodNotAllowedFormats(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/api/v1/me", func(c *gin.Context) { c.Status(http.StatusOK) })
	s.Engine().GET("/fhir/:network/metadata", func(c *gin.Context) { c.Status(http.StatusOK) })

	tests := []struct {
		name, method, path string
		status             int
		fhir               bool
		allow              string
	}{
		{"API 404", http.MethodGet, "/api/v1/nope", http.StatusNotFound, false, ""},
		{"root 404", http.MethodGet, "/", http.StatusNotFound, false, ""},
		{"trailing slash is not redirected", http.MethodGet, "/api/v1/me/", http.StatusNotFound, false, ""},
		{"FHIR 404", http.MethodGet, "/fhir/acme/Nope/1", http.StatusNotFound, true, ""},
		{"FHIR root 404", http.MethodGet, "/fhir", http.StatusNotFound, true, ""},
		{"not FHIR, just similar", http.MethodGet, "/fhirish", http.StatusNotFound, false, ""},
		{"API 405", http.MethodPost, "/api/v1/me", http.StatusMethodNotAllowed, false, "GET"},
		{"FHIR 405", http.MethodDelete, "/fhir/acme/metadata", http.StatusMethodNotAllowed, true, "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(s, tt.method, tt.path, http.Header{RequestIDHeader: {"rid"}})
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if tt.fhir {
				checkOutcome(t, rec.Header().Get("Content-Type"), rec.Body.Bytes(), issueType(tt.status))
				return
			}
			var p Problem
			decodeJSON(t, rec, &p)
			want := Problem{
				Type: "about:blank", Title: http.StatusText(tt.status), Status: tt.status,
				Detail: p.Detail, Instance: tt.path, RequestID: "rid",
			}
			if p != want || p.Detail == "" {
				t.Errorf("problem = %+v, want %+v with a detail", p, want)
			}
			if got := rec.Header().Get("Content-Type"); got != problemContentType {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
}

func checkOutcome(t *testing.T, contentType string, body []byte, code string) {
	t.Helper()
	if contentType != fhirJSON {
		t.Errorf("Content-Type = %q, want %q", contentType, fhirJSON)
	}
	var oo fhir.OperationOutcome
	if err := json.Unmarshal(body, &oo); err != nil {
		t.Fatalf("OperationOutcome: %v: %s", err, body)
	}
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Code != code || oo.Issue[0].Diagnostics == "" {
		t.Errorf("OperationOutcome = %+v, want one issue with code %q and diagnostics", oo, code)
	}
}

func TestWriteProblemKeepsGivenFields(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	given := Problem{
		Type:     "https://portalgate.example/problems/consent-required",
		Title:    "Consent required",
		Status:   http.StatusForbidden,
		Detail:   "the patient has not consented to sharing with this org",
		Instance: "/api/v1/links/abc",
	}
	s.Engine().POST("/api/v1/links", func(c *gin.Context) {
		WriteProblem(c, given)
		c.Status(http.StatusOK) // aborted: must not change the answer
	}, func(c *gin.Context) { t.Error("handler after WriteProblem ran") })

	rec := serve(s, http.MethodPost, "/api/v1/links", http.Header{RequestIDHeader: {"r-9"}})
	var got Problem
	decodeJSON(t, rec, &got)
	want := given
	want.RequestID = "r-9"
	if rec.Code != http.StatusForbidden || got != want {
		t.Errorf("got %d %+v, want 403 %+v", rec.Code, got, want)
	}
}

func TestWriteProblemZeroStatusIs500(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/api/v1/x", func(c *gin.Context) { WriteProblem(c, Problem{}) })
	rec := serve(s, http.MethodGet, "/api/v1/x", nil)
	var got Problem
	decodeJSON(t, rec, &got)
	if rec.Code != 500 || got.Status != 500 || got.Title != "Internal Server Error" {
		t.Errorf("got %d %+v", rec.Code, got)
	}
}

func TestIssueType(t *testing.T) {
	tests := map[int]string{
		400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
		409: "conflict", 410: "deleted", 412: "conflict", 413: "too-costly", 415: "not-supported",
		418: "processing", 422: "invalid", 429: "throttled", 500: "exception", 501: "not-supported",
		502: "transient", 503: "transient", 504: "timeout", 599: "exception",
	}
	for status, want := range tests {
		if got := issueType(status); got != want {
			t.Errorf("issueType(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestOutcomeSeverity(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/fhir/:network/:type", func(c *gin.Context) {
		status := http.StatusBadRequest
		if c.Param("type") == "fail" {
			status = http.StatusBadGateway
		}
		WriteError(c, status, "x")
	})
	for path, want := range map[string]string{"/fhir/n/bad": "error", "/fhir/n/fail": "fatal"} {
		var oo fhir.OperationOutcome
		decodeJSON(t, serve(s, http.MethodGet, path, nil), &oo)
		if len(oo.Issue) != 1 || oo.Issue[0].Severity != want {
			t.Errorf("%s: outcome %+v, want severity %q", path, oo, want)
		}
	}
}

// FuzzUnmatchedPath checks that any path a client sends is answered with a
// well-formed 404 in its surface's format.
func FuzzUnmatchedPath(f *testing.F) {
	for _, seed := range []string{"/", "/fhir", "/fhir/", "/fhir/a/b?c", "/api/v1/x", "//x", "/\xff\xfe", "/fhir/\"<>"} {
		f.Add(seed)
	}
	s, _ := newTestServer(f, Options{})
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL = &url.URL{Path: path}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", rec.Code)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body is not JSON: %v: %q", err, rec.Body)
		}
		if isFHIRPath(path) != (body["resourceType"] == "OperationOutcome") {
			t.Fatalf("path %q answered with %s", path, rec.Body)
		}
	})
}
