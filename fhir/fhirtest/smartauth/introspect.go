package smartauth

import (
	"errors"
	"net/http"
	"strings"
)

// introspection is an RFC 7662 §2.2 response with SMART's fields. An
// inactive token gets exactly {"active":false}.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Patient   string `json:"patient,omitempty"`
	FHIRUser  string `json:"fhirUser,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Expires   int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
}

// serveIntrospect answers RFC 7662 for any registered client, as resource
// servers introspect tokens issued to others.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	resp, err := s.introspect(w, r)
	if err != nil {
		writeOAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) (*introspection, error) {
	form, err := readForm(w, r)
	if err != nil {
		return nil, err
	}
	if err := singleValued(form); err != nil {
		return nil, err
	}
	if _, err := s.authenticateClient(r, form); err != nil {
		return nil, err
	}
	secret := form.Get("token")
	if secret == "" {
		return nil, oauthErrorf(errInvalidRequest, "token is required")
	}
	t, err := s.store.live(secret, s.now())
	if err != nil {
		return &introspection{Active: false}, nil
	}
	resp := &introspection{
		Active:   true,
		Scope:    strings.Join(t.scopes, " "),
		ClientID: t.clientID,
		Subject:  t.subject,
		Patient:  t.patient,
		Expires:  t.expires.Unix(),
		IssuedAt: t.issued.Unix(),
	}
	if t.kind == kindAccess {
		resp.TokenType = "Bearer"
	}
	if t.patient != "" {
		resp.FHIRUser = baseURL(r) + "/Patient/" + t.patient
	}
	return resp, nil
}

// serveRevoke answers RFC 7009. Revoking either token of a grant revokes
// the grant: its access and refresh tokens all stop working.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if allowCORS(w, r) || !allowMethods(w, r, http.MethodPost, http.MethodOptions) {
		return
	}
	if err := s.revoke(w, r); err != nil {
		writeOAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	if err := singleValued(form); err != nil {
		return err
	}
	client, err := s.authenticateClient(r, form)
	if err != nil {
		return err
	}
	secret := form.Get("token")
	if secret == "" {
		return oauthErrorf(errInvalidRequest, "token is required")
	}
	if err := s.store.revoke(secret, client.ID); err != nil {
		if errors.Is(err, errOtherClient) {
			return oauthErrorf(errUnauthorizedClient, "%v", err)
		}
		return err
	}
	return nil
}
