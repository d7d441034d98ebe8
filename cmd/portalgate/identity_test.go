package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/sandbox"
	"github.com/portalgate/portalgate/gateway/sandbox/idp"
)

// clock is the sandbox's injected clock. It starts at the wall clock, since
// the identity provider's library stamps ID tokens with real time, and
// moves only when a test says so.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// testSandbox is a running sandbox assembled as the sandbox command does.
type testSandbox struct {
	*sandboxApp
	url   string
	clock *clock
	index sandbox.Index
}

func startTestSandbox(t *testing.T) *testSandbox {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	c := &clock{now: time.Now()}
	app, err := newSandboxApp(context.Background(), sandboxOptions{
		BaseURL: "http://" + ts.Listener.Addr().String(),
		DataDir: t.TempDir(),
		Now:     c.Now,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = app.server.Handler()
	ts.Start()
	t.Cleanup(func() { ts.Close(); app.store.Close() })
	return &testSandbox{sandboxApp: app, url: ts.URL, clock: c, index: app.sandbox.Index()}
}

// login returns the sandbox login with the given username.
func (s *testSandbox) login(t *testing.T, username string) sandbox.Login {
	t.Helper()
	for _, p := range s.index.People {
		for _, l := range p.Logins {
			if l.Username == username {
				return l
			}
		}
	}
	t.Fatalf("no sandbox login %q", username)
	return sandbox.Login{}
}

func (s *testSandbox) signIn(t *testing.T, username string) *browser {
	t.Helper()
	l := s.login(t, username)
	return s.signInAs(t, l.Username, l.Password)
}

func (s *testSandbox) signInAs(t *testing.T, username, password string) *browser {
	t.Helper()
	b := newBrowser(t)
	resp := b.signIn(s.url+"/auth/login?network=lakeside&returnTo=/api/v1/me", username, password)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/api/v1/me" {
		t.Fatalf("signing in as %s ended at %s with %d", username, resp.Request.URL, resp.StatusCode)
	}
	return b
}

func (s *testSandbox) me(t *testing.T, b *browser) gateway.Me {
	t.Helper()
	var me gateway.Me
	if status := b.getJSON(s.url+"/api/v1/me", &me); status != http.StatusOK {
		t.Fatalf("GET /api/v1/me: %d", status)
	}
	return me
}

func orgsOf(me gateway.Me) []string {
	var orgs []string
	for _, r := range me.Records {
		orgs = append(orgs, r.Org)
	}
	return orgs
}

func TestSignInMeAndLogout(t *testing.T) {
	s := startTestSandbox(t)

	if status := newBrowser(t).getJSON(s.url+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("/api/v1/me without a session: %d, want 401", status)
	}

	b := s.signIn(t, "alex")
	me := s.me(t, b)
	if !me.Enrolled || me.Person.ID != "alex-rivera" || len(me.Records) != 3 {
		t.Fatalf("me = %+v, want Alex enrolled with records at three orgs", me)
	}
	for _, r := range me.Records {
		if r.Patient == "" || r.OrgName == "" {
			t.Errorf("record %+v lacks its patient or org name", r)
		}
	}

	// The same session serves a mobile app as a Bearer token.
	var token string
	u, _ := http.NewRequest(http.MethodGet, s.url+"/", nil)
	for _, c := range b.client.Jar.Cookies(u.URL) {
		if c.Name == "portalgate_session" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no session cookie after sign-in")
	}
	app := newBrowser(t)
	if status, _, _ := app.do(http.MethodGet, s.url+"/api/v1/me", nil, "Authorization", "Bearer "+token); status != http.StatusOK {
		t.Errorf("Bearer session: %d, want 200", status)
	}

	status, body, hdr := b.do(http.MethodPost, s.url+"/auth/logout", nil)
	if status != http.StatusOK || !strings.Contains(string(body), "endSessionUrl") {
		t.Fatalf("logout: %d %s", status, body)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("logout Cache-Control %q", hdr.Get("Cache-Control"))
	}
	if status := b.getJSON(s.url+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Errorf("/api/v1/me after logout: %d, want 401", status)
	}
	if status, _, _ := app.do(http.MethodGet, s.url+"/api/v1/me", nil, "Authorization", "Bearer "+token); status != http.StatusUnauthorized {
		t.Errorf("Bearer after logout: %d, want 401", status)
	}
}

func TestSessionEndsAfterInactivity(t *testing.T) {
	s := startTestSandbox(t)
	b := s.signIn(t, "alex")
	s.clock.Advance(19 * time.Minute)
	if status := b.getJSON(s.url+"/api/v1/me", nil); status != http.StatusOK {
		t.Fatalf("after 19 idle minutes: %d, want 200", status)
	}
	s.clock.Advance(20*time.Minute + time.Second)
	if status := b.getJSON(s.url+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("after 20 idle minutes: %d, want 401", status)
	}
}

func TestActivationCodeWorksOnceAndLocksOutGuessing(t *testing.T) {
	s := startTestSandbox(t)
	login := s.login(t, "blake@lakeside-clinics")
	if login.Enrolled || login.ActivationCode == "" {
		t.Fatalf("the sandbox should list an unused code for %s: %+v", login.Username, login)
	}
	b := s.signIn(t, login.Username)
	if me := s.me(t, b); me.Enrolled || me.Next == "" {
		t.Fatalf("before enrollment me = %+v", me)
	}
	if status := b.getJSON(s.url+"/api/v1/consents", nil); status != http.StatusForbidden {
		t.Errorf("consents before enrollment: %d, want 403", status)
	}

	enroll := func(b *browser, code string) (int, []byte) {
		status, body, _ := b.do(http.MethodPost, s.url+"/api/v1/enrollment", map[string]string{"code": code})
		return status, body
	}
	for i := range 5 {
		if status, body := enroll(b, "WRONG-CODE0-0000"+string(rune('A'+i))); status != http.StatusBadRequest {
			t.Fatalf("wrong code %d: %d %s, want 400", i+1, status, body)
		}
	}
	status, body := enroll(b, login.ActivationCode)
	if status != http.StatusTooManyRequests {
		t.Fatalf("right code while locked out: %d %s, want 429", status, body)
	}

	// The lockout (30 minutes) outlives the session (20 idle minutes).
	s.clock.Advance(30 * time.Minute)
	if status := b.getJSON(s.url+"/api/v1/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("session after 30 idle minutes: %d, want 401", status)
	}
	b = s.signIn(t, login.Username)
	status, body = enroll(b, strings.ToLower(login.ActivationCode))
	if status != http.StatusOK {
		t.Fatalf("right code after the lockout: %d %s", status, body)
	}
	var me gateway.Me
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	// Blake declines to share: this login sees the clinics record only.
	if got := orgsOf(me); !me.Enrolled || len(got) != 1 || got[0] != "lakeside-clinics" {
		t.Fatalf("after enrollment me = %+v", me)
	}

	// Never again, from any login.
	if err := s.sandbox.IdentityProvider().AddUser(idp.User{Subject: "someone-else", Username: "someone", Password: "someone-sandbox", Given: "Some", Family: "One", BirthDate: "1980-01-01"}); err != nil {
		t.Fatal(err)
	}
	other := s.signInAs(t, "someone", "someone-sandbox")
	if status, body := enroll(other, login.ActivationCode); status != http.StatusBadRequest {
		t.Fatalf("a used code: %d %s, want 400", status, body)
	}
	if me := s.me(t, other); me.Enrolled {
		t.Fatal("a used code enrolled another login")
	}

	// Before enrollment the login is nobody's: its sign-ins and wrong codes
	// are in the network's log. From enrollment on, the person sees them.
	network := countKinds(auditEntries(t, newBrowser(t), s.url+"/operator/v1/networks/lakeside/audit", "Authorization", "Bearer "+s.index.OperatorToken), "")
	if network[audit.CodeRejected] != 7 || network[audit.CodeRedeemed] == 0 {
		t.Errorf("network audit: %v, want 7 rejected codes (5 wrong, 1 while locked, 1 used) and the redemption", network)
	}
	b.do(http.MethodPost, s.url+"/auth/logout", nil)
	b = s.signIn(t, login.Username)
	person := countKinds(auditEntries(t, b, s.url+"/api/v1/audit"), "")
	if person[audit.CodeRedeemed] != 1 || person[audit.SignIn] != 1 {
		t.Errorf("Blake's clinics account's audit log: %v, want the redemption and the sign-in since", person)
	}
	// Blake declines to share: the hospital login's events stay with it.
	hospital := s.signIn(t, "blake")
	for _, e := range auditEntries(t, b, s.url+"/api/v1/audit") {
		if e.Account != "" && e.Account != s.me(t, b).Account.ID {
			t.Errorf("the clinics account sees another account's event: %+v", e)
		}
	}
	if kinds := countKinds(auditEntries(t, hospital, s.url+"/api/v1/audit"), ""); kinds[audit.CodeRedeemed] != 0 {
		t.Errorf("the hospital account sees the clinics account's enrollment: %v", kinds)
	}
}

func TestTooYoungToSignUp(t *testing.T) {
	s := startTestSandbox(t)
	login := s.login(t, "jordan") // 17; the sign-up age is 18
	b := s.signIn(t, login.Username)
	status, body, _ := b.do(http.MethodPost, s.url+"/api/v1/enrollment", map[string]string{"code": login.ActivationCode})
	if status != http.StatusForbidden || !strings.Contains(string(body), "too-young") {
		t.Fatalf("a 17-year-old's enrollment: %d %s, want 403 too-young", status, body)
	}
}

func TestDecliningConsentSplitsWhatEachAccountSees(t *testing.T) {
	s := startTestSandbox(t)
	alex := s.signIn(t, "alex")
	if got := orgsOf(s.me(t, alex)); len(got) != 3 {
		t.Fatalf("consenting Alex sees %v, want three orgs", got)
	}

	put := func(b *browser, share bool, key string) (int, []byte, http.Header) {
		return b.do(http.MethodPut, s.url+"/api/v1/consents", map[string]bool{"shareAcrossNetwork": share}, "Idempotency-Key", key)
	}
	status, body, _ := put(alex, false, "decline-1")
	if status != http.StatusOK {
		t.Fatalf("declining: %d %s", status, body)
	}
	var view gateway.ConsentView
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	var consent struct {
		ResourceType string                `json:"resourceType"`
		Provision    struct{ Type string } `json:"provision"`
	}
	if err := json.Unmarshal(view.Consent, &consent); err != nil || consent.ResourceType != "Consent" || consent.Provision.Type != "deny" {
		t.Fatalf("the recorded choice is not a deny Consent: %s", view.Consent)
	}
	// At once: the account now sees its own org only.
	if got := orgsOf(s.me(t, alex)); len(got) != 1 || got[0] != "lakeside-hospital" {
		t.Fatalf("after declining Alex's account sees %v, want lakeside-hospital only", got)
	}

	// A retry with the same key replays; the same key for another body is refused.
	status, _, hdr := put(alex, false, "decline-1")
	if status != http.StatusOK || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d replayed=%q", status, hdr.Get("Idempotent-Replayed"))
	}
	if status, _, _ := put(alex, true, "decline-1"); status != http.StatusUnprocessableEntity {
		t.Errorf("a key reused for another body: %d, want 422", status)
	}

	// A separate account for the clinics record, enrolled with a code the
	// operator issues, sees the clinics only: nothing crosses.
	code := issueCode(t, s, "alex-rivera", "lakeside-clinics")
	if err := s.sandbox.IdentityProvider().AddUser(idp.User{Subject: "alex-rivera@clinics", Username: "alex-clinics", Password: "alex-sandbox", Given: "Alex", Family: "Rivera", BirthDate: "1984-09-05"}); err != nil {
		t.Fatal(err)
	}
	clinics := s.signInAs(t, "alex-clinics", "alex-sandbox")
	if status, body, _ := clinics.do(http.MethodPost, s.url+"/api/v1/enrollment", map[string]string{"code": code}); status != http.StatusOK {
		t.Fatalf("enrolling the clinics account: %d %s", status, body)
	}
	if got := orgsOf(s.me(t, clinics)); len(got) != 1 || got[0] != "lakeside-clinics" {
		t.Fatalf("the clinics account sees %v", got)
	}

	// Consenting again joins them, at once, for both accounts.
	if status, body, _ := put(clinics, true, "consent-2"); status != http.StatusOK {
		t.Fatalf("consenting: %d %s", status, body)
	}
	for name, b := range map[string]*browser{"hospital": alex, "clinics": clinics} {
		if got := orgsOf(s.me(t, b)); len(got) != 3 {
			t.Errorf("after consenting again the %s account sees %v", name, got)
		}
	}
	if kinds := countKinds(auditEntries(t, alex, s.url+"/api/v1/audit"), ""); kinds[audit.ConsentChanged] != 2 {
		t.Errorf("audit shows %d consent changes, want 2: %v", kinds[audit.ConsentChanged], kinds)
	}
}

func TestPortalAPIRefusesBadInputAndChangesNothing(t *testing.T) {
	s := startTestSandbox(t)
	alex := s.signIn(t, "alex")
	for _, body := range []any{"not an object", map[string]any{"shareAcrossNetwork": "yes"}, map[string]any{}, map[string]any{"share": true}} {
		status, raw, hdr := alex.do(http.MethodPut, s.url+"/api/v1/consents", body)
		if status != http.StatusBadRequest || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("PUT consents %v: %d %s, want 400 problem details", body, status, raw)
		}
	}
	if got := orgsOf(s.me(t, alex)); len(got) != 3 {
		t.Errorf("bad input changed what Alex sees: %v", got)
	}
	if status, _, _ := alex.do(http.MethodGet, s.url+"/api/v1/audit?limit=0", nil); status != http.StatusBadRequest {
		t.Errorf("audit limit=0: %d, want 400", status)
	}
	// A cookie-authenticated write from another site is refused.
	status, _, _ := alex.do(http.MethodPut, s.url+"/api/v1/consents", map[string]bool{"shareAcrossNetwork": false}, "Sec-Fetch-Site", "cross-site")
	if status != http.StatusForbidden {
		t.Errorf("cross-site write: %d, want 403", status)
	}
	if got := orgsOf(s.me(t, alex)); len(got) != 3 {
		t.Errorf("a refused cross-site write changed what Alex sees: %v", got)
	}
}

func issueCode(t *testing.T, s *testSandbox, person, org string) string {
	t.Helper()
	op := newBrowser(t)
	status, body, _ := op.do(http.MethodPost, s.url+"/operator/v1/networks/lakeside/activation-codes",
		map[string]string{"person": person, "org": org}, "Authorization", "Bearer "+s.index.OperatorToken)
	if status != http.StatusCreated {
		t.Fatalf("issuing a code: %d %s", status, body)
	}
	var issued gateway.CodeIssued
	if err := json.Unmarshal(body, &issued); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := op.do(http.MethodPost, s.url+"/operator/v1/networks/lakeside/activation-codes",
		map[string]string{"person": person, "org": org}); status != http.StatusUnauthorized {
		t.Errorf("operator API without its token: %d, want 401", status)
	}
	return issued.Code
}
