package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/portalgate/portalgate/fhir"
)

// call runs one upstream exchange through the circuit breaker, retrying it
// when it is idempotent and failed in a way worth retrying, until ctx ends.
// A 401 is retried once with a fresh token, whatever the exchange: the
// server refused it before acting on it.
func (a *Adapter) call(ctx context.Context, idempotent bool, exchange func(context.Context) error) error {
	freshToken := false
	for attempt := 1; ; attempt++ {
		done, err := a.breaker.allow()
		if err != nil {
			return err
		}
		err = exchange(ctx)
		done(upstreamFailed(err))
		if err == nil {
			return nil
		}
		if errors.Is(err, fhir.ErrUnauthorized) && !freshToken && a.tokens != nil && a.tokens.renewable() {
			freshToken = true
			attempt--
			continue
		}
		if !idempotent || attempt >= a.retry.MaxAttempts || !transient(err) {
			return err
		}
		wait := a.backoff(attempt, err)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return err // the server asked for more time than the call has left
		}
		if serr := a.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", err, serr)
		}
	}
}

// backoff returns the wait before retry number attempt (1 for the first):
// a draw below a ceiling that doubles from BaseDelay up to MaxDelay (full
// jitter), or the server's Retry-After when that is longer.
func (a *Adapter) backoff(attempt int, err error) time.Duration {
	ceiling := a.retry.BaseDelay
	for i := 1; i < attempt && ceiling < a.retry.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, a.retry.MaxDelay)
	wait := time.Duration(a.rand() * float64(ceiling))
	var fe *fhir.Error
	if errors.As(err, &fe) && fe.RetryAfter > wait {
		wait = fe.RetryAfter
	}
	return wait
}

// transient reports a failure that may well not happen again: a 429 or 5xx,
// a connection that failed or broke, or a token endpoint in such trouble.
// Other answers (4xx, malformed replies) would come back the same.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if ae := (*AuthError)(nil); errors.As(err, &ae) {
		return ae.transient
	}
	if errors.Is(err, fhir.ErrRateLimited) || errors.Is(err, fhir.ErrUnavailable) {
		return true
	}
	if fe := (*fhir.Error)(nil); errors.As(err, &fe) || errors.Is(err, fhir.ErrMalformed) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// upstreamFailed reports an exchange that counts against the endpoint's
// health: it failed, timed out or answered nonsense. Refusals (4xx) show a
// server that works, and a caller giving up says nothing about it.
func upstreamFailed(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fhir.ErrMalformed):
		return true
	}
	return transient(err)
}

// CircuitOpenError reports a call not made because the endpoint's circuit
// is open: it failed too often lately. errors.Is(err, ErrCircuitOpen) holds.
type CircuitOpenError struct {
	Endpoint string
	// RetryAt is when a probe will be let through; zero while one is in flight.
	RetryAt time.Time
}

// ErrCircuitOpen is matched by every *CircuitOpenError.
var ErrCircuitOpen = errors.New("adapters: circuit open")

func (e *CircuitOpenError) Error() string {
	if e.RetryAt.IsZero() {
		return fmt.Sprintf("adapters: %s: circuit open: the endpoint failed repeatedly and is being probed", e.Endpoint)
	}
	return fmt.Sprintf("adapters: %s: circuit open: the endpoint failed repeatedly; next try at %s",
		e.Endpoint, e.RetryAt.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrCircuitOpen) true.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// breaker is the endpoint's circuit breaker. gobreaker counts failures and
// runs the closed, open and half-open states; it times the open state with
// the wall clock, so the cool-down is kept here on the injected clock and
// gobreaker is told to half-open as soon as it is asked, which happens only
// once the cool-down is over.
type breaker struct {
	name     string
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	now      func() time.Time
	coolDown time.Duration

	mu        sync.Mutex
	openUntil time.Time
}

func newBreaker(name string, p BreakerPolicy, now func() time.Time) *breaker {
	b := &breaker{name: name, now: now, coolDown: p.CoolDown}
	threshold := uint32(p.FailureThreshold)
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1, // one probe when half-open
		Timeout:     time.Nanosecond,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.mu.Lock()
				b.openUntil = b.now().Add(b.coolDown)
				b.mu.Unlock()
			}
		},
	})
	return b
}

// allow asks to make one exchange. done must be called with whether it
// failed.
func (b *breaker) allow() (done func(failed bool), err error) {
	b.mu.Lock()
	until := b.openUntil
	b.mu.Unlock()
	if b.now().Before(until) {
		return nil, &CircuitOpenError{Endpoint: b.name, RetryAt: until}
	}
	report, err := b.cb.Allow()
	if err != nil {
		// ErrTooManyRequests: another caller's probe is in flight.
		return nil, &CircuitOpenError{Endpoint: b.name}
	}
	return func(failed bool) { report(!failed) }, nil
}
