package idp

import (
	"log/slog"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is one authorization request from its arrival until its code
// is redeemed. The storage hands the library copies, so the library never
// reads a request while a sign-in changes it.
type authRequest struct {
	id            string
	created       time.Time
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	codeChallenge string // S256

	// Set once the person has signed in.
	done     bool
	subject  string
	authTime time.Time
	amr      []string
	acr      string

	// Set once the library has issued the code.
	codeHash   codeHash
	codeIssued time.Time
}

var (
	_ op.AuthRequest = (*authRequest)(nil)
	_ slog.LogValuer = (*authRequest)(nil)
)

// LogValue keeps state, nonce and the person out of the library's logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", a.id),
		slog.String("client_id", a.clientID),
		slog.Any("scopes", a.scopes),
	)
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return a.acr }
func (a *authRequest) GetAMR() []string                   { return a.amr }
func (a *authRequest) GetAudience() []string              { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.clientID }
func (a *authRequest) GetNonce() string                   { return a.nonce }
func (a *authRequest) GetRedirectURI() string             { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseModeQuery }
func (a *authRequest) GetScopes() []string                { return a.scopes }
func (a *authRequest) GetState() string                   { return a.state }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.codeChallenge, Method: oidc.CodeChallengeMethodS256}
}
