package gateway

import (
	"log/slog"
	"strings"
	"testing"
)

func TestJSONHandlerLevel(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(NewJSONHandler(logs, slog.LevelInfo))
	logger.Debug("hidden")
	logger.Info("shown", "n", 1)
	recs := logs.records(t)
	if len(recs) != 1 || recs[0]["msg"] != "shown" || recs[0]["n"] != float64(1) {
		t.Errorf("records = %v, want only the info one", recs)
	}
}

func TestWithRequestID(t *testing.T) {
	logs := &logBuffer{}
	logger := slog.New(WithRequestID(WithRequestID(NewJSONHandler(logs, slog.LevelInfo))))
	ctx := ContextWithRequestID(t.Context(), "rid-42")

	logger.InfoContext(ctx, "with id")
	logger.InfoContext(t.Context(), "without id")
	logger.With("component", "sync").InfoContext(ctx, "with attrs")
	logger.WithGroup("upstream").InfoContext(ctx, "in group", "org", "acme")

	recs := logs.records(t)
	if len(recs) != 4 {
		t.Fatalf("records = %d, want 4", len(recs))
	}
	if recs[0][RequestIDLogKey] != "rid-42" {
		t.Errorf("record with id = %v", recs[0])
	}
	if _, ok := recs[1][RequestIDLogKey]; ok {
		t.Errorf("record without id = %v", recs[1])
	}
	if recs[2][RequestIDLogKey] != "rid-42" || recs[2]["component"] != "sync" {
		t.Errorf("record after With = %v", recs[2])
	}
	group, _ := recs[3]["upstream"].(map[string]any)
	if group[RequestIDLogKey] != "rid-42" || group["org"] != "acme" {
		t.Errorf("record after WithGroup = %v", recs[3])
	}
	if n := strings.Count(logs.String(), `"`+RequestIDLogKey+`"`); n != 3 {
		t.Errorf("request_id appears %d times in the output, want 3 (wrapping twice adds it once)", n)
	}
}
