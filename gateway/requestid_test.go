package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"a", true},
		{"3f2b8c1e-7d4a-4c55-9a0e-1b2c3d4e5f60", true},
		{"trace_01.AbC-9", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"has space", false},
		{"new\nline", false},
		{`quote"`, false},
		{"<script>", false},
		{"semi;colon", false},
		{"é", false},
		{"slash/", false},
	}
	for _, tt := range tests {
		if got := validRequestID(tt.id); got != tt.want {
			t.Errorf("validRequestID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestRequestIDMiddleware(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string
		keep     bool
	}{
		{name: "none", incoming: nil, keep: false},
		{name: "safe", incoming: []string{"abc-123_X.y"}, keep: true},
		{name: "too long", incoming: []string{strings.Repeat("a", 65)}, keep: false},
		{name: "unsafe characters", incoming: []string{"abc\x00def"}, keep: false},
		{name: "log injection", incoming: []string{`x","level":"ERROR`}, keep: false},
		{name: "empty", incoming: []string{""}, keep: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := newTestServer(t, Options{})
			var seen string
			s.Engine().GET("/api/v1/ping", func(c *gin.Context) {
				seen = RequestID(c.Request.Context())
				s.Logger().InfoContext(c.Request.Context(), "inside handler")
				c.Status(http.StatusNoContent)
			})
			rec := serve(s, http.MethodGet, "/api/v1/ping", http.Header{RequestIDHeader: tt.incoming})

			got := rec.Header().Get(RequestIDHeader)
			if tt.keep && got != tt.incoming[0] {
				t.Errorf("echoed id = %q, want the incoming %q", got, tt.incoming[0])
			}
			if !tt.keep {
				if len(got) != 32 || !validRequestID(got) {
					t.Errorf("generated id = %q, want 32 hex characters", got)
				}
				if len(tt.incoming) > 0 && got == tt.incoming[0] {
					t.Errorf("unsafe incoming id %q was kept", got)
				}
			}
			if seen != got {
				t.Errorf("id in handler context = %q, response header = %q", seen, got)
			}
			inside := logs.find(t, "inside handler")
			if len(inside) != 1 || inside[0][RequestIDLogKey] != got {
				t.Errorf("handler log records = %v, want one with request_id %q", inside, got)
			}
		})
	}
}

func TestNewRequestIDIsUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := newRequestID()
		if !validRequestID(id) || len(id) != 32 {
			t.Fatalf("newRequestID() = %q, not 32 safe characters", id)
		}
		if seen[id] {
			t.Fatalf("newRequestID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRequestIDFromEmptyContext(t *testing.T) {
	if id := RequestID(t.Context()); id != "" {
		t.Errorf("RequestID(no id) = %q, want empty", id)
	}
	if id := RequestID(ContextWithRequestID(t.Context(), "job-7")); id != "job-7" {
		t.Errorf("RequestID = %q, want job-7", id)
	}
}

// FuzzRequestIDHeader checks that whatever a client sends as X-Request-Id,
// the id the gateway uses is safe, and the client's is kept exactly when
// it is valid.
func FuzzRequestIDHeader(f *testing.F) {
	for _, seed := range []string{"", "abc", "3f2b8c1e-7d4a-4c55-9a0e-1b2c3d4e5f60", "a b", "\xff\xfe", strings.Repeat("z", 65)} {
		f.Add(seed)
	}
	s, _ := newTestServer(f, Options{})
	s.Engine().GET("/ping", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	f.Fuzz(func(t *testing.T, incoming string) {
		rec := serve(s, http.MethodGet, "/ping", http.Header{RequestIDHeader: {incoming}})
		got := rec.Header().Get(RequestIDHeader)
		if !validRequestID(got) {
			t.Fatalf("used id %q is not safe", got)
		}
		if validRequestID(incoming) != (got == incoming) {
			t.Fatalf("incoming %q (valid=%v) but used %q", incoming, validRequestID(incoming), got)
		}
	})
}
