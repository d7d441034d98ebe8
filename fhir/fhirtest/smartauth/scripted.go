package smartauth

import (
	"errors"
	"fmt"
	"strings"
)

// Token is an access token issued by PasswordToken.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Patient     string `json:"patient"`
}

// ErrBadCredentials is returned by PasswordToken for an unknown user or a
// wrong password, without saying which.
var ErrBadCredentials = errors.New("smartauth: unknown user or wrong password")

// PasswordToken issues an access token for a user, as if they had signed in
// and approved clientID's request for scopes in a standalone launch. It is
// for sandboxes and test scripts that need a token without a browser; the
// OAuth endpoints never offer it (there is no password grant).
func (s *Server) PasswordToken(clientID, username, password string, scopes []string) (Token, error) {
	client, ok := s.client(clientID)
	if !ok || client.Backend {
		return Token{}, fmt.Errorf("smartauth: %q is not a registered app client", clientID)
	}
	u, ok := s.checkCredentials(username, password)
	if !ok {
		return Token{}, ErrBadCredentials
	}
	granted := grantScopes(scopes, client.Scopes, patientAccess)
	if len(granted) == 0 {
		return Token{}, fmt.Errorf("smartauth: none of the scopes %q can be granted to %s", strings.Join(scopes, " "), clientID)
	}
	g := &grant{clientID: client.ID, subject: u.Username, patient: u.Patient, scopes: granted}
	resp := s.issueTokens(g, granted, s.now())
	return Token{AccessToken: resp.AccessToken, TokenType: resp.TokenType, ExpiresIn: resp.ExpiresIn, Scope: resp.Scope, Patient: resp.Patient}, nil
}
