package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
)

func TestOperatorActionsAreAudited(t *testing.T) {
	h := newPortalHarness(t)
	if rec := h.register("lakeside", "alex", accounts.Record{Org: "hospital", Patient: "h-alex"}, accounts.Record{Org: "clinics", Patient: "c-alex"}); rec.Code != http.StatusOK {
		t.Fatalf("registering alex: %d %s", rec.Code, rec.Body)
	}
	code := h.issueCode("lakeside", "alex", "hospital")

	got := h.events("lakeside")
	want := []audit.Summary{
		{Kind: audit.PersonRegistered, Org: "hospital", Patient: "h-alex"},
		{Kind: audit.PersonRegistered, Org: "clinics", Patient: "c-alex"},
		{Kind: audit.CodeIssued, Org: "hospital", Patient: "h-alex"},
	}
	if len(got) != len(want) {
		t.Fatalf("lakeside's log holds %d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		s := e.Summary
		if s.Kind != want[i].Kind || s.Org != want[i].Org || s.Patient != want[i].Patient ||
			s.Operator != operatorActor || s.Subject != "alex" || s.Actor != "" || s.Account != "" || e.Details.ClientIP != "192.0.2.1" {
			t.Errorf("event %d = %+v %+v, want %+v by the operator on alex from 192.0.2.1", i, s, e.Details, want[i])
		}
		for _, shown := range []string{code, strings.ReplaceAll(code, "-", "")} {
			if strings.Contains(string(e.Resource), shown) {
				t.Errorf("event %d holds the code:\n%s", i, e.Resource)
			}
		}
	}
	// The person acted on sees it in their own log.
	mine, _, err := h.trail.ForPerson(t.Context(), "lakeside", "alex", audit.Page{})
	if err != nil || len(mine) != len(want) {
		t.Errorf("alex's log holds %d events, %v; want %d", len(mine), err, len(want))
	}
}

func TestARecordIsGivenToOnePerson(t *testing.T) {
	h := newPortalHarness(t)
	hospital := accounts.Record{Org: "hospital", Patient: "h-1"}
	clinics := accounts.Record{Org: "clinics", Patient: "c-1"}
	if rec := h.register("lakeside", "alex", hospital, clinics); rec.Code != http.StatusOK {
		t.Fatalf("registering alex: %d %s", rec.Code, rec.Body)
	}
	before := len(h.events("lakeside"))

	rec := h.register("lakeside", "blake", hospital)
	problem := decodeBody[Problem](t, rec)
	if rec.Code != http.StatusConflict || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") ||
		problem.Type != problemType("record-held") {
		t.Fatalf("giving alex's record to blake: %d %s, want 409 record-held", rec.Code, rec.Body)
	}
	if _, err := h.accounts.Person(t.Context(), "lakeside", "blake"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("a refused person was stored: %v", err)
	}
	if after := len(h.events("lakeside")); after != before {
		t.Errorf("a refused registration was audited: %d events, want %d", after, before)
	}

	// Alex's own records can be put again; dropping one frees it.
	if rec := h.register("lakeside", "alex", clinics, hospital); rec.Code != http.StatusOK {
		t.Fatalf("putting alex's own records again: %d %s", rec.Code, rec.Body)
	}
	if rec := h.register("lakeside", "alex", clinics); rec.Code != http.StatusOK {
		t.Fatalf("dropping alex's hospital record: %d %s", rec.Code, rec.Body)
	}
	if rec := h.register("lakeside", "blake", hospital); rec.Code != http.StatusOK {
		t.Fatalf("giving the freed record to blake: %d %s", rec.Code, rec.Body)
	}
}
