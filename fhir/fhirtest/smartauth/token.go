package smartauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxFormBytes bounds a form body; real requests are a few hundred bytes,
// a client assertion a few kilobytes.
const maxFormBytes = 64 << 10

// tokenResponse is the RFC 6749 §5.1 success response with SMART's
// launch context.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Patient      string `json:"patient,omitempty"`
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if allowCORS(w, r) || !allowMethods(w, r, http.MethodPost, http.MethodOptions) {
		return
	}
	resp, err := s.handleTokenRequest(w, r)
	if err != nil {
		writeOAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleTokenRequest(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	form, err := readForm(w, r)
	if err != nil {
		return nil, err
	}
	if err := singleValued(form); err != nil {
		return nil, err
	}
	grantType := form.Get("grant_type")
	if grantType == "" {
		return nil, oauthErrorf(errInvalidRequest, "grant_type is required")
	}
	client, err := s.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch grantType {
	case "authorization_code":
		return s.exchangeCode(client, form, now)
	case "refresh_token":
		return s.refresh(client, form, now)
	case "client_credentials":
		return s.clientCredentials(client, form, now)
	}
	return nil, oauthErrorf(errUnsupportedGrantType, "grant_type %q is not supported", grantType)
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (s *Server) exchangeCode(client *Client, form url.Values, now time.Time) (*tokenResponse, error) {
	code := form.Get("code")
	if code == "" {
		return nil, oauthErrorf(errInvalidRequest, "code is required")
	}
	g, err := s.store.redeemCode(code, now, func(c *authCode) error {
		if c.grant.clientID != client.ID {
			return oauthErrorf(errInvalidGrant, "code was issued to another client")
		}
		if form.Get("redirect_uri") != c.redirectURI {
			return oauthErrorf(errInvalidGrant, "redirect_uri does not match the authorization request")
		}
		return verifyPKCE(form.Get("code_verifier"), c.challenge)
	})
	if err != nil {
		return nil, grantError("code", err)
	}
	return s.issueTokens(g, g.scopes, now), nil
}

// refresh exchanges a refresh token for new tokens, rotating it. A scope
// parameter may narrow, never widen, the original grant.
func (s *Server) refresh(client *Client, form url.Values, now time.Time) (*tokenResponse, error) {
	secret := form.Get("refresh_token")
	if secret == "" {
		return nil, oauthErrorf(errInvalidRequest, "refresh_token is required")
	}
	var scopes []string
	g, err := s.store.rotateRefresh(secret, now, func(t tokenInfo) error {
		if t.clientID != client.ID {
			return oauthErrorf(errInvalidGrant, "refresh token was issued to another client")
		}
		scopes = t.scopes
		if form.Has("scope") {
			requested, err := parseScopes(form.Get("scope"))
			if err != nil {
				return oauthErrorf(errInvalidScope, "%v", err)
			}
			for _, sc := range requested {
				if !anyCovers(t.scopes, sc) {
					return oauthErrorf(errInvalidScope, "scope %q was not granted originally", sc)
				}
			}
			scopes = requested
		}
		return nil
	})
	if err != nil {
		return nil, grantError("refresh token", err)
	}
	return s.issueTokens(g, scopes, now), nil
}

// clientCredentials serves SMART Backend Services: system access for a
// backend client that authenticated with private_key_jwt or its secret.
func (s *Server) clientCredentials(client *Client, form url.Values, now time.Time) (*tokenResponse, error) {
	if !client.Backend {
		return nil, oauthErrorf(errUnauthorizedClient, "client is not registered for backend services")
	}
	requested, err := parseScopes(form.Get("scope"))
	if err != nil {
		return nil, oauthErrorf(errInvalidScope, "%v", err)
	}
	granted := grantScopes(requested, client.Scopes, systemAccess)
	if len(granted) == 0 {
		return nil, oauthErrorf(errInvalidScope, "none of the requested scopes can be granted to this client")
	}
	g := &grant{clientID: client.ID, subject: client.ID, scopes: granted}
	return s.issueTokens(g, granted, now), nil
}

// issueTokens mints an access token for scopes of g and, when g was
// granted offline or online access, a refresh token for all of g.
func (s *Server) issueTokens(g *grant, scopes []string, now time.Time) *tokenResponse {
	access, _ := s.store.issue(g, kindAccess, scopes, now, s.tokenLifetime)
	resp := &tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.tokenLifetime / time.Second),
		Scope:       strings.Join(scopes, " "),
		Patient:     g.patient,
	}
	if hasScope(g.scopes, scopeOffline) || hasScope(g.scopes, scopeOnline) {
		resp.RefreshToken, _ = s.store.issue(g, kindRefresh, g.scopes, now, s.refreshLifetime)
	}
	return resp
}

// grantError turns a store refusal into invalid_grant; errors the check
// already phrased for the client pass through.
func grantError(what string, err error) error {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe
	}
	return oauthErrorf(errInvalidGrant, "%s %v", what, err)
}

// verifyPKCE checks a code_verifier against an S256 challenge (RFC 7636 §4.6).
func verifyPKCE(verifier, challenge string) error {
	switch {
	case verifier == "":
		return oauthErrorf(errInvalidGrant, "code_verifier is required")
	case !validVerifier(verifier):
		return oauthErrorf(errInvalidGrant, "code_verifier must be 43 to 128 unreserved characters")
	case verifier == challenge:
		// A client sending the challenge back has not done S256 at all.
		return oauthErrorf(errInvalidGrant, "code_verifier is the code_challenge")
	}
	sum := sha256.Sum256([]byte(verifier))
	computed := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return oauthErrorf(errInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// readForm reads an application/x-www-form-urlencoded body. Parameters in
// the URL's query are ignored: credentials belong in the body.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, oauthErrorf(errInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, oauthErrorf(errInvalidRequest, "the body is larger than %d bytes", maxFormBytes)
		}
		return nil, oauthErrorf(errInvalidRequest, "reading the body failed")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, oauthErrorf(errInvalidRequest, "the body is not a valid form")
	}
	return form, nil
}

// singleValued refuses repeated parameters (RFC 6749 §3.1, §3.2).
func singleValued(form url.Values) error {
	for name, values := range form {
		if len(values) > 1 {
			return oauthErrorf(errInvalidRequest, "parameter %q is repeated", name)
		}
	}
	return nil
}

// secretsEqual compares secrets in time independent of where they differ
// and of their lengths.
func secretsEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
