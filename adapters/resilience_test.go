package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// openUpstream is an unauthenticated smart server holding patient p1.
func openUpstream(t *testing.T) (*upstream, *Adapter, *fakeSleeper) {
	t.Helper()
	up := newUpstream(t, upstreamConfig{platform: "smart", open: true})
	up.load(t, patient("p1"), observation("o1", "p1", "", "laboratory"))
	a, sleeper := up.adapterFor(t, endpointAt(t, up.URL, "smart"), Options{})
	return up, a, sleeper
}

func setFaults(t *testing.T, up *upstream, f fhirtest.Faults) {
	t.Helper()
	if err := up.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

func TestServerErrorsRetriedWithBackoff(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{ErrorRate: 1})
	_, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if !errors.Is(err, fhir.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if n := len(up.requests("/Observation")); n != DefaultMaxAttempts {
		t.Errorf("attempts = %d, want %d", n, DefaultMaxAttempts)
	}
	// Jitter draws one half of a ceiling that starts at 100ms and doubles.
	if got, want := sleeper.Waits(), []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestRetrySucceedsOnceUpstreamRecovers(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{ErrorRate: 1})
	sleeper.onSleep = up.ResetFaults
	res, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 || len(up.requests("/Observation")) != 2 {
		t.Errorf("%d matches after %d attempts", len(res.Matches), len(up.requests("/Observation")))
	}
}

func TestRateLimitHonoursRetryAfterSeconds(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{RateLimitRate: 1, RetryAfter: 3})
	_, err := a.Read(context.Background(), "Patient", "p1")
	if !errors.Is(err, fhir.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if got, want := sleeper.Waits(), []time.Duration{3 * time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestRetryAfterDateReadOnTheInjectedClock(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", clock.Now().Add(7*time.Second).Format(http.TimeFormat))
			fhir.WriteOutcome(w, http.StatusServiceUnavailable, fhir.SeverityError, "transient", "busy")
			return
		}
		w.Header().Set("Content-Type", fhir.ContentType)
		_, _ = io.WriteString(w, `{"resourceType":"Patient","id":"p1"}`)
	}))
	defer srv.Close()
	sleeper := &fakeSleeper{}
	a, err := New(endpointAt(t, srv.URL, "smart"), Options{Now: clock.Now, Sleep: sleeper.Sleep, Rand: func() float64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(context.Background(), "Patient", "p1"); err != nil {
		t.Fatal(err)
	}
	if got := sleeper.Waits(); !slices.Equal(got, []time.Duration{7 * time.Second}) {
		t.Errorf("waits = %v, want the 7s the date says", got)
	}
}

func TestRetryAfterBeyondDeadlineGivesUp(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{RateLimitRate: 1, RetryAfter: 60})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Read(ctx, "Patient", "p1"); !errors.Is(err, fhir.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if len(sleeper.Waits()) != 0 || len(up.requests("/Patient/p1")) != 1 {
		t.Errorf("waited %v over %d attempts for a Retry-After past the deadline", sleeper.Waits(), len(up.requests("/Patient/p1")))
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	ctx := context.Background()
	if _, err := a.Search(ctx, "Observation", values("date", "not-a-date")); !errors.Is(err, fhir.ErrBadRequest) {
		t.Errorf("bad search: err = %v, want ErrBadRequest", err)
	}
	if _, err := a.Read(ctx, "Patient", "nobody"); !errors.Is(err, fhir.ErrNotFound) {
		t.Errorf("missing read: err = %v, want ErrNotFound", err)
	}
	if n := len(up.requests("")); n != 2 || len(sleeper.Waits()) != 0 {
		t.Errorf("%d requests, waits %v; a 4xx must not be retried", n, sleeper.Waits())
	}
}

func TestWritesNotRetried(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	ctx := context.Background()
	if _, err := a.Capabilities(ctx); err != nil { // cached before the faults
		t.Fatal(err)
	}
	setFaults(t, up, fhirtest.Faults{ErrorRate: 1})
	comm := []byte(`{"resourceType":"Communication","status":"completed"}`)
	if _, err := a.Create(ctx, "Communication", comm); !errors.Is(err, fhir.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if n := len(up.requests("/Communication")); n != 1 || len(sleeper.Waits()) != 0 {
		t.Errorf("a create was sent %d times", n)
	}
}

func TestMalformedReplyReported(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{Malformed: true})
	ctx := context.Background()
	if _, err := a.Search(ctx, "Observation", values("patient", "p1")); !errors.Is(err, fhir.ErrMalformed) {
		t.Errorf("search: err = %v, want ErrMalformed", err)
	}
	if _, err := a.Read(ctx, "Patient", "p1"); !errors.Is(err, fhir.ErrMalformed) {
		t.Errorf("read: err = %v, want ErrMalformed", err)
	}
	if len(sleeper.Waits()) != 0 {
		t.Errorf("a malformed reply was retried: waits %v", sleeper.Waits())
	}
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart", open: true})
	up.load(t, patient("p1"))
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "smart"), Options{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: BreakerPolicy{FailureThreshold: 3, CoolDown: 30 * time.Second},
	})
	ctx := context.Background()
	read := func() error {
		_, err := a.Read(ctx, "Patient", "p1")
		return err
	}

	setFaults(t, up, fhirtest.Faults{ErrorRate: 1})
	for i := range 3 {
		if err := read(); !errors.Is(err, fhir.ErrUnavailable) {
			t.Fatalf("failure %d: err = %v", i+1, err)
		}
	}
	opened := up.clock.Now()
	err := read()
	var open *CircuitOpenError
	if !errors.As(err, &open) || !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after 3 failures: err = %v, want a *CircuitOpenError", err)
	}
	if !open.RetryAt.Equal(opened.Add(30 * time.Second)) {
		t.Errorf("RetryAt = %v, want %v", open.RetryAt, opened.Add(30*time.Second))
	}
	if n := len(up.requests("")); n != 3 {
		t.Errorf("requests = %d; an open circuit must not reach the upstream", n)
	}

	up.clock.Advance(30*time.Second - time.Nanosecond)
	if err := read(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("just before the cool-down ends: err = %v", err)
	}

	// The probe fails: the circuit opens for another cool-down.
	up.clock.Advance(time.Nanosecond)
	if err := read(); !errors.Is(err, fhir.ErrUnavailable) {
		t.Fatalf("probe: err = %v, want the upstream's error", err)
	}
	if err := read(); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after a failed probe: err = %v, want the circuit open again", err)
	}

	// The next probe succeeds: the circuit closes.
	up.ResetFaults()
	up.clock.Advance(30 * time.Second)
	for i := range 5 {
		if err := read(); err != nil {
			t.Fatalf("read %d after recovery: %v", i+1, err)
		}
	}
}

func TestBreakerIgnoresRefusals(t *testing.T) {
	_, a, _ := openUpstream(t)
	for range 2 * DefaultFailureThreshold {
		if _, err := a.Read(context.Background(), "Patient", "nobody"); !errors.Is(err, fhir.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound; 404s show a working server", err)
		}
	}
}

func TestCallsBoundedByDeadline(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "smart", open: true})
	up.load(t, patient("p1"))
	a, _ := up.adapterFor(t, endpointAt(t, up.URL, "smart"), Options{Timeout: 50 * time.Millisecond})
	setFaults(t, up, fhirtest.Faults{LatencyMS: 5000})
	ctx := context.Background()
	calls := map[string]func() error{
		"search": func() error { _, err := a.Search(ctx, "Patient", nil); return err },
		"read":   func() error { _, err := a.Read(ctx, "Patient", "p1"); return err },
		"capabilities": func() error {
			_, err := a.Capabilities(ctx)
			return err
		},
		"create": func() error {
			_, err := a.Create(ctx, "Communication", []byte(`{"resourceType":"Communication","status":"completed"}`))
			return err
		},
		"update": func() error {
			_, err := a.Update(ctx, "Patient", "p1", []byte(patient("p1")))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s against a stalled upstream: err = %v, want the deadline", name, err)
		}
	}
}

func TestDownEndpoint(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{Down: true})
	_, err := a.Search(context.Background(), "Observation", values("patient", "p1"))
	if err == nil {
		t.Fatal("a search of a down endpoint succeeded")
	}
	if errors.Is(err, ErrCircuitOpen) || len(sleeper.Waits()) != DefaultMaxAttempts-1 {
		t.Errorf("err = %v after waits %v; want every attempt made", err, sleeper.Waits())
	}
	if strings.Contains(err.Error(), "patient=p1") {
		t.Errorf("the error quotes the query, which names the patient: %v", err)
	}
}

func TestCallerCancellationNotRetried(t *testing.T) {
	up, a, sleeper := openUpstream(t)
	setFaults(t, up, fhirtest.Faults{LatencyMS: 5000})
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(50*time.Millisecond, cancel).Stop()
	_, err := a.Read(ctx, "Patient", "p1")
	if !errors.Is(err, context.Canceled) || len(sleeper.Waits()) != 0 {
		t.Errorf("err = %v, waits %v", err, sleeper.Waits())
	}
}

func TestBackoff(t *testing.T) {
	a := &Adapter{retry: RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}}
	cases := []struct {
		draw    float64
		attempt int
		err     error
		want    time.Duration
	}{
		{1, 1, errors.New("x"), 100 * time.Millisecond},
		{1, 2, errors.New("x"), 200 * time.Millisecond},
		{1, 4, errors.New("x"), 800 * time.Millisecond},
		{1, 5, errors.New("x"), time.Second},
		{1, 60, errors.New("x"), time.Second}, // no overflow
		{0, 3, errors.New("x"), 0},
		{0.25, 3, errors.New("x"), 100 * time.Millisecond},
		{0.5, 1, &fhir.Error{Status: 429, RetryAfter: 2 * time.Second}, 2 * time.Second},
		{1, 5, &fhir.Error{Status: 503, RetryAfter: 10 * time.Millisecond}, time.Second},
	}
	for _, tc := range cases {
		a.rand = func() float64 { return tc.draw }
		if got := a.backoff(tc.attempt, tc.err); got != tc.want {
			t.Errorf("draw %v, attempt %d, %v: wait %v, want %v", tc.draw, tc.attempt, tc.err, got, tc.want)
		}
	}
}

func TestTransient(t *testing.T) {
	urlErr := &url.Error{Op: "Get", URL: "http://x", Err: io.EOF}
	cases := []struct {
		err  error
		want bool
	}{
		{&fhir.Error{Status: 500}, true},
		{&fhir.Error{Status: 503}, true},
		{&fhir.Error{Status: 429}, true},
		{&fhir.Error{Status: 400}, false},
		{&fhir.Error{Status: 401}, false},
		{&fhir.Error{Status: 404}, false},
		{&fhir.Error{Status: 409}, false},
		{fmt.Errorf("fhir: GET x: %w", urlErr), true},
		{fmt.Errorf("reading reply: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("fhir: %w: reply is not JSON", fhir.ErrMalformed), false},
		{fmt.Errorf("fhir: GET x: %w", &url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}), false},
		{context.Canceled, false},
		{&AuthError{Err: errors.New("invalid_client")}, false},
		{&url.Error{Op: "Get", URL: "http://x", Err: &AuthError{Err: errors.New("down"), transient: true}}, true},
		{&CircuitOpenError{}, false},
	}
	for _, tc := range cases {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
