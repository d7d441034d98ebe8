package gateway

import (
	"context"
	"io"
	"log/slog"
)

// RequestIDLogKey is the log attribute holding the request id.
const RequestIDLogKey = "request_id"

// NewJSONHandler returns a slog handler writing one JSON object per record
// to w, dropping records below level. Wrap it with WithRequestID.
func NewJSONHandler(w io.Writer, level slog.Leveler) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
}

// WithRequestID wraps h so that every record logged with a context that
// carries a request id gets it as the request_id attribute. Wrapping
// twice adds it once.
func WithRequestID(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ next slog.Handler }

func (h requestIDHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String(RequestIDLogKey, id))
	}
	return h.next.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.next.WithAttrs(attrs)}
}

// WithGroup nests later attributes, the request id included, in the group.
func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.next.WithGroup(name)}
}
