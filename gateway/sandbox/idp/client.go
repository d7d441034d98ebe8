package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

var defaultClientScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail}

// client is a registered relying party as op.Client. It is immutable once
// New returns.
type client struct {
	id                     string
	secretHash             [sha256.Size]byte
	redirectURIs           []string
	postLogoutRedirectURIs []string
	scopes                 []string
	loginURL               string // prefix; the request id is appended
}

var _ op.Client = (*client)(nil)

func newClient(c Client) (*client, error) {
	switch {
	case c.ID == "":
		return nil, errors.New("client id is empty")
	case c.Secret == "":
		return nil, fmt.Errorf("client %q has no secret; only confidential clients are supported", c.ID)
	case len(c.RedirectURIs) == 0:
		return nil, fmt.Errorf("client %q has no redirect URI", c.ID)
	}
	for _, uris := range [][]string{c.RedirectURIs, c.PostLogoutRedirectURIs} {
		for _, u := range uris {
			if err := checkClientURI(u); err != nil {
				return nil, fmt.Errorf("client %q: %w", c.ID, err)
			}
		}
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = defaultClientScopes
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		return nil, fmt.Errorf("client %q: scopes must include %q", c.ID, oidc.ScopeOpenID)
	}
	return &client{
		id:                     c.ID,
		secretHash:             sha256.Sum256([]byte(c.Secret)),
		redirectURIs:           slices.Clone(c.RedirectURIs),
		postLogoutRedirectURIs: slices.Clone(c.PostLogoutRedirectURIs),
		scopes:                 slices.Clone(scopes),
	}, nil
}

// checkClientURI accepts absolute http(s) URIs without a fragment, as
// OAuth 2.0 requires of redirect URIs.
func checkClientURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("URI %q is not an absolute http(s) URL", raw)
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("URI %q must not carry a fragment or credentials", raw)
	}
	return nil
}

// secretMatches compares in constant time; hashing first hides the length.
func (c *client) secretMatches(secret string) bool {
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(h[:], c.secretHash[:]) == 1
}

// grantedScopes keeps the requested scopes the client is registered for.
func (c *client) grantedScopes(requested []string) []string {
	granted := make([]string, 0, len(requested))
	for _, s := range requested {
		if slices.Contains(c.scopes, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	return granted
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is client_secret_basic; the library also accepts the secret
// in the form (client_secret_post) because op.Config.AuthMethodPost is set.
func (c *client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }

func (c *client) LoginURL(requestID string) string {
	return c.loginURL + url.QueryEscape(requestID)
}

func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return IDTokenLifetime }

// DevMode stays off: it would relax the redirect URI checks.
func (c *client) DevMode() bool { return false }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed admits no scope beyond the standard OpenID ones.
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims into the
// ID token too, so relying parties need not call userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) ClockSkew() time.Duration { return 0 }
