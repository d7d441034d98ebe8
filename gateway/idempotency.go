package gateway

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	// idempotencyTTL is how long an answer is kept for retries.
	idempotencyTTL = 24 * time.Hour
	// idempotencyPendingTTL bounds a reservation, so that a request that
	// never finished (a crash) does not block its key for a day.
	idempotencyPendingTTL = 5 * time.Minute
	idempotencyWriteLimit = 5 * time.Second
	maxIdempotencyKey     = 255
)

// idempotentRecord is what the store keeps for one key.
type idempotentRecord struct {
	// Fingerprint is the SHA-256 of the request body: a key reused for
	// another body is an error, not a replay.
	Fingerprint string `json:"fingerprint"`
	Done        bool   `json:"done"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	// SealedBody is the answer's body encrypted with a key derived from the
	// Idempotency-Key itself, which the store never holds: answers carry
	// one-time codes and personal details.
	SealedBody []byte `json:"sealedBody,omitempty"`
}

// idempotent carries out a write sent with an Idempotency-Key once: a retry
// with the same key, by the same caller, to the same method and path, with
// the same body, gets the first answer again (marked Idempotent-Replayed).
// A failure of the server (5xx, a panic) is not kept, so the retry runs
// again.
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
	scope := idempotencyScope(c, key)
	storeKey := idempotencyStoreKey(scope)
	ctx := c.Request.Context()

	pending, _ := json.Marshal(idempotentRecord{Fingerprint: fingerprint})
	err = h.Idempotency.Create(ctx, storeKey, pending, idempotencyPendingTTL)
	if errors.Is(err, store.ErrExists) {
		h.replay(c, storeKey, scope, fingerprint)
		return
	}
	if err != nil {
		h.fail(c, "reserving the idempotency key", err)
		return
	}

	// The outcome is kept even if the client has gone: its retry must find it.
	keep, cancel := context.WithTimeout(context.WithoutCancel(ctx), idempotencyWriteLimit)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			_ = h.Idempotency.Delete(keep, storeKey) // a failure of ours: let the retry run
			panic(r)
		}
	}()
	capture := &capturingWriter{ResponseWriter: c.Writer}
	c.Writer = capture
	c.Next()
	if capture.Status() >= http.StatusInternalServerError {
		_ = h.Idempotency.Delete(keep, storeKey)
		return
	}
	sealed, err := sealAnswer(scope, capture.body.Bytes())
	if err == nil {
		var done []byte
		done, err = json.Marshal(idempotentRecord{
			Fingerprint: fingerprint, Done: true, Status: capture.Status(),
			ContentType: capture.Header().Get("Content-Type"), SealedBody: sealed,
		})
		if err == nil {
			err = h.Idempotency.Put(keep, storeKey, done, idempotencyTTL)
		}
	}
	if err != nil {
		_ = h.Idempotency.Delete(keep, storeKey)
		h.logger.ErrorContext(ctx, "keeping an idempotent answer failed", "err", err)
	}
}

func (h *portalHandlers) replay(c *gin.Context, storeKey string, scope []byte, fingerprint string) {
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
		body, err := openAnswer(scope, rec.SealedBody)
		if err != nil {
			h.fail(c, "reading the kept answer", err)
			return
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(rec.Status, rec.ContentType, body)
		c.Abort()
	}
}

// idempotencyScope ties a key to its caller, method and path, so one
// client's keys never answer another's requests.
func idempotencyScope(c *gin.Context, key string) []byte {
	who := "operator"
	if v, ok := c.Get(callerKey); ok {
		s := v.(*caller).session
		who = s.Issuer + "\x00" + s.Subject
	}
	return []byte(who + "\x00" + c.Request.Method + " " + c.Request.URL.Path + "\x00" + key)
}

// idempotencyStoreKey names a scope in the store without revealing it.
func idempotencyStoreKey(scope []byte) string {
	sum := sha256.Sum256(scope)
	return "idempotency/" + hex.EncodeToString(sum[:])
}

// answerKey derives the key that seals an answer from the scope, which
// holds the Idempotency-Key: only a retry bearing it can read the answer.
// Clients should send random keys (UUIDs), as the header's draft advises.
func answerKey(scope []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, scope, nil, "portalgate idempotent answer", 32)
}

func sealAnswer(scope, body []byte) ([]byte, error) {
	aead, err := answerAEAD(scope)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, body, nil), nil
}

func openAnswer(scope, sealed []byte) ([]byte, error) {
	aead, err := answerAEAD(scope)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("gateway: kept answer too short")
	}
	nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	body, err := aead.Open(nil, nonce, box, nil)
	if err != nil {
		return nil, fmt.Errorf("gateway: opening a kept answer: %w", err)
	}
	return body, nil
}

func answerAEAD(scope []byte) (cipher.AEAD, error) {
	key, err := answerKey(scope)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
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
