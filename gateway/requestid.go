package gateway

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an accepted incoming id: long enough for a UUID
// or a trace id, short enough to keep log lines small.
const maxRequestIDLen = 64

type requestIDKey struct{}

// ContextWithRequestID returns ctx carrying id, for work that outlives or
// happens outside a request but should be correlated with one in logs.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return newRequestIDContext(ctx, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if rc, ok := ctx.Value(requestIDKey{}).(*requestIDContext); ok {
		return rc.id
	}
	return ""
}

// requestIDContext carries a request id. It does what context.WithValue
// would in one allocation instead of three (context, boxed id, header
// value), which matters on a path every request takes.
type requestIDContext struct {
	context.Context
	id string
	// header backs the X-Request-Id response header value.
	header [1]string
}

func newRequestIDContext(parent context.Context, id string) *requestIDContext {
	rc := &requestIDContext{Context: parent, id: id}
	rc.header[0] = id
	return rc
}

func (rc *requestIDContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return rc
	}
	return rc.Context.Value(key)
}

func (rc *requestIDContext) String() string {
	return fmt.Sprintf("%v.WithRequestID(%q)", rc.Context, rc.id)
}

// requestIDMiddleware gives every request an id: the caller's X-Request-Id
// when it is short and made of safe characters (so it can go into logs and
// headers as is), else a fresh random one. The id is echoed in the
// response and carried by the request's context.
func requestIDMiddleware(c *gin.Context) {
	id := c.Request.Header.Get(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	rc := newRequestIDContext(c.Request.Context(), id)
	c.Writer.Header()[RequestIDHeader] = rc.header[:]
	c.Request = c.Request.WithContext(rc)
	c.Next()
}

// validRequestID accepts 1 to 64 characters from [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9',
			b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex. Ids correlate log lines and
// are not secrets, so the runtime's fast per-thread generator is enough.
func newRequestID() string {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	var out [32]byte
	hex.Encode(out[:], raw[:])
	return string(out[:])
}
