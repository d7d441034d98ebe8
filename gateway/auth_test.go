package gateway

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/identity"
)

// Failed sign-ins are filed under the network of the pending login the
// state names: never under one a cookie claims, and not at all when the
// state names no login.
func TestFailedSignInsAreFiledUnderTheLoginsNetwork(t *testing.T) {
	const loginCookieName = "portalgate_login"
	verifiedButWeak := &identity.LoginError{Network: "lakeside", Issuer: issuerOf("lakeside"), Subject: "sub-7",
		Err: fmt.Errorf("%w: this network requires two-step verification", identity.ErrAuthContext)}
	tests := []struct {
		name    string
		query   string
		cookie  string // "" sends none
		finish  error
		abandon func(string) (string, error)
		status  int
		// want is the event expected in lakeside's log; none when Detail is "".
		want audit.Summary
		// wantDetail is the failure's detail in the operators' view.
		wantDetail string
	}{
		{
			name: "finished in another browser, no cookie", query: "state=s1&code=c",
			finish: &identity.LoginError{Network: "lakeside", Err: identity.ErrBindingMismatch},
			status: http.StatusBadRequest, want: audit.Summary{Kind: audit.SignInFailed}, wantDetail: "sign-in finished in another browser",
		},
		{
			name: "a cookie naming another network", query: "state=s1&code=c", cookie: "summit.forged",
			finish: &identity.LoginError{Network: "lakeside", Err: identity.ErrBindingMismatch},
			status: http.StatusBadRequest, want: audit.Summary{Kind: audit.SignInFailed}, wantDetail: "sign-in finished in another browser",
		},
		{
			name: "a replay", query: "state=s1&code=c",
			finish: &identity.LoginError{Network: "lakeside", Err: identity.ErrLoginExpired},
			status: http.StatusBadRequest, want: audit.Summary{Kind: audit.SignInFailed}, wantDetail: "sign-in expired or replayed",
		},
		{
			name: "a state naming no login, with a cookie naming a network", query: "state=made-up&code=c", cookie: "lakeside.forged",
			finish: identity.ErrLoginExpired, status: http.StatusBadRequest,
		},
		{
			name: "a verified login without its second factor", query: "state=s1&code=c",
			finish: verifiedButWeak, status: http.StatusForbidden,
			want:       audit.Summary{Kind: audit.SignInFailed, Account: accounts.AccountID("lakeside", issuerOf("lakeside"), "sub-7")},
			wantDetail: "two-step verification missing",
		},
		{
			name: "the provider refused a pending login, no cookie", query: "error=access_denied&state=s1",
			abandon: func(string) (string, error) { return "lakeside", nil },
			status:  http.StatusUnauthorized, want: audit.Summary{Kind: audit.SignInFailed}, wantDetail: "provider refused: access_denied",
		},
		{
			name: "the provider sent an unknown error", query: "error=%3Cscript%3E&state=s1", cookie: "summit.forged",
			abandon: func(string) (string, error) { return "lakeside", nil },
			status:  http.StatusUnauthorized, want: audit.Summary{Kind: audit.SignInFailed}, wantDetail: "provider refused: unrecognised error",
		},
		{
			name: "a provider error naming no login", query: "error=access_denied&state=made-up", cookie: "lakeside.forged",
			abandon: func(string) (string, error) { return "", identity.ErrLoginExpired },
			status:  http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newPortalHarness(t)
			var bindings []string
			h.login.script(func(_, _, binding string) (*identity.Identity, error) {
				bindings = append(bindings, binding)
				return nil, tt.finish
			}, tt.abandon)
			var header []string
			if tt.cookie != "" {
				header = []string{"Cookie", loginCookieName + "=" + tt.cookie}
			}
			rec := h.do(http.MethodGet, "/auth/callback?"+tt.query, nil, header...)
			if rec.Code != tt.status {
				t.Fatalf("callback: %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.abandon != nil && (len(h.login.abandoned) != 1 || h.login.abandoned[0] == "") {
				t.Errorf("the provider's error abandoned logins %q, want the state's", h.login.abandoned)
			}
			if tt.cookie != "" && tt.finish != nil && (len(bindings) != 1 || bindings[0] != tt.cookie) {
				t.Errorf("FinishLogin got bindings %q, want the cookie %q as it is", bindings, tt.cookie)
			}
			if got := h.events("summit"); len(got) != 0 {
				t.Errorf("summit's log holds %+v: the cookie chose the network", got)
			}
			got := h.events("lakeside")
			if tt.want.Kind == "" {
				if len(got) != 0 {
					t.Fatalf("lakeside's log holds %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("lakeside's log holds %d events, want 1", len(got))
			}
			s, d := got[0].Summary, got[0].Details
			if s.Kind != tt.want.Kind || s.Account != tt.want.Account || s.Actor != "" || d.Detail != tt.wantDetail || d.ClientIP != "192.0.2.1" || d.RequestID == "" {
				t.Errorf("event %+v %+v, want %+v with detail %q from 192.0.2.1", s, d, tt.want, tt.wantDetail)
			}
		})
	}
}

// A login not enrolled yet signs in under the account id it will have,
// so that what it does before enrollment can be tied to it.
func TestSignInOfALoginNotEnrolledNamesItsAccount(t *testing.T) {
	h := newPortalHarness(t)
	h.signIn("summit", "sub-9")
	got := h.events("summit")
	want := accounts.AccountID("summit", issuerOf("summit"), "sub-9")
	if len(got) != 1 || got[0].Summary.Kind != audit.SignIn || got[0].Summary.Account != want || got[0].Summary.Actor != "" {
		t.Fatalf("summit's log = %+v, want a sign-in of account %s", got, want)
	}
}
