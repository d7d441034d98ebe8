package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// newBenchServer returns a server with the full middleware chain, logging
// JSON to io.Discard as production would log to stdout, and a trivial
// route below it.
func newBenchServer(b *testing.B) *Server {
	s, _ := newTestServer(b, Options{Logger: slog.New(NewJSONHandler(io.Discard, slog.LevelInfo)), TLS: true})
	s.Engine().GET("/fhir/:network/Patient/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	return s
}

// BenchmarkMiddlewareChain measures what every request pays before its
// handler runs: request id, recover, security headers, access log and
// metrics.
func BenchmarkMiddlewareChain(b *testing.B) {
	s := newBenchServer(b)
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "/fhir/acme/Patient/123", nil)
	w := discardWriter{header: make(http.Header, 16)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkMiddlewareChainParallel shows contention across cores on the
// shared metrics and logger.
func BenchmarkMiddlewareChainParallel(b *testing.B) {
	s := newBenchServer(b)
	h := s.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/fhir/acme/Patient/123", nil)
		w := discardWriter{header: make(http.Header, 16)}
		for pb.Next() {
			clear(w.header)
			h.ServeHTTP(w, req)
		}
	})
}
