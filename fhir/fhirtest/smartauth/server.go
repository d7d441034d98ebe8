package smartauth

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// Endpoint paths, relative to the FHIR base URL.
const (
	pathDiscovery  = "/.well-known/smart-configuration"
	pathAuthorize  = "/auth/authorize"
	pathSignIn     = "/auth/login"
	pathToken      = "/auth/token"
	pathRevoke     = "/auth/revoke"
	pathIntrospect = "/auth/introspect"
)

// signInLifetime is how long a sign-in page stays usable.
const signInLifetime = 10 * time.Minute

// Server is a SMART authorization server for one simulated EHR. It
// implements fhirtest.Authorizer. Its methods are safe for concurrent use.
type Server struct {
	now             func() time.Time
	tokenLifetime   time.Duration
	codeLifetime    time.Duration
	refreshLifetime time.Duration
	httpClient      *http.Client

	mu      sync.RWMutex
	clients map[string]*Client
	users   map[string]*User

	store *store
}

var _ fhirtest.Authorizer = (*Server)(nil)

// New returns a server for cfg. It panics if a client or user in cfg is
// invalid, as a malformed static configuration is a programming error;
// RegisterClient and AddUser report the same problems as errors.
func New(cfg Config) *Server {
	s := &Server{
		now:             cfg.Clock,
		tokenLifetime:   orDefault(cfg.TokenLifetime, DefaultTokenLifetime),
		codeLifetime:    orDefault(cfg.CodeLifetime, DefaultCodeLifetime),
		refreshLifetime: orDefault(cfg.RefreshLifetime, DefaultRefreshLifetime),
		httpClient:      cfg.HTTPClient,
		clients:         make(map[string]*Client),
		users:           make(map[string]*User),
		store:           newStore(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	for _, c := range cfg.Clients {
		if err := s.RegisterClient(c); err != nil {
			panic(err)
		}
	}
	for _, u := range cfg.Users {
		if err := s.AddUser(u); err != nil {
			panic(err)
		}
	}
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// RegisterClient registers c, replacing any client with the same ID.
// Tokens already issued to the client stay valid.
func (s *Server) RegisterClient(c Client) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("smartauth: register client: %w", err)
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	if c.Scopes != nil {
		c.Scopes = append([]string{}, c.Scopes...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = &c
	return nil
}

// AddUser adds a user who can sign in, replacing any with the same name.
func (s *Server) AddUser(u User) error {
	if err := u.validate(); err != nil {
		return fmt.Errorf("smartauth: add user: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Username] = &u
	return nil
}

// RevokePatientTokens revokes every grant for the patient: access and
// refresh tokens, and codes not yet exchanged. It returns how many grants
// it revoked.
func (s *Server) RevokePatientTokens(patient string) int {
	return s.store.revokeGrants(func(g *grant) bool { return g.patient == patient })
}

// RevokeClientTokens revokes every grant of the client and returns how
// many it revoked.
func (s *Server) RevokeClientTokens(clientID string) int {
	return s.store.revokeGrants(func(g *grant) bool { return g.clientID == clientID })
}

func (s *Server) client(id string) (*Client, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	return c, ok
}

func (s *Server) user(name string) (*User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[name]
	return u, ok
}

// ServeAuth serves discovery and the /auth/ endpoints. Paths are relative
// to the FHIR base URL, which fhirtest.BaseURL(r) gives.
func (s *Server) ServeAuth(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathDiscovery:
		s.serveDiscovery(w, r)
	case pathAuthorize:
		s.serveAuthorize(w, r)
	case pathSignIn:
		s.serveSignIn(w, r)
	case pathToken:
		s.serveToken(w, r)
	case pathRevoke:
		s.serveRevoke(w, r)
	case pathIntrospect:
		s.serveIntrospect(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Authenticate returns what the request's bearer token allows. Patient
// tokens carry their patient; backend tokens carry none.
func (s *Server) Authenticate(r *http.Request) (fhirtest.Access, error) {
	secret, ok := bearerToken(r)
	if !ok {
		return fhirtest.Access{}, fmt.Errorf("%w: no bearer token", fhirtest.ErrUnauthorized)
	}
	t, err := s.store.live(secret, s.now())
	if err == nil && t.kind != kindAccess {
		err = errUnknown // a refresh token is not an access token
	}
	if err != nil {
		return fhirtest.Access{}, fmt.Errorf("%w: access token %w", fhirtest.ErrUnauthorized, err)
	}
	return fhirtest.Access{
		Subject:  t.subject,
		ClientID: t.clientID,
		Patient:  t.patient,
		Scopes:   t.scopes,
	}, nil
}

// bearerToken reads an RFC 6750 Authorization header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// baseURL is the FHIR base the request was made to. Without one in the
// context, the server is taken to be mounted at the root of its host.
func baseURL(r *http.Request) string {
	if base := fhirtest.BaseURL(r); base != "" {
		return base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// allowMethods answers 405 unless r uses one of methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// allowCORS lets browser apps call public endpoints from any origin. They
// take no cookies, so a wildcard origin exposes nothing. It reports whether
// the request was a preflight, which is then fully answered.
func allowCORS(w http.ResponseWriter, r *http.Request) (preflight bool) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
