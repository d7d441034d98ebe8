package gateway

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/session"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
)

// idempotencyHarness routes POST /write through the idempotency middleware
// to a handler that counts its runs and answers what the test says.
type idempotencyHarness struct {
	engine *gin.Engine
	store  *boltstore.Store
	runs   atomic.Int32
	answer func(c *gin.Context)
}

func newIdempotencyHarness(t *testing.T) *idempotencyHarness {
	t.Helper()
	st, err := boltstore.Open(boltstore.Options{Path: t.TempDir() + "/idem.db"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &idempotencyHarness{store: st}
	srv, _ := newTestServer(t, Options{}) // with the gateway's recover middleware
	ph := &portalHandlers{Portal: Portal{Idempotency: st}, logger: srv.logger}
	h.answer = func(c *gin.Context) { c.JSON(http.StatusCreated, gin.H{"code": "SECRET-CODE-12345"}) }
	h.engine = srv.Engine()
	h.engine.POST("/write", func(c *gin.Context) {
		if subject := c.GetHeader("X-Test-Subject"); subject != "" {
			c.Set(callerKey, &caller{session: &session.Session{Issuer: "https://idp.example", Subject: subject}})
		}
	}, ph.idempotent, func(c *gin.Context) {
		h.runs.Add(1)
		h.answer(c)
	})
	return h
}

func (h *idempotencyHarness) post(key, subject, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/write", strings.NewReader(body))
	if key != "" {
		req.Header.Set(IdempotencyKeyHeader, key)
	}
	if subject != "" {
		req.Header.Set("X-Test-Subject", subject)
	}
	rec := httptest.NewRecorder()
	h.engine.ServeHTTP(rec, req)
	return rec
}

func TestIdempotentRetryGetsTheFirstAnswer(t *testing.T) {
	h := newIdempotencyHarness(t)
	first := h.post("3f0c6a1e-key", "alice", `{"a":1}`)
	again := h.post("3f0c6a1e-key", "alice", `{"a":1}`)
	if h.runs.Load() != 1 {
		t.Fatalf("the handler ran %d times, want once", h.runs.Load())
	}
	if again.Code != first.Code || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %q (replayed %q), first = %d %q", again.Code, again.Body, again.Header().Get("Idempotent-Replayed"), first.Code, first.Body)
	}
	if rec := h.post("3f0c6a1e-key", "alice", `{"a":2}`); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d, want 422", rec.Code)
	}
	if rec := h.post("3f0c6a1e-key", "bob", `{"a":1}`); rec.Code != http.StatusCreated || rec.Header().Get("Idempotent-Replayed") != "" {
		t.Errorf("another caller's same key was answered from alice's: %d", rec.Code)
	}
	if h.post("", "alice", `{"a":1}`); h.runs.Load() != 3 {
		t.Errorf("a request without a key must run: %d runs", h.runs.Load())
	}
}

func TestIdempotentAnswersAreNotKeptInTheClear(t *testing.T) {
	h := newIdempotencyHarness(t)
	h.post("key-one", "alice", `{}`)
	err := h.store.Scan(context.Background(), "", func(key string, value []byte) error {
		if bytes.Contains(value, []byte("SECRET-CODE")) || strings.Contains(key, "key-one") {
			t.Errorf("the store holds the answer or the key in the clear: %s = %s", key, value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestIdempotentFailuresOfOursAreNotKept(t *testing.T) {
	h := newIdempotencyHarness(t)
	h.answer = func(c *gin.Context) { c.String(http.StatusServiceUnavailable, "busy") }
	h.post("k", "alice", `{}`)
	h.answer = func(c *gin.Context) { panic("handler bug") }
	if rec := h.post("k", "alice", `{}`); rec.Code != http.StatusInternalServerError {
		t.Fatalf("panicking handler: %d, want 500", rec.Code)
	}
	h.answer = func(c *gin.Context) { c.String(http.StatusOK, "done") }
	if rec := h.post("k", "alice", `{}`); rec.Code != http.StatusOK || rec.Body.String() != "done" {
		t.Fatalf("after a 503 and a panic the retry got %d %q, want it to run", rec.Code, rec.Body)
	}
	if h.runs.Load() != 3 {
		t.Errorf("runs = %d, want 3", h.runs.Load())
	}
}

func TestIdempotencyKeyMustBePrintable(t *testing.T) {
	h := newIdempotencyHarness(t)
	for _, key := range []string{strings.Repeat("k", 256), "tab\there"} {
		if rec := h.post(key, "alice", `{}`); rec.Code != http.StatusBadRequest {
			t.Errorf("key %q: %d, want 400", key, rec.Code)
		}
	}
	if h.runs.Load() != 0 {
		t.Error("a refused key ran the handler")
	}
}
