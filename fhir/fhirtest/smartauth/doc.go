// Package smartauth is a SMART App Launch 2 authorization server for one
// simulated EHR (a fhirtest.Server). It owns everything an app or the
// gateway's upstream adapters meet before a FHIR request: discovery
// (.well-known/smart-configuration), the standalone patient launch with a
// small sign-in page, the token endpoint (authorization_code with PKCE S256,
// rotating refresh tokens, client_credentials with private_key_jwt for
// backend services), RFC 7009 revocation and RFC 7662 introspection.
//
// Tokens are random opaque strings kept in memory only as SHA-256 digests.
// Time comes from Config.Clock, so expiry can be tested without sleeping, and
// tests can pull the rug (RevokePatientTokens, RevokeClientTokens) to see how
// a client copes with an upstream that stops honouring its tokens.
package smartauth
