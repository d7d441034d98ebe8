package smartauth

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// authRequest is a checked authorization request waiting for the user.
type authRequest struct {
	clientID    string
	appName     string
	redirectURI string
	state       string
	challenge   string
	scopes      []string // what the sign-in will grant
}

// serveAuthorize starts a standalone launch (GET, or POST for
// authorize-post). Until the client and its redirect URI are known to be
// good, errors are shown to the user: redirecting to an unchecked URI
// would make this server an open redirector.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	params, err := authorizeParams(w, r)
	if err != nil {
		renderError(w, http.StatusBadRequest, "This sign-in request is not valid", asOAuthError(err).Description)
		return
	}
	if len(params["client_id"]) > 1 || len(params["redirect_uri"]) > 1 {
		renderError(w, http.StatusBadRequest, "This sign-in request is not valid", "client_id and redirect_uri may each be given only once.")
		return
	}
	client, ok := s.client(params.Get("client_id"))
	if !ok {
		renderError(w, http.StatusBadRequest, "Unknown app", "The app is not registered with this health system.")
		return
	}
	redirectURI := params.Get("redirect_uri")
	if !client.allowsRedirect(redirectURI) {
		renderError(w, http.StatusBadRequest, "Unknown return address", "The app asked to return to an address it has not registered.")
		return
	}
	req, err := s.checkAuthorization(r, client, params)
	if err != nil {
		redirectError(w, r, redirectURI, params.Get("state"), err)
		return
	}
	id := s.store.addPending(req, s.now(), signInLifetime)
	s.renderSignIn(w, r, http.StatusOK, signInPage{request: req, requestID: id})
}

// authorizeParams reads the request from the query (GET) or body (POST).
func authorizeParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		return readForm(w, r)
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, oauthErrorf(errInvalidRequest, "The query string is malformed.")
	}
	return params, nil
}

// checkAuthorization validates everything after client_id and redirect_uri.
func (s *Server) checkAuthorization(r *http.Request, c *Client, p url.Values) (*authRequest, error) {
	if err := singleValued(p); err != nil {
		return nil, err
	}
	if c.Backend {
		return nil, oauthErrorf(errUnauthorizedClient, "backend clients use client_credentials")
	}
	switch p.Get("response_type") {
	case "code":
	case "":
		return nil, oauthErrorf(errInvalidRequest, "response_type is required")
	default:
		return nil, oauthErrorf(errUnsupportedResponseType, "only response_type=code is supported")
	}
	state := p.Get("state")
	if state == "" {
		return nil, oauthErrorf(errInvalidRequest, "state is required")
	}
	switch p.Get("code_challenge_method") {
	case "S256":
	case "":
		return nil, oauthErrorf(errInvalidRequest, "PKCE is required: code_challenge_method=S256")
	default:
		return nil, oauthErrorf(errInvalidRequest, "code_challenge_method must be S256")
	}
	challenge := p.Get("code_challenge")
	if !validChallenge(challenge) {
		return nil, oauthErrorf(errInvalidRequest, "code_challenge must be the base64url SHA-256 of the code verifier")
	}
	if p.Get("aud") != baseURL(r) {
		return nil, oauthErrorf(errInvalidRequest, "aud must be this server's FHIR base URL")
	}
	requested, err := parseScopes(p.Get("scope"))
	if err != nil {
		return nil, oauthErrorf(errInvalidScope, "%v", err)
	}
	granted := grantScopes(requested, c.Scopes, patientAccess)
	if len(granted) == 0 {
		return nil, oauthErrorf(errInvalidScope, "none of the requested scopes can be granted to this app")
	}
	return &authRequest{
		clientID:    c.ID,
		appName:     c.displayName(),
		redirectURI: p.Get("redirect_uri"),
		state:       state,
		challenge:   challenge,
		scopes:      granted,
	}, nil
}

// serveSignIn takes the sign-in form. Wrong credentials show the form
// again and keep the request; the first right ones complete it.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		renderError(w, http.StatusBadRequest, "This sign-in is not valid", asOAuthError(err).Description)
		return
	}
	now := s.now()
	id := form.Get("request")
	req, ok := s.store.pendingRequest(id, now, false)
	if !ok {
		renderExpired(w)
		return
	}
	denied := form.Get("decision") == "deny"
	var user *User
	if !denied {
		username := form.Get("username")
		if user, ok = s.checkCredentials(username, form.Get("password")); !ok {
			s.renderSignIn(w, r, http.StatusUnauthorized, signInPage{
				request: req, requestID: id, username: username,
				message: "The username or password is not correct.",
			})
			return
		}
	}
	if _, ok := s.store.pendingRequest(id, now, true); !ok {
		renderExpired(w) // completed meanwhile in another tab
		return
	}
	if denied {
		redirectError(w, r, req.redirectURI, req.state, oauthErrorf(errAccessDenied, "the patient denied access"))
		return
	}
	code := s.store.addCode(&authCode{
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		grant:       &grant{clientID: req.clientID, subject: user.Username, patient: user.Patient, scopes: req.scopes},
		expires:     now.Add(s.codeLifetime),
	}, now)
	redirectTo(w, r, req.redirectURI, url.Values{"code": {code}, "state": {req.state}})
}

// checkCredentials compares in constant time, and as long for an unknown
// user as for a known one.
func (s *Server) checkCredentials(username, password string) (*User, bool) {
	u, found := s.user(username)
	want := "\x00no user\x00"
	if found {
		want = u.Password
	}
	match := secretsEqual(password, want)
	return u, found && match
}

// redirectError sends an authorization error back to the client
// (RFC 6749 §4.1.2.1).
func redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, err error) {
	oe := asOAuthError(err)
	params := url.Values{"error": {oe.Code}, "error_description": {oe.Description}}
	if state != "" {
		params.Set("state", state)
	}
	redirectTo(w, r, redirectURI, params)
}

// redirectTo redirects to a registered redirect URI with params added to
// its query.
func redirectTo(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs were checked; this is a bug
		renderError(w, http.StatusInternalServerError, "Sign-in failed", "The app's return address cannot be used.")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

type signInPage struct {
	request   *authRequest
	requestID string
	username  string
	message   string
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, p signInPage) {
	scopes := make([]string, len(p.request.scopes))
	for i, sc := range p.request.scopes {
		scopes[i] = describeScope(sc)
	}
	render(w, status, "signin.html", map[string]any{
		"App":      p.request.appName,
		"Scopes":   scopes,
		"Action":   baseURL(r) + pathSignIn,
		"Request":  p.requestID,
		"Username": p.username,
		"Error":    p.message,
	})
}

func renderExpired(w http.ResponseWriter) {
	renderError(w, http.StatusBadRequest, "This sign-in has expired", "The sign-in page was already used or has timed out.")
}

func renderError(w http.ResponseWriter, status int, title, message string) {
	render(w, status, "error.html", map[string]string{"Title": title, "Message": message})
}

func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "rendering page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// validChallenge checks an S256 code_challenge: 32 bytes, base64url, no
// padding. The length check also rules out the line breaks the decoder skips.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(c) == 43 && len(b) == sha256.Size
}
