package fhirtest

import (
	"net/http"
	"net/http/httptest"
)

// testServerPrefix is where a TestServer mounts its Server, so that clients
// that lose the base URL's path are caught.
const testServerPrefix = "/fhir"

// TestServer is a Server listening on a loopback port, like httptest.Server.
type TestServer struct {
	*Server
	// URL is the FHIR base URL, such as "http://127.0.0.1:41234/fhir".
	URL  string
	HTTP *httptest.Server
}

// NewTestServer starts a Server at {loopback}/fhir. Close it when done.
func NewTestServer(opts ...Option) *TestServer {
	srv := New(append([]Option{WithPathPrefix(testServerPrefix)}, opts...)...)
	mux := http.NewServeMux()
	mux.Handle(testServerPrefix+"/", http.StripPrefix(testServerPrefix, srv))
	mux.Handle(testServerPrefix, http.StripPrefix(testServerPrefix, srv))
	hs := httptest.NewServer(mux)
	return &TestServer{Server: srv, URL: hs.URL + testServerPrefix, HTTP: hs}
}

// Client returns an HTTP client for the server.
func (ts *TestServer) Client() *http.Client { return ts.HTTP.Client() }

// Close shuts the listener down and waits for requests in flight.
func (ts *TestServer) Close() { ts.HTTP.Close() }
