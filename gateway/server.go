package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure a Server. The zero value is usable: it logs to
// slog.Default, creates its own metrics registry and trusts no proxy.
type Options struct {
	// Logger receives the access log, panics and failing readiness checks.
	// Records logged with a request's context carry its request id.
	Logger *slog.Logger
	// Registry holds the HTTP metrics and is served at GET /metrics. Other
	// packages register their collectors on the same registry. When nil, a
	// new one with the Go runtime and process collectors is created.
	Registry *prometheus.Registry
	// TLS says that clients reach the gateway over HTTPS (terminated here
	// or by a proxy in front), which turns on Strict-Transport-Security.
	TLS bool
	// TrustedProxies lists the addresses or CIDRs of proxies whose
	// X-Forwarded-For is believed. Empty trusts none.
	TrustedProxies []string
	// Version is exported as the portalgate_build_info metric ("unknown"
	// when empty).
	Version string
	// ReadyCheckTimeout bounds each readiness check (default 2s).
	ReadyCheckTimeout time.Duration
	// Now is the clock used to time requests (default time.Now).
	Now func() time.Time
}

// Server is the gateway's HTTP core: a Gin engine with the standard
// middleware chain, error formats and operational endpoints installed.
// Other packages mount their routes on Engine or with Mount.
type Server struct {
	engine  *gin.Engine
	logger  *slog.Logger
	metrics *httpMetrics
	now     func() time.Time
	tls     bool

	registry     *prometheus.Registry
	readyTimeout time.Duration
	ready        atomic.Bool
	checksMu     sync.Mutex
	checks       []readyCheck
}

// Well-known prefixes of the gateway's surfaces.
const (
	// FHIRPrefix is the root of the FHIR face; errors below it are
	// answered as OperationOutcome.
	FHIRPrefix = "/fhir"
	// APIPrefix is the root of the portal API; its errors are problem details.
	APIPrefix = "/api/v1"
)

const defaultReadyCheckTimeout = 2 * time.Second

var setGinMode sync.Once

// New builds a Server from opts. It fails when a trusted proxy is not an
// IP address or CIDR, or when the HTTP metrics are already registered on
// opts.Registry.
func New(opts Options) (*Server, error) {
	setGinMode.Do(func() { gin.SetMode(gin.ReleaseMode) })

	s := &Server{
		logger:       opts.Logger,
		registry:     opts.Registry,
		now:          opts.Now,
		tls:          opts.TLS,
		readyTimeout: opts.ReadyCheckTimeout,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	// The access log relies on the request id coming from the context.
	s.logger = slog.New(WithRequestID(s.logger.Handler()))
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.readyTimeout <= 0 {
		s.readyTimeout = defaultReadyCheckTimeout
	}

	version := opts.Version
	if version == "" {
		version = "unknown"
	}
	metrics, err := newHTTPMetrics(s.registry, version)
	if err != nil {
		return nil, err
	}
	s.metrics = metrics

	e := gin.New()
	if err := e.SetTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, fmt.Errorf("gateway: trusted proxies: %w", err)
	}
	// Redirects would be answered by Gin before any middleware runs,
	// without security headers, logs or metrics: answer 404 instead.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	// Lets handlers pass *gin.Context wherever a context.Context is needed.
	e.ContextWithFallback = true

	e.Use(
		requestIDMiddleware,
		s.recoverMiddleware,
		s.securityHeadersMiddleware,
		s.accessLogMiddleware,
		s.metricsMiddleware,
	)
	e.NoRoute(func(c *gin.Context) { WriteError(c, http.StatusNotFound, "no such route") })
	e.NoMethod(func(c *gin.Context) {
		WriteError(c, http.StatusMethodNotAllowed, "method not allowed on this route")
	})

	e.GET("/healthz", healthz)
	e.HEAD("/healthz", healthz) // some load balancers probe with HEAD
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	})))

	s.engine = e
	return s, nil
}

// Engine returns the Gin engine so that other packages can add routes and
// groups. Routes added there get the whole middleware chain.
func (s *Server) Engine() *gin.Engine { return s.engine }

// Handler returns the http.Handler to pass to Serve.
func (s *Server) Handler() http.Handler { return s.engine }

// Registry returns the metrics registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Logger returns the server's logger, which adds request ids from contexts.
func (s *Server) Logger() *slog.Logger { return s.logger }

// Mount serves every request under prefix (for example "/sandbox/idp")
// with h, for any method, behind the same middleware chain. h sees the
// path with the prefix stripped ("/sandbox/idp/login" arrives as
// "/login", and the bare prefix as "/", since a FHIR base is addressed
// bare by HAPI-style paging links "{base}?_getpages=…"); r.RequestURI
// keeps the original. prefix is literal: it may
// not hold route parameters. Mount panics on a malformed or conflicting
// prefix or a nil handler, as Gin does for routes.
//
// The security headers are already set when h runs; a handler serving
// HTML replaces Content-Security-Policy with a policy of its own.
func (s *Server) Mount(prefix string, h http.Handler) {
	prefix = strings.TrimSuffix(prefix, "/")
	if !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, ":*") {
		panic(fmt.Sprintf("gateway: Mount prefix %q must start with / and hold no route parameters", prefix))
	}
	if h == nil {
		panic(fmt.Sprintf("gateway: Mount %q with a nil handler", prefix))
	}
	s.engine.Any(prefix+"/*rest", gin.WrapH(http.StripPrefix(prefix, h)))
	s.engine.Any(prefix, gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path, r2.URL.RawPath = "/", ""
		h.ServeHTTP(w, r2)
	})))
}
