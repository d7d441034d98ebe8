package fhirtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaultsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Faults
		ok   bool
	}{
		{"none", Faults{}, true},
		{"all sane", Faults{LatencyMS: 50, ErrorRate: 0.5, RateLimitRate: 0.5, RetryAfter: 3, Down: true, Malformed: true}, true},
		{"rates at one", Faults{ErrorRate: 1, RateLimitRate: 1}, true},
		{"negative latency", Faults{LatencyMS: -1}, false},
		{"huge latency", Faults{LatencyMS: int(maxLatency.Milliseconds()) + 1}, false},
		{"error rate above one", Faults{ErrorRate: 1.01}, false},
		{"negative rate limit", Faults{RateLimitRate: -0.1}, false},
		{"NaN rate", Faults{ErrorRate: nan()}, false},
		{"negative retry", Faults{RetryAfter: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := New()
			err := srv.SetFaults(tc.f)
			if (err == nil) != tc.ok {
				t.Fatalf("SetFaults(%+v) = %v, want ok %v", tc.f, err, tc.ok)
			}
			if !tc.ok && srv.Faults() != (Faults{}) {
				t.Error("invalid faults were put in force")
			}
		})
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestFaultsJSON(t *testing.T) {
	var f Faults
	err := json.Unmarshal([]byte(`{"latencyMs":20,"errorRate":0.1,"rateLimitRate":0.2,"retryAfter":7,"down":true,"malformed":true}`), &f)
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{LatencyMS: 20, ErrorRate: 0.1, RateLimitRate: 0.2, RetryAfter: 7, Down: true, Malformed: true}
	if f != want {
		t.Errorf("decoded %+v, want %+v", f, want)
	}
}

func TestFaultErrorsAndRateLimits(t *testing.T) {
	srv, _ := newFixtureServer(t)
	if err := srv.SetFaults(Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/Patient/p1", "/metadata", "/Observation?patient=p1"} {
		wantStatus(t, get(t, srv, target), http.StatusInternalServerError)
	}
	if err := srv.SetFaults(Faults{RateLimitRate: 1, RetryAfter: 9}); err != nil {
		t.Fatal(err)
	}
	rec := get(t, srv, "/Patient/p1")
	wantStatus(t, rec, http.StatusTooManyRequests)
	if rec.Header().Get("Retry-After") != "9" {
		t.Errorf("Retry-After %q, want 9", rec.Header().Get("Retry-After"))
	}
	_ = srv.SetFaults(Faults{RateLimitRate: 1})
	if got := get(t, srv, "/Patient/p1").Header().Get("Retry-After"); got != "1" {
		t.Errorf("default Retry-After %q, want 1", got)
	}
	srv.ResetFaults()
	wantStatus(t, get(t, srv, "/Patient/p1"), http.StatusOK)
}

// TestFaultRates checks that a seeded server answers the shares it is told,
// and the same way each time.
func TestFaultRates(t *testing.T) {
	run := func() map[int]int {
		srv, _ := newFixtureServer(t, WithRand(rand.New(rand.NewPCG(7, 7))))
		_ = srv.SetFaults(Faults{ErrorRate: 0.2, RateLimitRate: 0.3})
		counts := map[int]int{}
		for range 2000 {
			counts[get(t, srv, "/Patient/p1").Code]++
		}
		return counts
	}
	first, second := run(), run()
	for code, want := range map[int]float64{http.StatusTooManyRequests: 0.3, http.StatusInternalServerError: 0.2, http.StatusOK: 0.5} {
		share := float64(first[code]) / 2000
		if share < want-0.05 || share > want+0.05 {
			t.Errorf("status %d: share %.3f, want about %.1f", code, share, want)
		}
		if first[code] != second[code] {
			t.Errorf("status %d: %d then %d with the same seed", code, first[code], second[code])
		}
	}
}

func TestFaultLatencyHonoursCancellation(t *testing.T) {
	srv, _ := newFixtureServer(t)
	_ = srv.SetFaults(Faults{LatencyMS: int(maxLatency.Milliseconds())})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/Patient/p1", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		srv.ServeHTTP(rec, req)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler kept waiting after the request was cancelled")
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Status != 0 {
		t.Errorf("a cancelled request is logged as %+v, want status 0", reqs)
	}

	_ = srv.SetFaults(Faults{LatencyMS: 1})
	wantStatus(t, get(t, srv, "/Patient/p1"), http.StatusOK)
}

func TestFaultDown(t *testing.T) {
	ts := NewTestServer()
	defer ts.Close()
	if err := ts.Load(json.RawMessage(fixture[0])); err != nil {
		t.Fatal(err)
	}
	_ = ts.SetFaults(Faults{Down: true})
	resp, err := ts.Client().Get(ts.URL + "/Patient/p1")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a down server answered %d", resp.StatusCode)
	}
	if reqs := ts.Requests(); len(reqs) != 1 || reqs[0].Status != 0 {
		t.Errorf("a dropped request is logged as %+v", reqs)
	}
	// Where the connection cannot be taken over, down is a 503.
	wantStatus(t, get(t, ts.Server, "/Patient/p1"), http.StatusServiceUnavailable)

	ts.ResetFaults()
	resp, err = ts.Client().Get(ts.URL + "/Patient/p1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after reset: %d", resp.StatusCode)
	}
}

func TestFaultMalformed(t *testing.T) {
	srv, _ := newFixtureServer(t)
	_ = srv.SetFaults(Faults{Malformed: true})
	for _, target := range []string{"/Patient/p1", "/Observation?patient=p1", "/Patient/nobody", "/metadata"} {
		rec := get(t, srv, target)
		wantStatus(t, rec, http.StatusOK)
		if json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s: the malformed reply is valid JSON: %s", target, rec.Body)
		}
		if !strings.HasPrefix(rec.Body.String(), "{") {
			t.Errorf("%s: the reply does not even start like JSON: %.40s", target, rec.Body)
		}
	}
}

func TestRequestLog(t *testing.T) {
	srv, clock := newFixtureServer(t)
	get(t, srv, "/Patient/p1")
	clock.Advance(time.Second)
	get(t, srv, "/Observation?patient=p1&category=laboratory")
	do(t, srv, http.MethodPost, "/Observation/_search", "patient=p2", "Content-Type", "application/x-www-form-urlencoded")
	get(t, srv, "/Nope/1")

	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests logged, want 4", len(reqs))
	}
	want := []Request{
		{Method: "GET", Path: "/Patient/p1", Status: 200},
		{Method: "GET", Path: "/Observation", Status: 200},
		{Method: "POST", Path: "/Observation/_search", Status: 200},
		{Method: "GET", Path: "/Nope/1", Status: 404},
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.Method || r.Path != w.Path || r.Status != w.Status {
			t.Errorf("request %d: %s %s %d, want %s %s %d", i, r.Method, r.Path, r.Status, w.Method, w.Path, w.Status)
		}
	}
	if !reqs[1].Time.Equal(reqs[0].Time.Add(time.Second)) {
		t.Errorf("times come from the clock: %v then %v", reqs[0].Time, reqs[1].Time)
	}
	if reqs[1].Query.Get("category") != "laboratory" || reqs[2].Query.Get("patient") != "p2" {
		t.Errorf("queries %v and %v", reqs[1].Query, reqs[2].Query)
	}

	srv.ResetRequests()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
	for range requestLogSize + 5 {
		get(t, srv, "/Patient/p1")
	}
	get(t, srv, "/Patient/p2")
	reqs = srv.Requests()
	if len(reqs) != requestLogSize || reqs[len(reqs)-1].Path != "/Patient/p2" {
		t.Errorf("the log holds %d, last %s; want the latest %d", len(reqs), reqs[len(reqs)-1].Path, requestLogSize)
	}
}

func TestTestServer(t *testing.T) {
	ts := NewTestServer()
	defer ts.Close()
	if !strings.HasSuffix(ts.URL, "/fhir") {
		t.Errorf("URL %q is not the FHIR base", ts.URL)
	}
	if err := ts.Load(json.RawMessage(fixture[0])); err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Get(ts.URL + "/Patient?_id=p1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var b struct {
		Entry []struct{ FullURL string }
	}
	if err := json.Unmarshal(body, &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("search over HTTP: %v %s", err, body)
	}
	if b.Entry[0].FullURL != ts.URL+"/Patient/p1" {
		t.Errorf("fullUrl %q, want under %s", b.Entry[0].FullURL, ts.URL)
	}
	resp2, err := ts.Client().Get(strings.TrimSuffix(ts.URL, "/fhir") + "/Patient/p1")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("a path outside the base answered %d", resp2.StatusCode)
	}
}

func TestConcurrentUse(t *testing.T) {
	srv, _ := newFixtureServer(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for i := range 50 {
				var rec *httptest.ResponseRecorder
				switch i % 3 {
				case 0:
					rec = do(t, srv, http.MethodPost, "/Observation", `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"},"code":{"text":"x"}}`)
				case 1:
					rec = get(t, srv, "/Observation?patient=p1&_count=3")
				default:
					_ = srv.SetFaults(Faults{})
					rec = get(t, srv, "/Patient/p1")
				}
				if rec.Code >= 300 {
					errs <- errors.New(rec.Body.String())
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
