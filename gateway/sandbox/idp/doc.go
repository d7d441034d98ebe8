// Package idp owns the sandbox's OpenID provider: the identity provider that
// `portalgate sandbox` serves at /sandbox/idp for the sandbox people, so that
// the gateway can sign them in as a relying party exactly as it would at a
// network's real provider.
//
// The OpenID Connect protocol (discovery, JWKS, authorization code flow,
// token, userinfo, introspection, revocation, RP-initiated logout) is
// zitadel/oidc's op package; this package supplies what that library leaves
// to its user: the users and clients, the in-memory state behind op.Storage,
// the signing keys and the HTML sign-in page.
//
// The provider is deliberately strict where the gateway must be: PKCE with
// S256 is required, clients are confidential, redirect and post-logout URIs
// match exactly, and authorization codes are single use. Everything lives in
// memory: the sandbox is one process, and a restart starts afresh.
package idp
