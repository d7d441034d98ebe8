package gateway

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the per-request metrics. Resolving a labelled child of
// a vector hashes the labels and allocates on every call, so children are
// resolved once per series and kept in a copy-on-write map that requests
// read without locking. The key space is bounded: route templates, the
// standard methods and five status classes.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	mu     sync.Mutex // serializes writers of series
	series atomic.Pointer[map[seriesKey]seriesMetrics]
}

type seriesKey struct {
	route, method string
	class         int
}

type seriesMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

func newHTTPMetrics(reg prometheus.Registerer, version string) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portalgate_http_requests_total",
			Help: "HTTP requests served, by route template, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portalgate_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portalgate_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "portalgate_build_info",
		Help:        "Always 1; the version label names the running build.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	buildInfo.Set(1)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight, buildInfo} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: register HTTP metrics: %w", err)
		}
	}
	m.series.Store(&map[seriesKey]seriesMetrics{})
	return m, nil
}

func (m *httpMetrics) observe(route, method string, status int, elapsed time.Duration) {
	sm := m.seriesFor(seriesKey{routeLabel(route), methodLabel(method), statusClass(status)})
	sm.requests.Inc()
	sm.duration.Observe(elapsed.Seconds())
}

func (m *httpMetrics) seriesFor(k seriesKey) seriesMetrics {
	if sm, ok := (*m.series.Load())[k]; ok {
		return sm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	current := *m.series.Load()
	if sm, ok := current[k]; ok {
		return sm
	}
	sm := seriesMetrics{
		requests: m.requests.WithLabelValues(k.route, k.method, statusClasses[k.class]),
		duration: m.duration.WithLabelValues(k.route, k.method),
	}
	next := maps.Clone(current)
	next[k] = sm
	m.series.Store(&next)
	return sm
}

// metricsMiddleware counts and times every request, including those whose
// handler panics (counted as the 500 the recover middleware answers).
func (s *Server) metricsMiddleware(c *gin.Context) {
	start := s.now()
	s.metrics.inFlight.Inc()
	completed := false
	defer func() {
		s.metrics.inFlight.Dec()
		s.metrics.observe(c.FullPath(), c.Request.Method, responseStatus(c, completed), s.now().Sub(start))
	}()
	c.Next()
	completed = true
}
