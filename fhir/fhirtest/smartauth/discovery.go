package smartauth

import "net/http"

// smartConfiguration is the SMART App Launch 2 discovery document.
type smartConfiguration struct {
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	TokenEndpointAuthMethods          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValues []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypes                        []string `json:"grant_types_supported"`
	CodeChallengeMethods              []string `json:"code_challenge_methods_supported"`
	Scopes                            []string `json:"scopes_supported"`
	ResponseTypes                     []string `json:"response_types_supported"`
	Capabilities                      []string `json:"capabilities"`
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if allowCORS(w, r) || !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	base := baseURL(r)
	algs := make([]string, len(assertionAlgorithms))
	for i, a := range assertionAlgorithms {
		algs[i] = string(a)
	}
	writeJSON(w, http.StatusOK, smartConfiguration{
		AuthorizationEndpoint:             base + pathAuthorize,
		TokenEndpoint:                     base + pathToken,
		RevocationEndpoint:                base + pathRevoke,
		IntrospectionEndpoint:             base + pathIntrospect,
		TokenEndpointAuthMethods:          []string{"private_key_jwt", "client_secret_basic", "client_secret_post"},
		TokenEndpointAuthSigningAlgValues: algs,
		GrantTypes:                        []string{"authorization_code", "refresh_token", "client_credentials"},
		CodeChallengeMethods:              []string{"S256"},
		Scopes: []string{
			scopeLaunchPatient, scopeOffline, scopeOnline,
			"patient/*.read", "patient/*.rs", "user/*.read", "user/*.rs", "system/*.read", "system/*.rs",
		},
		ResponseTypes: []string{"code"},
		Capabilities: []string{
			"launch-standalone", "client-public", "client-confidential-symmetric",
			"client-confidential-asymmetric", "context-standalone-patient", "permission-offline",
			"permission-online", "permission-patient", "permission-user", "permission-v1", "permission-v2",
			"authorize-post",
		},
	})
}
