package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeOP is an OpenID provider small enough to read in one sitting: it
// serves discovery, an authorization endpoint that signs in a fixed patient
// at once, a token endpoint that checks client authentication, the code's
// redirect URI and PKCE, a JWKS and an end-session endpoint. Tests change
// any ID token claim, the signing key and each endpoint's health.
type fakeOP struct {
	t      *testing.T
	srv    *httptest.Server
	issuer string
	now    func() time.Time

	discoveryHits, jwksHits, tokenHits atomic.Int32

	mu sync.Mutex
	// clients maps client id to secret ("" for a public client).
	clients map[string]string
	// published are the keys served by the JWKS; signing signs ID tokens
	// and need not be published.
	published []*jose.JSONWebKey
	signing   *jose.JSONWebKey
	// claims are the signed-in patient's claims, before mutate.
	claims map[string]any
	// mutate changes the claims of the next ID tokens.
	mutate func(claims map[string]any)
	// rawIDToken, when set, replaces the ID token outright.
	rawIDToken func(claims map[string]any) string
	codes      map[string]authRequest
	// Health and options of the endpoints.
	discoveryDown, discoveryHangs, jwksDown bool
	tokenStatus                             int // answer the token endpoint with this status
	omitIDToken, noEndSession               bool
	authMethods                             []string
	// onDiscovery runs at the start of each discovery request.
	onDiscovery func()
	// lastClientAuth records how the last token request authenticated.
	lastClientAuth string
}

type authRequest struct {
	clientID, redirectURI, nonce, challenge string
}

func newFakeOP(t *testing.T, now func() time.Time) *fakeOP {
	t.Helper()
	op := &fakeOP{
		t:       t,
		now:     now,
		clients: map[string]string{},
		codes:   map[string]authRequest{},
		claims: map[string]any{
			"sub":            "patient-42",
			"name":           "Ada Lovelace",
			"email":          "ada@example.org",
			"email_verified": true,
			"amr":            []string{"pwd"},
			"acr":            "urn:loa:1",
		},
	}
	key := op.newKey("k1")
	op.published = []*jose.JSONWebKey{key}
	op.signing = key

	mux := http.NewServeMux()
	mux.HandleFunc("GET /idp/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /idp/authorize", op.authorize)
	mux.HandleFunc("POST /idp/token", op.token)
	mux.HandleFunc("GET /idp/keys", op.keys)
	mux.HandleFunc("GET /idp/end_session", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL + "/idp"
	return op
}

// newKey returns a fresh ES256 signing key named kid.
func (op *fakeOP) newKey(kid string) *jose.JSONWebKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		op.t.Fatal(err)
	}
	return &jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

func (op *fakeOP) set(f func(op *fakeOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *fakeOP) discovery(w http.ResponseWriter, r *http.Request) {
	op.discoveryHits.Add(1)
	op.mu.Lock()
	down, hangs, noEnd, methods, hook := op.discoveryDown, op.discoveryHangs, op.noEndSession, op.authMethods, op.onDiscovery
	op.mu.Unlock()
	if hook != nil {
		hook()
	}
	switch {
	case hangs:
		<-r.Context().Done()
		return
	case down:
		http.Error(w, "starting up", http.StatusServiceUnavailable)
		return
	}
	doc := map[string]any{
		"issuer":                                op.issuer,
		"authorization_endpoint":                op.issuer + "/authorize",
		"token_endpoint":                        op.issuer + "/token",
		"jwks_uri":                              op.issuer + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256", "RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if methods != nil {
		doc["token_endpoint_auth_methods_supported"] = methods
	}
	if !noEnd {
		doc["end_session_endpoint"] = op.issuer + "/end_session?ui=plain"
	}
	writeJSON(w, http.StatusOK, doc)
}

// authorize signs the patient in at once and sends the browser back with a
// code, after checking what a real provider checks.
func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	op.mu.Lock()
	_, known := op.clients[q.Get("client_id")]
	op.mu.Unlock()
	switch {
	case !known:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code", q.Get("code_challenge_method") != "S256", q.Get("code_challenge") == "",
		q.Get("nonce") == "", q.Get("state") == "", !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randomText(op.t)
	op.mu.Lock()
	op.codes[code] = authRequest{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		nonce: q.Get("nonce"), challenge: q.Get("code_challenge"),
	}
	op.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	op.tokenHits.Add(1)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.tokenStatus != 0 {
		writeJSON(w, op.tokenStatus, map[string]string{"error": "server_error", "error_description": "forced"})
		return
	}
	clientID, secret, basic := r.BasicAuth()
	op.lastClientAuth = "basic"
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		op.lastClientAuth = "post"
	}
	want, known := op.clients[clientID]
	if !known || secret != want {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	code := r.PostForm.Get("code")
	req, ok := op.codes[code]
	delete(op.codes, code)
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code", !ok, req.clientID != clientID,
		req.redirectURI != r.PostForm.Get("redirect_uri"),
		base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	accessToken := randomText(op.t)
	now := op.now()
	claims := maps.Clone(op.claims)
	atHash := sha256.Sum256([]byte(accessToken))
	maps.Copy(claims, map[string]any{
		"iss": op.issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"auth_time": now.Unix(), "nonce": req.nonce,
		"at_hash": base64.RawURLEncoding.EncodeToString(atHash[:16]),
	})
	if op.mutate != nil {
		op.mutate(claims)
	}
	resp := map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 300}
	switch {
	case op.omitIDToken:
	case op.rawIDToken != nil:
		resp["id_token"] = op.rawIDToken(claims)
	default:
		resp["id_token"] = sign(op.t, op.signing, claims)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (op *fakeOP) keys(w http.ResponseWriter, r *http.Request) {
	op.jwksHits.Add(1)
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.jwksDown {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	var set jose.JSONWebKeySet
	for _, k := range op.published {
		set.Keys = append(set.Keys, k.Public())
	}
	writeJSON(w, http.StatusOK, set)
}

// sign signs claims as a JWT with key, naming its kid.
func sign(t *testing.T, key *jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return compact
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomText(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
