package smartauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxAssertionLifetime is how far ahead a client assertion's exp may be
	// (SMART Backend Services: no more than five minutes).
	maxAssertionLifetime = 5 * time.Minute
	maxAssertionBytes    = 16 << 10
	maxJWKSBytes         = 1 << 20
	jwksFetchTimeout     = 5 * time.Second
)

// assertionAlgorithms are the signatures accepted on client assertions.
// SMART requires RS384 and ES384; symmetric algorithms are never accepted,
// so a public key cannot be used as an HMAC secret.
var assertionAlgorithms = []jose.SignatureAlgorithm{
	jose.RS384, jose.ES384, jose.RS256, jose.ES256, jose.RS512, jose.ES512, jose.PS256, jose.PS384, jose.PS512,
}

// authenticateClient identifies the client of a token, revocation or
// introspection request by the one method it registered for: client_id
// alone (public), HTTP Basic or client_secret in the body (symmetric), or
// a signed JWT assertion (private_key_jwt).
func (s *Server) authenticateClient(r *http.Request, form url.Values) (*Client, error) {
	basicID, basicSecret, hasBasic := r.BasicAuth()
	hasSecret := form.Has("client_secret")
	hasAssertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	methods := 0
	for _, used := range []bool{hasBasic, hasSecret, hasAssertion} {
		if used {
			methods++
		}
	}
	if methods > 1 {
		return nil, oauthErrorf(errInvalidRequest, "use only one client authentication method")
	}

	switch {
	case hasBasic:
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, oauthErrorf(errInvalidClient, "malformed Basic credentials")
		}
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
			return nil, oauthErrorf(errInvalidClient, "client_id does not match the Basic credentials")
		}
		return s.checkSecret(id, secret)
	case hasSecret:
		return s.checkSecret(form.Get("client_id"), form.Get("client_secret"))
	case hasAssertion:
		if form.Get("client_assertion_type") != assertionTypeJWTBearer {
			return nil, oauthErrorf(errInvalidClient, "client_assertion_type must be %s", assertionTypeJWTBearer)
		}
		c, err := s.verifyAssertion(r.Context(), form.Get("client_assertion"), baseURL(r)+pathToken)
		if err != nil {
			return nil, oauthErrorf(errInvalidClient, "client assertion: %v", err)
		}
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != c.ID {
			return nil, oauthErrorf(errInvalidClient, "client_id does not match the client assertion")
		}
		return c, nil
	}

	id := form.Get("client_id")
	if id == "" {
		return nil, oauthErrorf(errInvalidClient, "client authentication is required")
	}
	c, ok := s.client(id)
	if !ok {
		return nil, oauthErrorf(errInvalidClient, "unknown client")
	}
	if c.authMethod() != authNone {
		return nil, oauthErrorf(errInvalidClient, "confidential client must authenticate")
	}
	return c, nil
}

func (s *Server) checkSecret(id, secret string) (*Client, error) {
	c, ok := s.client(id)
	if !ok || c.authMethod() != authClientSecret || !secretsEqual(secret, c.Secret) {
		return nil, oauthErrorf(errInvalidClient, "unknown client or wrong secret")
	}
	return c, nil
}

// verifyAssertion checks a private_key_jwt client assertion (RFC 7523 §3,
// SMART Backend Services): signed by a key of the client named in iss,
// iss = sub = client id, aud = the token endpoint, exp present and at most
// five minutes ahead, jti not seen before.
func (s *Server) verifyAssertion(ctx context.Context, assertion, audience string) (*Client, error) {
	if assertion == "" {
		return nil, errors.New("client_assertion is required")
	}
	if len(assertion) > maxAssertionBytes {
		return nil, fmt.Errorf("longer than %d bytes", maxAssertionBytes)
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	// Only the issuer is read before verification, to know whose keys to use.
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	c, ok := s.client(unverified.Issuer)
	if !ok || c.authMethod() != authPrivateKeyJWT {
		return nil, errors.New("iss is not a client registered for private_key_jwt")
	}
	header := tok.Headers[0]
	if header.KeyID == "" {
		return nil, errors.New("kid header is required")
	}
	if jku, ok := header.ExtraHeaders["jku"]; ok && jku != c.JWKSURL {
		return nil, errors.New("jku header is not the client's registered JWKS URL")
	}
	keys, err := s.clientKeys(ctx, c)
	if err != nil {
		return nil, err
	}
	claims, err := verifiedClaims(tok, keys, header)
	if err != nil {
		return nil, err
	}

	now := s.now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return nil, errors.New("iss and sub must both be the client id")
	case !claims.Audience.Contains(audience):
		return nil, fmt.Errorf("aud must be the token endpoint %s", audience)
	case claims.Expiry == nil:
		return nil, errors.New("exp is required")
	case !now.Before(claims.Expiry.Time()):
		return nil, errors.New("expired")
	case claims.Expiry.Time().After(now.Add(maxAssertionLifetime)):
		return nil, fmt.Errorf("exp is more than %v ahead", maxAssertionLifetime)
	case claims.NotBefore != nil && now.Before(claims.NotBefore.Time()):
		return nil, errors.New("not valid yet (nbf)")
	case claims.ID == "":
		return nil, errors.New("jti is required")
	}
	if !s.store.rememberAssertion(c.ID, claims.ID, claims.Expiry.Time(), now) {
		return nil, errors.New("jti was already used")
	}
	return c, nil
}

// verifiedClaims verifies tok with the first of keys that fits its header.
func verifiedClaims(tok *jwt.JSONWebToken, keys *jose.JSONWebKeySet, header jose.Header) (*jwt.Claims, error) {
	for _, k := range keys.Key(header.KeyID) {
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != header.Algorithm) {
			continue
		}
		if !k.IsPublic() {
			k = k.Public() // a set may carry private keys; only their public half verifies
		}
		var claims jwt.Claims
		if err := tok.Claims(k.Key, &claims); err == nil {
			return &claims, nil
		}
	}
	return nil, fmt.Errorf("signature does not verify with the client's key %q", header.KeyID)
}

// clientKeys returns the client's registered keys, fetching them when the
// client registered a JWKS URL. Keys are fetched on every use, so a client
// that rotates its keys is honoured at once.
func (s *Server) clientKeys(ctx context.Context, c *Client) (*jose.JSONWebKeySet, error) {
	if c.JWKS != nil {
		return c.JWKS, nil
	}
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&keys); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	return &keys, nil
}
