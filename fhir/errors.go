package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sentinels for the ways a FHIR call fails. An *Error matches the one its
// HTTP status stands for, so callers test with errors.Is.
var (
	ErrNotFound     = errors.New("fhir: not found")            // 404, 410
	ErrUnauthorized = errors.New("fhir: unauthorized")         // 401
	ErrForbidden    = errors.New("fhir: forbidden")            // 403
	ErrConflict     = errors.New("fhir: conflict")             // 409, 412
	ErrBadRequest   = errors.New("fhir: bad request")          // 400, 422
	ErrRateLimited  = errors.New("fhir: rate limited")         // 429
	ErrUnavailable  = errors.New("fhir: server unavailable")   // 5xx
	ErrMalformed    = errors.New("fhir: malformed FHIR reply") // a reply that is not the FHIR JSON expected
)

// OperationOutcome is a light OperationOutcome.
type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Issue        []OutcomeIssue `json:"issue"`
}

// OutcomeIssue is one OperationOutcome.issue.
type OutcomeIssue struct {
	Severity    string        `json:"severity"` // fatal | error | warning | information
	Code        string        `json:"code"`     // invalid, not-found, processing, …
	Details     *IssueDetails `json:"details,omitempty"`
	Diagnostics string        `json:"diagnostics,omitempty"`
	Expression  []string      `json:"expression,omitempty"`
}

// IssueDetails is the CodeableConcept of OperationOutcome.issue.details.
type IssueDetails struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Issue severities.
const (
	SeverityFatal       = "fatal"
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// ParseOutcome decodes an OperationOutcome.
func ParseOutcome(raw []byte) (*OperationOutcome, error) {
	var o OperationOutcome
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("fhir: decoding OperationOutcome: %w", err)
	}
	if o.ResourceType != "OperationOutcome" {
		return nil, fmt.Errorf("fhir: expected an OperationOutcome, got resourceType %q", o.ResourceType)
	}
	return &o, nil
}

// Summary returns the text of the most severe issue: its details text, or
// else its diagnostics, or else its code.
func (o *OperationOutcome) Summary() string {
	if o == nil || len(o.Issue) == 0 {
		return ""
	}
	best := o.Issue[0]
	for _, is := range o.Issue[1:] {
		if severityRank(is.Severity) < severityRank(best.Severity) {
			best = is
		}
	}
	text := best.Code
	switch {
	case best.Details != nil && best.Details.Text != "":
		text = best.Details.Text
	case best.Diagnostics != "":
		text = best.Diagnostics
	}
	if more := len(o.Issue) - 1; more > 0 {
		text += fmt.Sprintf(" (and %d more issues)", more)
	}
	return text
}

func severityRank(s string) int {
	switch s {
	case SeverityFatal:
		return 0
	case SeverityError:
		return 1
	case SeverityWarning:
		return 2
	}
	return 3
}

// Error is a FHIR call that got a non-2xx reply.
type Error struct {
	Status int
	Method string
	URL    string
	// Outcome is the OperationOutcome the server sent, if it sent one.
	Outcome *OperationOutcome
	// RetryAfter is how long the server asked to wait (429, 503), or 0.
	RetryAfter time.Duration
}

// maxSummary bounds the outcome text in Error(): upstream diagnostics are
// free text and must not flood logs.
const maxSummary = 200

// Error reports the method, the URL without its query (queries carry
// patient identifiers), the status and a summary of the outcome.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fhir: %s %s: %d %s", e.Method, redactURL(e.URL), e.Status, http.StatusText(e.Status))
	if s := e.Outcome.Summary(); s != "" {
		if len(s) > maxSummary {
			s = s[:maxSummary] + "…"
		}
		b.WriteString(": ")
		b.WriteString(s)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and its siblings true for the
// statuses they stand for.
func (e *Error) Is(target error) bool {
	return target != nil && statusSentinel(e.Status) == target
}

func statusSentinel(status int) error {
	switch {
	case status == http.StatusNotFound, status == http.StatusGone:
		return ErrNotFound
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return ErrConflict
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return ErrBadRequest
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500 && status <= 599:
		return ErrUnavailable
	}
	return nil
}

// redactURL drops the query and any user info of a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// (measured from now). It returns 0 when absent, malformed or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Cap absurd values instead of overflowing.
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// NewOutcome returns an OperationOutcome with one issue as JSON.
func NewOutcome(severity, code, diagnostics string) []byte {
	// Marshal cannot fail on a struct of strings.
	out, _ := json.Marshal(OperationOutcome{
		ResourceType: "OperationOutcome",
		Issue:        []OutcomeIssue{{Severity: severity, Code: code, Diagnostics: diagnostics}},
	})
	return out
}

// ContentType is the media type of FHIR JSON.
const ContentType = "application/fhir+json"

// WriteOutcome answers with status and an OperationOutcome of one issue.
func WriteOutcome(w http.ResponseWriter, status int, severity, code, diagnostics string) {
	body := NewOutcome(severity, code, diagnostics)
	w.Header().Set("Content-Type", ContentType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing else to do
}
