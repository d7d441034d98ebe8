package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/store"
)

// IdempotencyKeyHeader names the header that makes a write safe to retry
// (IETF draft "The Idempotency-Key HTTP Header Field").
const IdempotencyKeyHeader = "Idempotency-Key"

const (
	idempotencyTTL    = 24 * time.Hour
	maxIdempotencyKey = 255
)

// idempotentRecord is what the store keeps for one key.
type idempotentRecord struct {
	// Fingerprint is the SHA-256 of the request body: a key reused for
	// another body is an error, not a replay.
	Fingerprint string `json:"fingerprint"`
	Done        bool   `json:"done"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

// idempotent carries out a write sent with an Idempotency-Key once: a retry
// with the same key, by the same caller, to the same method and path, with
// the same body, gets the first answer again (marked Idempotent-Replayed).
// A failure of the server (5xx) is not kept, so the retry runs again.
// Requests without the header run as they are.
func (h *portalHandlers) idempotent(c *gin.Context) {
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" {
		c.Next()
		return
	}
	if len(key) > maxIdempotencyKey || !printable(key) {
		WriteError(c, http.StatusBadRequest, "Idempotency-Key must be 1 to 255 printable characters")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		WriteError(c, http.StatusRequestEntityTooLarge, "the body is too large")
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	fingerprint := hex.EncodeToString(sum[:])
	storeKey := idempotencyStoreKey(c, key)
	ctx := c.Request.Context()

	pending, _ := json.Marshal(idempotentRecord{Fingerprint: fingerprint})
	err = h.Idempotency.Create(ctx, storeKey, pending, idempotencyTTL)
	if errors.Is(err, store.ErrExists) {
		h.replay(c, storeKey, fingerprint)
		return
	}
	if err != nil {
		h.fail(c, "reserving the idempotency key", err)
		return
	}

	capture := &capturingWriter{ResponseWriter: c.Writer}
	c.Writer = capture
	c.Next()
	// The answer is kept even if the client has gone: its retry must find it.
	keep := context.WithoutCancel(ctx)
	if capture.Status() >= http.StatusInternalServerError {
		_ = h.Idempotency.Delete(keep, storeKey)
		return
	}
	done, _ := json.Marshal(idempotentRecord{
		Fingerprint: fingerprint, Done: true, Status: capture.Status(),
		ContentType: capture.Header().Get("Content-Type"), Body: capture.body.Bytes(),
	})
	if err := h.Idempotency.Put(keep, storeKey, done, idempotencyTTL); err != nil {
		h.logger.ErrorContext(ctx, "keeping an idempotent answer failed", "err", err)
	}
}

func (h *portalHandlers) replay(c *gin.Context, storeKey, fingerprint string) {
	raw, err := h.Idempotency.Get(c.Request.Context(), storeKey)
	if errors.Is(err, store.ErrNotFound) { // the first attempt failed and was forgotten meanwhile
		WriteError(c, http.StatusConflict, "a request with this Idempotency-Key just finished without an answer to keep; send it again")
		return
	}
	var rec idempotentRecord
	if err == nil {
		err = json.Unmarshal(raw, &rec)
	}
	if err != nil {
		h.fail(c, "reading the idempotency key", err)
		return
	}
	switch {
	case rec.Fingerprint != fingerprint:
		WriteError(c, http.StatusUnprocessableEntity, "this Idempotency-Key was used for a different request body")
	case !rec.Done:
		WriteError(c, http.StatusConflict, "a request with this Idempotency-Key is still being carried out")
	default:
		c.Header("Idempotent-Replayed", "true")
		c.Data(rec.Status, rec.ContentType, rec.Body)
		c.Abort()
	}
}

// idempotencyStoreKey scopes a key to its caller, method and path, so one
// client's keys never answer another's requests.
func idempotencyStoreKey(c *gin.Context, key string) string {
	scope := "operator"
	if v, ok := c.Get(callerKey); ok {
		s := v.(*caller).session
		scope = s.Issuer + "\x00" + s.Subject
	}
	sum := sha256.Sum256([]byte(scope + "\x00" + c.Request.Method + " " + c.Request.URL.Path + "\x00" + key))
	return "idempotency/" + hex.EncodeToString(sum[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// capturingWriter keeps a copy of what a handler writes.
type capturingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *capturingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capturingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}
