package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue returns the value of the sample of name with exactly labels,
// and whether it exists.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsEqual(m.GetLabel(), labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func labelsEqual(pairs []*dto.LabelPair, want map[string]string) bool {
	if len(pairs) != len(want) {
		return false
	}
	for _, p := range pairs {
		if want[p.GetName()] != p.GetValue() {
			return false
		}
	}
	return true
}

func TestMetricsCountRequestsByRouteTemplate(t *testing.T) {
	s, _ := newTestServer(t, Options{Version: "1.2.3"})
	s.Engine().GET("/api/v1/results/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	s.Engine().GET("/api/v1/boom", func(c *gin.Context) { panic("boom") })

	serve(s, http.MethodGet, "/api/v1/results/1", nil)
	serve(s, http.MethodGet, "/api/v1/results/2?x=y", nil)
	serve(s, http.MethodGet, "/api/v1/boom", nil)
	serve(s, http.MethodGet, "/api/v1/secret-id-404", nil)
	serve(s, "BREW", "/api/v1/results/3", nil)

	reg := s.Registry()
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"portalgate_http_requests_total", map[string]string{"route": "/api/v1/results/:id", "method": "GET", "status": "2xx"}, 2},
		{"portalgate_http_requests_total", map[string]string{"route": "/api/v1/boom", "method": "GET", "status": "5xx"}, 1},
		{"portalgate_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "4xx"}, 1},
		{"portalgate_http_requests_total", map[string]string{"route": "unmatched", "method": "OTHER", "status": "4xx"}, 1},
		{"portalgate_http_request_duration_seconds", map[string]string{"route": "/api/v1/results/:id", "method": "GET"}, 2},
		{"portalgate_http_requests_in_flight", map[string]string{}, 0},
		{"portalgate_build_info", map[string]string{"version": "1.2.3"}, 1},
	}
	for _, tt := range tests {
		got, ok := metricValue(t, reg, tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}

	rec := serve(s, http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`portalgate_http_requests_total{method="GET",route="/api/v1/results/:id",status="2xx"} 2`,
		"go_goroutines",
		"process_",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, leaked := range []string{"secret-id-404", "BREW", "x=y"} {
		if strings.Contains(body, leaked) {
			t.Errorf("/metrics exposes %q", leaked)
		}
	}
}

func TestMetricsInFlight(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	s.Engine().GET("/api/v1/slow", func(c *gin.Context) {
		entered <- struct{}{}
		<-release
		c.Status(http.StatusOK)
	})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { serve(s, http.MethodGet, "/api/v1/slow", nil) })
	}
	for range 3 {
		<-entered
	}
	if got, _ := metricValue(t, s.Registry(), "portalgate_http_requests_in_flight", map[string]string{}); got != 3 {
		t.Errorf("in flight = %v, want 3", got)
	}
	close(release)
	wg.Wait()
	if got, _ := metricValue(t, s.Registry(), "portalgate_http_requests_in_flight", map[string]string{}); got != 0 {
		t.Errorf("in flight after = %v, want 0", got)
	}
}

func TestMetricsConcurrentNewSeries(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Engine().GET("/a/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	s.Engine().GET("/b/:id", func(c *gin.Context) { c.Status(http.StatusNotFound) })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				path := "/a/1"
				if i%2 == 1 {
					path = "/b/1"
				}
				s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
			}
		})
	}
	wg.Wait()
	a, _ := metricValue(t, s.Registry(), "portalgate_http_requests_total", map[string]string{"route": "/a/:id", "method": "GET", "status": "2xx"})
	b, _ := metricValue(t, s.Registry(), "portalgate_http_requests_total", map[string]string{"route": "/b/:id", "method": "GET", "status": "4xx"})
	if a != 200 || b != 200 {
		t.Errorf("counts = %v, %v, want 200 each", a, b)
	}
}

func TestBuildInfoWithoutVersion(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	if v, ok := metricValue(t, s.Registry(), "portalgate_build_info", map[string]string{"version": "unknown"}); !ok || v != 1 {
		t.Errorf("build info = %v (present %v), want 1 with version unknown", v, ok)
	}
}

func TestStatusClass(t *testing.T) {
	tests := map[int]string{0: "other", 99: "other", 100: "1xx", 204: "2xx", 302: "3xx", 451: "4xx", 599: "5xx", 600: "other"}
	for status, want := range tests {
		if got := statusClasses[statusClass(status)]; got != want {
			t.Errorf("statusClass(%d) = %q, want %q", status, got, want)
		}
	}
}
