package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/audit"
)

// startLogin starts a sign-in at the sandbox without following the
// redirect to the provider, and returns the login's state.
func startLogin(t *testing.T, s *testSandbox) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.url + "/auth/login?network=lakeside")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || to.Query().Get("state") == "" {
		t.Fatalf("starting a login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return to.Query().Get("state")
}

// Callbacks that arrive without the login cookie are audited under the
// network of the login their state names; those naming no login are not.
func TestCallbacksWithoutTheLoginCookieAreAudited(t *testing.T) {
	s := startTestSandbox(t)
	b := newBrowser(t)
	for _, tt := range []struct {
		query  string
		status int
	}{
		{"state=" + url.QueryEscape(startLogin(t, s)) + "&code=anything", http.StatusBadRequest},
		{"state=" + url.QueryEscape(startLogin(t, s)) + "&error=access_denied", http.StatusUnauthorized},
		{"state=made-up&code=anything", http.StatusBadRequest},
		{"state=made-up&error=access_denied", http.StatusUnauthorized},
	} {
		if status, body, _ := b.do(http.MethodGet, s.url+"/auth/callback?"+tt.query, nil); status != tt.status {
			t.Errorf("callback %s: %d %s, want %d", tt.query, status, body, tt.status)
		}
	}

	var view gateway.OperatorAuditView
	status, raw, _ := b.do(http.MethodGet, s.url+"/operator/v1/networks/lakeside/audit?limit=500", nil, "Authorization", "Bearer "+s.index.OperatorToken)
	if status != http.StatusOK {
		t.Fatalf("operator audit: %d %s", status, raw)
	}
	if err := json.Unmarshal(raw, &view); err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range view.Entries {
		if e.Kind == audit.SignInFailed {
			details = append(details, e.Detail)
		}
	}
	want := []string{"sign-in finished in another browser", "provider refused: access_denied"}
	if len(details) != len(want) || details[0] != want[0] || details[1] != want[1] {
		t.Errorf("failed sign-ins audited: %q, want %q", details, want)
	}
}
