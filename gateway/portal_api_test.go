package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
)

// Wrong codes of a login not enrolled yet carry the account id the login
// gets at enrollment; operators see why each event failed, from where and
// in which request; the patient sees none of that.
func TestOperatorsSeeDetailsThatPatientsDoNot(t *testing.T) {
	h := newPortalHarness(t)
	if rec := h.register("lakeside", "alex", accounts.Record{Org: "hospital", Patient: "h-alex"}); rec.Code != http.StatusOK {
		t.Fatalf("registering alex: %d %s", rec.Code, rec.Body)
	}
	code := h.issueCode("lakeside", "alex", "hospital")
	session := h.signIn("lakeside", "sub-1")
	if rec := h.do(http.MethodPost, "/api/v1/enrollment", map[string]string{"code": "00000-00000-00000"}, "Authorization", session); rec.Code != http.StatusBadRequest {
		t.Fatalf("a wrong code: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(http.MethodPost, "/api/v1/enrollment", map[string]string{"code": code}, "Authorization", session)
	if rec.Code != http.StatusOK {
		t.Fatalf("enrolling: %d %s", rec.Code, rec.Body)
	}
	account := decodeBody[Me](t, rec).Account.ID

	rec = h.operator(http.MethodGet, "/operator/v1/networks/lakeside/audit?limit=100", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("operator audit: %d %s", rec.Code, rec.Body)
	}
	view := decodeBody[OperatorAuditView](t, rec)
	byKind := map[audit.Kind]OperatorAuditEntry{}
	for _, e := range view.Entries {
		if e.ID == "" || e.ClientIP != "192.0.2.1" || e.RequestID == "" {
			t.Errorf("entry %+v lacks its id, client address or request id", e)
		}
		byKind[e.Kind] = e
	}
	rejected := byKind[audit.CodeRejected]
	if rejected.Detail != "activation code rejected" || rejected.Account != account {
		t.Errorf("the wrong code: %+v, want its detail and account %s", rejected, account)
	}
	if signIn := byKind[audit.SignIn]; signIn.Account != account || signIn.Actor != "" {
		t.Errorf("the sign-in before enrollment: %+v, want account %s", signIn, account)
	}

	rec = h.do(http.MethodGet, "/api/v1/audit", nil, "Authorization", session)
	if rec.Code != http.StatusOK || len(decodeBody[AuditView](t, rec).Entries) == 0 {
		t.Fatalf("the patient's audit: %d %s", rec.Code, rec.Body)
	}
	for _, hidden := range []string{`"clientIP"`, `"requestId"`, `"detail"`, "192.0.2.1"} {
		if strings.Contains(rec.Body.String(), hidden) {
			t.Errorf("the patient's audit view shows %s: %s", hidden, rec.Body)
		}
	}
}

func TestConsentHistory(t *testing.T) {
	h := newPortalHarness(t)
	if rec := h.register("lakeside", "alex", accounts.Record{Org: "hospital", Patient: "h-alex"}); rec.Code != http.StatusOK {
		t.Fatalf("registering alex: %d %s", rec.Code, rec.Body)
	}
	code := h.issueCode("lakeside", "alex", "hospital")
	session := h.signIn("lakeside", "sub-1")
	if rec := h.do(http.MethodGet, "/api/v1/consents/history", nil, "Authorization", session); rec.Code != http.StatusForbidden {
		t.Errorf("history before enrollment: %d, want 403", rec.Code)
	}
	if rec := h.do(http.MethodPost, "/api/v1/enrollment", map[string]string{"code": code}, "Authorization", session); rec.Code != http.StatusOK {
		t.Fatalf("enrolling: %d %s", rec.Code, rec.Body)
	}
	history := func() []ConsentChoice {
		t.Helper()
		rec := h.do(http.MethodGet, "/api/v1/consents/history", nil, "Authorization", session)
		if rec.Code != http.StatusOK {
			t.Fatalf("history: %d %s", rec.Code, rec.Body)
		}
		return decodeBody[ConsentHistoryView](t, rec).Entries
	}
	if got := history(); got == nil || len(got) != 0 {
		t.Fatalf("history before any choice = %+v, want an empty list", got)
	}

	first := h.clock.Now()
	for _, share := range []bool{false, true} {
		if rec := h.do(http.MethodPut, "/api/v1/consents", map[string]bool{"shareAcrossNetwork": share}, "Authorization", session); rec.Code != http.StatusOK {
			t.Fatalf("choosing %v: %d %s", share, rec.Code, rec.Body)
		}
		h.clock.Advance(10 * time.Minute) // within the session's idle limit
	}
	got := history()
	want := []struct {
		share, current bool
		when           time.Time
		status         string
	}{{true, true, first.Add(10 * time.Minute), "active"}, {false, false, first, "inactive"}}
	if len(got) != len(want) {
		t.Fatalf("history = %+v, want %d choices", got, len(want))
	}
	for i, c := range got {
		var consent struct {
			ResourceType, Status string
		}
		if err := json.Unmarshal(c.Consent, &consent); err != nil {
			t.Fatal(err)
		}
		if c.ShareAcrossNetwork != want[i].share || c.Current != want[i].current || !c.When.Equal(want[i].when) ||
			c.By != "alex" || consent.ResourceType != "Consent" || consent.Status != want[i].status {
			t.Errorf("choice %d = %+v (%+v), want %+v by alex", i, c, consent, want[i])
		}
	}
}
