package fhirtest

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// Server is an in-memory FHIR R4 server. It is an http.Handler serving paths
// relative to its base URL (mount it behind http.StripPrefix), safe for
// concurrent use:
//
//	GET  metadata                     CapabilityStatement (public)
//	GET  {type}?…, POST {type}/_search search, paged through {base}?_getpages=…
//	POST {type}                       create (If-None-Exist for a conditional create)
//	GET  {type}/{id}[/_history/{v}]   read (ETag, Last-Modified, If-None-Match)
//	PUT  {type}/{id}                  update or create (If-Match)
//	GET  Patient/{id}/$everything     when the platform has it
//	     auth/…, .well-known/smart-configuration   the Authorizer's, if any
//
// Resources are stored as compact JSON with the values searches need
// extracted once, at load or write time.
type Server struct {
	platform fhir.Platform
	auth     Authorizer
	now      func() time.Time

	baseURL   string // absolute, when fixed by WithPublicBaseURL
	prefix    string // the path the server is mounted at
	prefixSet bool

	store  *store
	pages  *pageCache
	faults faultState
	log    *requestLog

	randMu sync.Mutex
	rand   *rand.Rand
}

// Option configures a Server.
type Option func(*Server)

// WithPlatform makes the server imitate a platform's quirks.
func WithPlatform(p fhir.Platform) Option { return func(s *Server) { s.platform = p } }

// WithAuthorizer guards the server: every request but metadata and the
// authorizer's own endpoints needs a token it accepts.
func WithAuthorizer(a Authorizer) Option { return func(s *Server) { s.auth = a } }

// WithClock sets the clock used for lastUpdated, bundle timestamps and the
// expiry of paging snapshots.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithPublicBaseURL fixes the absolute base URL written into links,
// fullUrls and Location headers, such as "https://ehr.example/fhir", for a
// server reached through a proxy that hides it.
func WithPublicBaseURL(base string) Option {
	return func(s *Server) { s.baseURL = strings.TrimSuffix(base, "/") }
}

// WithPathPrefix names the path the server is mounted at, such as
// "/sandbox/epic/fhir"; absolute URLs are then built from the request's
// scheme and Host. Without it (and without WithPublicBaseURL) the prefix is read
// from the difference between the request URI and the path the server sees,
// which is what http.StripPrefix leaves.
func WithPathPrefix(prefix string) Option {
	return func(s *Server) { s.prefix, s.prefixSet = strings.TrimSuffix(prefix, "/"), true }
}

// WithRand sets the source of fault draws and assigned ids, for
// reproducible tests.
func WithRand(r *rand.Rand) Option { return func(s *Server) { s.rand = r } }

// New returns an empty server.
func New(opts ...Option) *Server {
	s := &Server{
		platform: fhir.Platform{Name: "generic"},
		now:      time.Now,
		store:    newStore(),
		log:      newRequestLog(requestLogSize),
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.rand == nil {
		s.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	s.pages = newPageCache(maxSnapshots)
	return s
}

// Platform returns the platform the server imitates.
func (s *Server) Platform() fhir.Platform { return s.platform }

// ServeHTTP serves FHIR requests, the authorizer's endpoints, and faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	entry := &Request{Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	logRequest := sync.OnceFunc(func() {
		entry.Status = sw.status
		s.log.add(*entry)
	})
	defer logRequest()
	// Logged as the status goes out, before any of the body: a client that has read the
	// reply finds its request in the log.
	sw.onStatus = logRequest
	r = r.WithContext(withLogEntry(WithBaseURL(r.Context(), s.base(r)), entry))

	faults := s.Faults()
	if s.injectFault(sw, r, faults, logRequest) {
		return
	}
	if faults.Malformed {
		mw := &malformedWriter{statusWriter: sw}
		s.route(mw, r)
		mw.flush()
		return
	}
	s.route(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if corsPreflight(w, r) {
		return
	}
	path := r.URL.Path
	if s.auth != nil && (strings.HasPrefix(path, "/auth/") || path == "/.well-known/smart-configuration") {
		s.auth.ServeAuth(w, r)
		return
	}
	if strings.Trim(path, "/") == "metadata" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.capabilities(w, r)
		return
	}
	g := systemGrant
	if s.auth != nil {
		access, err := s.auth.Authenticate(r)
		switch {
		case errors.Is(err, ErrUnauthorized):
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
			fhir.WriteOutcome(w, http.StatusUnauthorized, fhir.SeverityError, "login", "a valid bearer token is required")
			return
		case err != nil:
			fhir.WriteOutcome(w, http.StatusInternalServerError, fhir.SeverityError, "exception", "the token could not be checked")
			return
		}
		g = newGrant(access)
	}
	s.serveFHIR(w, r, g)
}

// serveFHIR dispatches a request on its path: [Type], [Type, _search],
// [Type, id], [Type, id, _history, v], [Patient, id, $everything], or the
// base with a paging token.
func (s *Server) serveFHIR(w http.ResponseWriter, r *http.Request, g *grant) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if segs[0] == "" {
		if r.Method == http.MethodGet && r.URL.Query().Has(pageTokenParam) {
			s.servePage(w, r, g)
			return
		}
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-supported", "the base URL answers paging requests only")
		return
	}
	typ := segs[0]
	if !isTypeName(typ) {
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-found", "unknown path")
		return
	}
	switch {
	case len(segs) == 1:
		switch r.Method {
		case http.MethodGet:
			s.search(w, r, typ, r.URL.Query(), g)
		case http.MethodPost:
			s.create(w, r, typ, g)
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodPost)
		}
	case len(segs) == 2 && segs[1] == "_search":
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet, http.MethodPost)
			return
		}
		params, err := searchParams(w, r)
		if err != nil {
			fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", err.Error())
			return
		}
		logQuery(r, params)
		s.search(w, r, typ, params, g)
	case len(segs) == 2:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.read(w, r, typ, segs[1], "", g)
		case http.MethodPut:
			s.update(w, r, typ, segs[1], g)
		default:
			methodNotAllowed(w, http.MethodGet, http.MethodPut)
		}
	case len(segs) == 3 && typ == "Patient" && segs[2] == "$everything":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.everything(w, r, segs[1], g)
	case len(segs) == 4 && segs[2] == "_history":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.read(w, r, typ, segs[1], segs[3], g)
	default:
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-supported", "unknown path")
	}
}

// maxFormBody caps a POST _search body.
const maxFormBody = 1 << 20

// searchParams merges the query string with a form-encoded body, as FHIR
// reads a POST _search.
func searchParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	params := r.URL.Query()
	if r.Method != http.MethodPost {
		return params, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, vs := range r.PostForm {
		params[k] = append(params[k], vs...)
	}
	return params, nil
}

// base returns the absolute base URL of the server for a request.
func (s *Server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); fwd != "" {
		if p := strings.ToLower(strings.TrimSpace(fwd)); p == "http" || p == "https" {
			scheme = p
		}
	}
	prefix := s.prefix
	if !s.prefixSet {
		prefix = strippedPrefix(r)
	}
	return scheme + "://" + r.Host + prefix
}

// strippedPrefix returns what was cut from the front of the request path
// before it reached the server (http.StripPrefix keeps RequestURI whole).
func strippedPrefix(r *http.Request) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	full, seen := u.EscapedPath(), r.URL.EscapedPath()
	if !strings.HasSuffix(full, seen) {
		return ""
	}
	return strings.TrimSuffix(full[:len(full)-len(seen)], "/")
}

func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	fhir.WriteOutcome(w, http.StatusMethodNotAllowed, fhir.SeverityError, "not-supported", "method not allowed here")
}

// corsPreflight lets browser apps call the server: it marks every reply as
// shareable and answers preflight requests itself.
func corsPreflight(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Last-Modified, Retry-After, Content-Location")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, Prefer")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// randomHex returns n random bytes as hex from the server's source.
func (s *Server) randomHex(n int) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*n)
	s.randMu.Lock()
	for i := 0; i < n; i++ {
		b := s.rand.Uint32()
		out[2*i], out[2*i+1] = digits[b>>4&0xf], digits[b&0xf]
	}
	s.randMu.Unlock()
	return string(out)
}

// newID returns an id for a resource the server names.
func (s *Server) newID() string { return s.randomHex(16) }

func (s *Server) draw() float64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64()
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	// onStatus runs once the status is known, before it is sent.
	onStatus func()
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) setStatus(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.onStatus != nil {
		w.onStatus()
	}
}

// Unwrap lets http.ResponseController reach the connection (Hijack, Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
