package gateway

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// accessLogMiddleware logs one line per request. It names the route
// template, never the raw path, query string or bodies: those may carry
// patient identifiers or clinical data. The request id comes from the
// context through the server's logger.
func (s *Server) accessLogMiddleware(c *gin.Context) {
	ctx := c.Request.Context()
	handler := s.logger.Handler()
	if !handler.Enabled(ctx, slog.LevelInfo) {
		c.Next()
		return
	}
	start := s.now()
	completed := false
	// Deferred so that a request whose handler panics is logged too.
	defer func() {
		end := s.now()
		// Built by hand: Logger.LogAttrs would also capture the caller's
		// source position and read the clock again, on every request.
		r := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		r.AddAttrs(
			slog.String("method", methodLabel(c.Request.Method)),
			slog.String("route", routeLabel(c.FullPath())),
			slog.Int("status", responseStatus(c, completed)),
			slog.Float64("duration_ms", float64(end.Sub(start).Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
		)
		_ = handler.Handle(ctx, r)
	}()
	c.Next()
	completed = true
}

// responseStatus is the status the client gets. When the chain below did
// not complete (a panic is unwinding) and nothing was written yet, the
// recover middleware is about to answer 500.
func responseStatus(c *gin.Context, completed bool) int {
	if !completed && !c.Writer.Written() {
		return http.StatusInternalServerError
	}
	return c.Writer.Status()
}

// routeLabel names the matched route template, or "unmatched" for 404s
// and 405s, whose raw path must not become a log field or metric label.
func routeLabel(fullPath string) string {
	if fullPath == "" {
		return "unmatched"
	}
	return fullPath
}

// methodLabel bounds the method to the standard ones so that a client
// cannot mint new log values or metric series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	}
	return "OTHER"
}
