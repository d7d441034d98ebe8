package identity

import (
	"context"
	"net/url"
)

// EndSessionURL returns where to send the browser so that the person is
// signed out at the network's provider too (OpenID Connect RP-Initiated
// Logout 1.0). idTokenHint is the login's Identity.IDToken, and
// postLogoutRedirect an absolute URL registered at the provider to come
// back to; either may be empty.
//
// ok is false when the provider offers no end_session_endpoint or cannot be
// reached: then only the gateway's session ends.
func (s *Service) EndSessionURL(ctx context.Context, networkID, idTokenHint, postLogoutRedirect string) (endSessionURL string, ok bool) {
	n, err := s.network(networkID)
	if err != nil {
		return "", false
	}
	p, err := s.providers.get(ctx, n.Identity.Issuer)
	if err != nil || p.endSession == "" {
		return "", false
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("client_id", n.Identity.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if postLogoutRedirect != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirect)
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}
