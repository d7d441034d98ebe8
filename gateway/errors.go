package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/fhir"
)

// Problem is an RFC 9457 problem details object, the error format of the
// portal API.
type Problem struct {
	// Type is a URI naming the kind of problem; "about:blank" when the
	// status says it all.
	Type string `json:"type"`
	// Title is a short summary of the kind of problem; for "about:blank"
	// it is the status text.
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail explains this occurrence to the client. It must not echo
	// patient data the client did not send.
	Detail string `json:"detail,omitempty"`
	// Instance is the request path (without the query string).
	Instance string `json:"instance,omitempty"`
	// RequestID correlates the problem with the server's logs.
	RequestID string `json:"requestId,omitempty"`
}

const problemContentType = "application/problem+json"

// WriteError answers status with detail in the format of the request's
// surface, an OperationOutcome below /fhir/ and problem details elsewhere,
// and aborts the rest of the chain.
func WriteError(c *gin.Context, status int, detail string) {
	if isFHIRPath(c.Request.URL.Path) {
		writeOutcome(c, status, detail)
		return
	}
	WriteProblem(c, Problem{Status: status, Detail: detail})
}

// WriteProblem answers p as application/problem+json and aborts the rest
// of the chain. A zero Status means 500; empty Type, Title, Instance and
// RequestID are filled in from the status and the request.
func WriteProblem(c *gin.Context, p Problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Instance == "" {
		p.Instance = c.Request.URL.Path
	}
	if p.RequestID == "" {
		p.RequestID = RequestID(c.Request.Context())
	}
	body, _ := json.Marshal(p) // cannot fail on strings and an int
	c.Abort()
	c.Data(p.Status, problemContentType, body)
}

// writeOutcome answers status as an OperationOutcome of one issue and
// aborts the rest of the chain.
func writeOutcome(c *gin.Context, status int, diagnostics string) {
	severity := fhir.SeverityError
	if status >= http.StatusInternalServerError {
		severity = fhir.SeverityFatal
	}
	c.Abort()
	fhir.WriteOutcome(c.Writer, status, severity, issueType(status), diagnostics)
}

// issueType maps an HTTP status to the FHIR issue-type code that best
// describes it.
func issueType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusUnauthorized:
		return "login"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusGone:
		return "deleted"
	case http.StatusMethodNotAllowed, http.StatusNotImplemented, http.StatusNotAcceptable,
		http.StatusUnsupportedMediaType:
		return "not-supported"
	case http.StatusConflict, http.StatusPreconditionFailed:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too-costly"
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return "transient"
	case http.StatusGatewayTimeout:
		return "timeout"
	}
	if status >= http.StatusInternalServerError {
		return "exception"
	}
	return "processing"
}

func isFHIRPath(path string) bool {
	return path == FHIRPrefix || strings.HasPrefix(path, FHIRPrefix+"/")
}
