package fhirtest

import (
	"context"
	"errors"
	"net/http"
)

// Authorizer guards a Server. It serves the authorization endpoints that
// live below the server's base URL and tells who a FHIR request comes from.
// Package fhirtest/smartauth provides a SMART one.
type Authorizer interface {
	// ServeAuth serves requests whose path (relative to the base URL) starts
	// with "/auth/" or is "/.well-known/smart-configuration". BaseURL(r)
	// gives the server's absolute base URL.
	ServeAuth(w http.ResponseWriter, r *http.Request)
	// Authenticate reads the request's bearer token. It returns an error
	// wrapping ErrUnauthorized when there is none or it is not valid.
	Authenticate(r *http.Request) (Access, error)
}

// Access is what a valid token allows.
type Access struct {
	// Subject is the client id for system access or the user for patient access.
	Subject string
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// Patient, when set, limits the token to that patient's compartment.
	Patient string
	// Scopes are the granted SMART scopes.
	Scopes []string
}

// ErrUnauthorized is wrapped by Authenticate errors; the server answers 401.
var ErrUnauthorized = errors.New("fhirtest: unauthorized")

type baseURLKey struct{}

// WithBaseURL returns a request context carrying the server's absolute base URL.
func WithBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, base)
}

// BaseURL returns the absolute base URL of the server handling r, such as
// "http://127.0.0.1:8080/sandbox/epic/fhir" (no trailing slash).
func BaseURL(r *http.Request) string {
	s, _ := r.Context().Value(baseURLKey{}).(string)
	return s
}
