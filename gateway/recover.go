package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// maxPanicLen keeps a panic message from dragging a large value, which
// might hold patient data, into the logs.
const maxPanicLen = 256

// recoverMiddleware turns a panic below it into a 500 in the format of the
// request's surface, and logs the panic with the request id and stack but
// never the request or response body.
func (s *Server) recoverMiddleware(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			// The handler asked net/http to drop the connection quietly.
			panic(v)
		}
		s.logger.LogAttrs(c.Request.Context(), slog.LevelError, "panic serving request",
			slog.String("method", methodLabel(c.Request.Method)),
			slog.String("route", routeLabel(c.FullPath())),
			slog.String("panic", panicMessage(v)),
			slog.String("stack", string(debug.Stack())),
		)
		if c.Writer.Written() {
			// Part of the response is out; the client sees it cut short.
			c.Abort()
			return
		}
		// Headers describing the body the handler meant to send no longer hold.
		h := c.Writer.Header()
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		WriteError(c, http.StatusInternalServerError, "internal server error")
	}()
	c.Next()
}

func panicMessage(v any) string {
	msg := fmt.Sprint(v)
	if len(msg) > maxPanicLen {
		msg = msg[:maxPanicLen] + "…"
	}
	return msg
}
