package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	rec := serve(s, http.MethodGet, "/healthz", nil)
	if rec.Code != http.StatusOK || rec.Body.String() != `{"status":"ok"}` {
		t.Errorf("GET /healthz = %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if head := serve(s, http.MethodHead, "/healthz", nil); head.Code != http.StatusOK {
		t.Errorf("HEAD /healthz = %d", head.Code)
	}
}

func TestReadyzBeforeAndAfterStartUp(t *testing.T) {
	s, logs := newTestServer(t, Options{})
	var storeErr error
	s.AddReadyCheck("store", func(ctx context.Context) error { return storeErr })
	s.AddReadyCheck("cache", func(ctx context.Context) error { return nil })

	tests := []struct {
		name    string
		setup   func()
		status  int
		report  readinessReport
		logsErr bool
	}{
		{"before start-up", func() {}, http.StatusServiceUnavailable, readinessReport{Status: "not_ready"}, false},
		{"ready", func() { s.SetReady(true) }, http.StatusOK, readinessReport{Status: "ok"}, false},
		{"failing check", func() { storeErr = errors.New("dial redis-0.internal:6379: refused") },
			http.StatusServiceUnavailable, readinessReport{Status: "unavailable", Failing: []string{"store"}}, true},
		{"recovered", func() { storeErr = nil }, http.StatusOK, readinessReport{Status: "ok"}, false},
		{"shutting down", func() { s.SetReady(false) }, http.StatusServiceUnavailable, readinessReport{Status: "not_ready"}, false},
	}
	for _, tt := range tests {
		tt.setup()
		before := len(logs.find(t, "ready check failed"))
		rec := serve(s, http.MethodGet, "/readyz", nil)
		var got readinessReport
		decodeJSON(t, rec, &got)
		if rec.Code != tt.status || got.Status != tt.report.Status || !slices.Equal(got.Failing, tt.report.Failing) {
			t.Errorf("%s: GET /readyz = %d %+v, want %d %+v", tt.name, rec.Code, got, tt.status, tt.report)
		}
		if strings.Contains(rec.Body.String(), "redis-0.internal") {
			t.Errorf("%s: check error leaked to the client: %s", tt.name, rec.Body)
		}
		if logged := len(logs.find(t, "ready check failed")) > before; logged != tt.logsErr {
			t.Errorf("%s: failure logged = %v, want %v", tt.name, logged, tt.logsErr)
		}
	}
}

func TestReadyzChecksHaveDeadlines(t *testing.T) {
	const timeout = 50 * time.Millisecond
	s, _ := newTestServer(t, Options{ReadyCheckTimeout: timeout})
	s.SetReady(true)

	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	s.AddReadyCheck("deadline-aware", func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return nil
	})
	s.AddReadyCheck("ignores-deadline", func(ctx context.Context) error {
		<-stuck
		return nil
	})
	s.AddReadyCheck("honours-deadline", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})

	rec := serve(s, http.MethodGet, "/readyz", nil)
	var got readinessReport
	decodeJSON(t, rec, &got)
	want := []string{"ignores-deadline", "honours-deadline"}
	if rec.Code != http.StatusServiceUnavailable || !slices.Equal(got.Failing, want) {
		t.Errorf("GET /readyz = %d %+v, want 503 failing %v", rec.Code, got, want)
	}
}

func TestAddReadyCheckMisuse(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.AddReadyCheck("store", func(context.Context) error { return nil })
	tests := map[string]func(){
		"empty name": func() { s.AddReadyCheck("", func(context.Context) error { return nil }) },
		"nil check":  func() { s.AddReadyCheck("x", nil) },
		"duplicate":  func() { s.AddReadyCheck("store", func(context.Context) error { return nil }) },
	}
	for name, f := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
