package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/session"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/tenants"
)

// portalNetworks are two networks, so that a test can tell which one an
// event was filed under.
const portalNetworks = `version: 1
networks:
  - id: lakeside
    name: Lakeside Health
    accountModel: consent
    identity:
      issuer: https://idp.lakeside.test
      clientID: portalgate
      clientSecret: test-only
      redirectURL: https://portal.test/auth/callback
    orgs:
      - id: hospital
        name: Lakeside Hospital
        membership: affiliated
        endpoints:
          - platform: smart
            fhirBaseURL: https://hospital.lakeside.test/fhir
            auth: {kind: none}
      - id: clinics
        name: Lakeside Clinics
        membership: affiliated
        endpoints:
          - platform: smart
            fhirBaseURL: https://clinics.lakeside.test/fhir
            auth: {kind: none}
  - id: summit
    name: Summit Health
    accountModel: network
    identity:
      issuer: https://idp.summit.test
      clientID: portalgate
      clientSecret: test-only
      redirectURL: https://portal.test/auth/callback
    orgs:
      - id: north
        name: Summit North
        membership: affiliated
        endpoints:
          - platform: smart
            fhirBaseURL: https://north.summit.test/fhir
            auth: {kind: none}
`

const testOperatorToken = "operator-token-of-at-least-thirty-two-characters"

// scriptedLogin is a LoginFlow whose callbacks end as the test says,
// keeping the contract of identity.Service: once a state names a login,
// failures are an *identity.LoginError naming its network.
type scriptedLogin struct {
	mu sync.Mutex
	// finish and abandon answer FinishLogin and AbandonLogin.
	finish  func(state, code, binding string) (*identity.Identity, error)
	abandon func(state string) (string, error)
	// abandoned lists the states AbandonLogin was asked to end.
	abandoned []string
}

func (l *scriptedLogin) StartLogin(_ context.Context, network, _ string) (identity.Login, error) {
	return identity.Login{AuthURL: "https://idp." + network + ".test/authorize", Binding: "binding-1", Expires: time.Now().Add(10 * time.Minute)}, nil
}

func (l *scriptedLogin) FinishLogin(_ context.Context, state, code, binding string) (*identity.Identity, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.finish(state, code, binding)
}

func (l *scriptedLogin) AbandonLogin(_ context.Context, state string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.abandoned = append(l.abandoned, state)
	return l.abandon(state)
}

func (l *scriptedLogin) EndSessionURL(context.Context, string, string, string) (string, bool) {
	return "", false
}

// script sets how the next callbacks end.
func (l *scriptedLogin) script(finish func(state, code, binding string) (*identity.Identity, error), abandon func(string) (string, error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.finish, l.abandon = finish, abandon
}

// portalHarness is the portal on real accounts, sessions and audit
// services over one store, with a scripted sign-in.
type portalHarness struct {
	t        *testing.T
	srv      *Server
	login    *scriptedLogin
	accounts *accounts.Service
	trail    *audit.Log
	clock    *fakeClock
}

func newPortalHarness(t *testing.T) *portalHarness {
	t.Helper()
	cfg, err := tenants.Load("portal.yaml", []byte(portalNetworks), tenants.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	st, err := boltstore.Open(boltstore.Options{Path: filepath.Join(t.TempDir(), "portal.db"), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	accts, err := accounts.NewService(st, accounts.Options{Networks: cfg.Network, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.NewManager(st, session.Options{Policy: session.PolicyFromNetworks(cfg.Network), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.NewLog(st, audit.Options{Source: "gateway.test", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	login := &scriptedLogin{}
	login.script(func(string, string, string) (*identity.Identity, error) { return nil, identity.ErrLoginExpired },
		func(string) (string, error) { return "", identity.ErrLoginExpired })
	srv, _ := newTestServer(t, Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	err = srv.RegisterPortal(Portal{
		Networks: cfg.Network, Login: login, Sessions: sessions, Accounts: accts, Audit: trail,
		Idempotency: st, OperatorToken: testOperatorToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &portalHarness{t: t, srv: srv, login: login, accounts: accts, trail: trail, clock: clock}
}

// do sends a request from 192.0.2.1; a non-nil body is JSON; header holds
// name, value pairs.
func (h *portalHarness) do(method, target string, body any, header ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = "192.0.2.1:4321"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// operator sends a request with the operator token.
func (h *portalHarness) operator(method, target string, body any) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(method, target, body, "Authorization", "Bearer "+testOperatorToken)
}

// signIn finishes a scripted sign-in of subject at network's provider and
// returns the session as a Bearer header value.
func (h *portalHarness) signIn(network, subject string) string {
	h.t.Helper()
	h.login.script(func(string, string, string) (*identity.Identity, error) {
		return &identity.Identity{Network: network, Issuer: issuerOf(network), Subject: subject, ReturnTo: "/"}, nil
	}, nil)
	rec := h.do(http.MethodGet, "/auth/callback?state=s&code=c", nil)
	if rec.Code != http.StatusSeeOther {
		h.t.Fatalf("sign-in of %s: %d %s", subject, rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == session.CookieName(false) {
			return "Bearer " + c.Value
		}
	}
	h.t.Fatal("no session cookie after sign-in")
	return ""
}

func issuerOf(network string) string { return "https://idp." + network + ".test" }

// register puts a person born in 1984 through the operator API.
func (h *portalHarness) register(network, person string, records ...accounts.Record) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.operator(http.MethodPut, "/operator/v1/networks/"+network+"/people/"+person,
		map[string]any{"given": "Given", "family": "Family", "birthDate": "1984-07-02", "records": records})
}

// issueCode issues an activation code through the operator API.
func (h *portalHarness) issueCode(network, person, org string) string {
	h.t.Helper()
	rec := h.operator(http.MethodPost, "/operator/v1/networks/"+network+"/activation-codes", map[string]string{"person": person, "org": org})
	if rec.Code != http.StatusCreated {
		h.t.Fatalf("issuing a code: %d %s", rec.Code, rec.Body)
	}
	return decodeBody[CodeIssued](h.t, rec).Code
}

// events reads every event of network's log.
func (h *portalHarness) events(network string) []audit.Entry {
	h.t.Helper()
	entries, _, err := h.trail.Network(h.t.Context(), network, audit.Page{Limit: audit.MaxPageLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	return v
}
