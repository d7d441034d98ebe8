package fhirtest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// Faults make the server misbehave, for every request, until reset.
type Faults struct {
	// LatencyMS delays every reply; a request cancelled meanwhile gets none.
	LatencyMS int `json:"latencyMs"`
	// ErrorRate is the share of requests answered 500.
	ErrorRate float64 `json:"errorRate"`
	// RateLimitRate is the share of requests answered 429 with Retry-After.
	// It is drawn before ErrorRate, from the same draw, so the two shares are
	// exact when they add up to at most 1.
	RateLimitRate float64 `json:"rateLimitRate"`
	// RetryAfter is the Retry-After of 429s, in seconds (1 when 0).
	RetryAfter int `json:"retryAfter"`
	// Down closes every connection without a reply (503 where the
	// connection cannot be taken over, as with HTTP/2).
	Down bool `json:"down"`
	// Malformed answers 200 with a truncated, invalid JSON body.
	Malformed bool `json:"malformed"`
}

// maxLatency bounds LatencyMS so that a typo cannot hang a test run.
const maxLatency = 5 * time.Minute

// Validate reports values that make no sense.
func (f Faults) Validate() error {
	var errs []error
	if f.LatencyMS < 0 || time.Duration(f.LatencyMS)*time.Millisecond > maxLatency {
		errs = append(errs, fmt.Errorf("latencyMs %d is not between 0 and %d", f.LatencyMS, maxLatency.Milliseconds()))
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("errorRate %v is not between 0 and 1", f.ErrorRate))
	}
	if !(f.RateLimitRate >= 0 && f.RateLimitRate <= 1) {
		errs = append(errs, fmt.Errorf("rateLimitRate %v is not between 0 and 1", f.RateLimitRate))
	}
	if f.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("retryAfter %d is negative", f.RetryAfter))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fhirtest: faults: %w", err)
	}
	return nil
}

type faultState struct {
	mu     sync.RWMutex
	faults Faults
}

// SetFaults makes the server misbehave as f says, from the next request on.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.faults = f
	s.faults.mu.Unlock()
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.faults.mu.RLock()
	defer s.faults.mu.RUnlock()
	return s.faults.faults
}

// ResetFaults makes the server behave again.
func (s *Server) ResetFaults() { _ = s.SetFaults(Faults{}) }

// injectFault applies the faults that replace the answer. It reports whether
// the request has been dealt with. logRequest records the request; a dropped
// connection is recorded before it is dropped, so that a client seeing the
// drop also finds it in the log.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, f Faults, logRequest func()) bool {
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Down {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			fhir.WriteOutcome(w, http.StatusServiceUnavailable, fhir.SeverityError, "transient", "the server is down")
			return true
		}
		logRequest()
		_ = conn.Close() // a dropped connection is the point
		return true
	}
	if f.RateLimitRate == 0 && f.ErrorRate == 0 {
		return false
	}
	switch u := s.draw(); {
	case u < f.RateLimitRate:
		retry := f.RetryAfter
		if retry == 0 {
			retry = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		fhir.WriteOutcome(w, http.StatusTooManyRequests, fhir.SeverityError, "throttled", "too many requests")
		return true
	case u < f.RateLimitRate+f.ErrorRate:
		fhir.WriteOutcome(w, http.StatusInternalServerError, fhir.SeverityError, "exception", "injected server error")
		return true
	}
	return false
}

// malformedWriter holds the reply back and then sends the first half of its
// body with 200, so that the client meets JSON that ends too soon.
type malformedWriter struct {
	*statusWriter
	body []byte
}

func (w *malformedWriter) WriteHeader(int) {}

func (w *malformedWriter) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}

// Unwrap hides the connection: a held-back reply cannot be flushed or hijacked.
func (w *malformedWriter) Unwrap() http.ResponseWriter { return nil }

func (w *malformedWriter) flush() {
	body := w.body[:len(w.body)/2]
	if len(body) == 0 {
		body = []byte(`{"resourceType":`)
	}
	h := w.statusWriter.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Set("Content-Type", fhir.ContentType+"; charset=utf-8")
	w.statusWriter.WriteHeader(http.StatusOK)
	_, _ = w.statusWriter.Write(body)
}
