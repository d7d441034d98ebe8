package fhirtest

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// requestLogSize is how many requests Requests remembers.
const requestLogSize = 1000

// Request is one request the server answered, as tests check it.
type Request struct {
	Time   time.Time
	Method string
	// Path is relative to the base URL, such as "/Observation".
	Path string
	// Query holds the search parameters, those of a POST _search body included.
	Query url.Values
	// Status is the status sent, 0 when none was (down, or the client gave up).
	Status int
}

// requestLog keeps the latest requests in a ring.
type requestLog struct {
	mu   sync.Mutex
	ring []Request
	next int
	full bool
}

func newRequestLog(size int) *requestLog { return &requestLog{ring: make([]Request, size)} }

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = r
	l.next = (l.next + 1) % len(l.ring)
	if l.next == 0 {
		l.full = true
	}
}

func (l *requestLog) list() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return slices.Clone(l.ring[:l.next])
	}
	return append(slices.Clone(l.ring[l.next:]), l.ring[:l.next]...)
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.ring)
	l.next, l.full = 0, false
}

// Requests returns the latest requests (up to 1,000), oldest first.
func (s *Server) Requests() []Request { return s.log.list() }

// ResetRequests forgets the requests so far.
func (s *Server) ResetRequests() { s.log.reset() }

type logEntryKey struct{}

func withLogEntry(ctx context.Context, e *Request) context.Context {
	return context.WithValue(ctx, logEntryKey{}, e)
}

// logQuery records the parameters of a POST _search, which the URL lacks.
func logQuery(r *http.Request, params url.Values) {
	if e, ok := r.Context().Value(logEntryKey{}).(*Request); ok {
		e.Query = params
	}
}
