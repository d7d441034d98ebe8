package fhir

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteOutcome(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteOutcome(rec, http.StatusBadRequest, SeverityError, "invalid", `bad "date" parameter`)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("Content-Type = %q", ct)
	}
	o, err := ParseOutcome(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := OutcomeIssue{Severity: "error", Code: "invalid", Diagnostics: `bad "date" parameter`}
	if len(o.Issue) != 1 || fmt.Sprint(o.Issue[0]) != fmt.Sprint(want) {
		t.Errorf("issues = %+v", o.Issue)
	}
}

func TestParseOutcomeRejects(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"resourceType":"Patient"}`, `{"resourceType":"OperationOutcome","issue":{}}`} {
		if _, err := ParseOutcome([]byte(in)); err == nil {
			t.Errorf("ParseOutcome(%q) = nil error", in)
		}
	}
}

func TestOutcomeSummary(t *testing.T) {
	tests := []struct {
		outcome *OperationOutcome
		want    string
	}{
		{nil, ""},
		{&OperationOutcome{}, ""},
		{&OperationOutcome{Issue: []OutcomeIssue{{Severity: "error", Code: "processing"}}}, "processing"},
		{&OperationOutcome{Issue: []OutcomeIssue{
			{Severity: "information", Code: "informational", Diagnostics: "fyi"},
			{Severity: "fatal", Code: "exception", Diagnostics: "crashed"},
			{Severity: "error", Code: "invalid", Diagnostics: "bad"},
		}}, "crashed (and 2 more issues)"},
		{&OperationOutcome{Issue: []OutcomeIssue{{Severity: "warning", Code: "x", Diagnostics: "d", Details: &IssueDetails{Text: "t"}}}}, "t"},
	}
	for _, tt := range tests {
		if got := tt.outcome.Summary(); got != tt.want {
			t.Errorf("Summary() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	long := strings.Repeat("y", 500)
	e := &Error{
		Status: 400, Method: "GET", URL: "https://u:p@ehr.example/fhir/Patient?name=Jane#frag",
		Outcome: &OperationOutcome{Issue: []OutcomeIssue{{Severity: "error", Code: "invalid", Diagnostics: long}}},
	}
	msg := e.Error()
	for _, leak := range []string{"Jane", "u:p", "frag", long} {
		if strings.Contains(msg, leak) {
			t.Errorf("message %q contains %q", msg, leak)
		}
	}
	if !strings.HasPrefix(msg, "fhir: GET https://ehr.example/fhir/Patient: 400 Bad Request: yyy") {
		t.Errorf("message = %q", msg)
	}
	if errors.Is(&Error{Status: 200}, nil) || errors.Is(&Error{Status: 418}, ErrBadRequest) {
		t.Error("unexpected match")
	}
	wrapped := fmt.Errorf("adapter: %w", &Error{Status: 504})
	if !errors.Is(wrapped, ErrUnavailable) {
		t.Error("wrapped 504 is not ErrUnavailable")
	}
}
