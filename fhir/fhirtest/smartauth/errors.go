package smartauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// OAuth error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1).
const (
	errInvalidRequest          = "invalid_request"
	errInvalidClient           = "invalid_client"
	errInvalidGrant            = "invalid_grant"
	errInvalidScope            = "invalid_scope"
	errUnauthorizedClient      = "unauthorized_client"
	errUnsupportedGrantType    = "unsupported_grant_type"
	errUnsupportedResponseType = "unsupported_response_type"
	errAccessDenied            = "access_denied"
	errServerError             = "server_error"
)

// oauthError is an error the client is told about, as JSON from the token
// endpoints or as redirect parameters from the authorization endpoint.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErrorf(code, format string, args ...any) *oauthError {
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// status is the HTTP status of the error at the token endpoint.
func (e *oauthError) status() int {
	switch e.Code {
	case errInvalidClient:
		return http.StatusUnauthorized
	case errServerError:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// asOAuthError turns any error into what the client may see: an oauthError
// as it is, anything else as a server_error that says nothing more.
func asOAuthError(err error) *oauthError {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe
	}
	return &oauthError{Code: errServerError, Description: "the authorization server failed"}
}

// writeOAuthError answers a token, revocation or introspection request
// with an RFC 6749 §5.2 error.
func writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	oe := asOAuthError(err)
	if oe.Code == errInvalidClient {
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="smartauth"`)
		}
	}
	writeJSON(w, oe.status(), oe)
}

// writeJSON writes v with the headers RFC 6749 §5.1 asks of every token
// response: nothing here may be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(body)
}
