package idp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/gateway/sandbox/idp"
)

func TestDiscoveryKeepsTheIssuerUnderAPrefix(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		Issuer          string   `json:"issuer"`
		Authorization   string   `json:"authorization_endpoint"`
		Token           string   `json:"token_endpoint"`
		Userinfo        string   `json:"userinfo_endpoint"`
		EndSession      string   `json:"end_session_endpoint"`
		JWKS            string   `json:"jwks_uri"`
		CodeChallenge   []string `json:"code_challenge_methods_supported"`
		SigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
		TokenAuthMethod []string `json:"token_endpoint_auth_methods_supported"`
	}
	getJSON(t, f.issuer+"/.well-known/openid-configuration", &doc)

	if doc.Issuer != f.issuer || f.idp.Issuer() != f.issuer {
		t.Errorf("issuer %q (Issuer() %q), want %q", doc.Issuer, f.idp.Issuer(), f.issuer)
	}
	for name, endpoint := range map[string]string{
		"authorization": doc.Authorization, "token": doc.Token, "userinfo": doc.Userinfo,
		"end_session": doc.EndSession, "jwks": doc.JWKS,
	} {
		if !strings.HasPrefix(endpoint, f.issuer+"/") {
			t.Errorf("%s endpoint %q is not under the issuer", name, endpoint)
		}
	}
	if !slices.Equal(doc.CodeChallenge, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported %v, want [S256]", doc.CodeChallenge)
	}
	if !slices.Equal(doc.SigningAlgs, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported %v, want [RS256]", doc.SigningAlgs)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		if !slices.Contains(doc.TokenAuthMethod, m) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", doc.TokenAuthMethod, m)
		}
	}

	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			Kty string `json:"kty"`
		} `json:"keys"`
	}
	getJSON(t, doc.JWKS, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid == "" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Use != "sig" || jwks.Keys[0].Kty != "RSA" {
		t.Errorf("JWKS %+v, want one RS256 signing key with a kid", jwks.Keys)
	}
}

func TestSignInIssuesVerifiableTokens(t *testing.T) {
	tests := []struct {
		name      string
		user      idp.User
		authStyle oauth2.AuthStyle
		wantAMR   []string
	}{
		{"password, client_secret_basic", alex, oauth2.AuthStyleInHeader, []string{"pwd"}},
		{"password, client_secret_post", alex, oauth2.AuthStyleInParams, []string{"pwd"}},
		{"two-step verification", casey, oauth2.AuthStyleInHeader, []string{"pwd", "otp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			provider, cfg := f.rp(t)
			cfg.Endpoint.AuthStyle = tt.authStyle
			a := newAttempt()
			signedInAt := f.clock.Now()
			code := f.signIn(t, cfg, a, tt.user)
			tok, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
				t.Errorf("access token %q of type %q", tok.AccessToken, tok.TokenType)
			}
			raw := rawIDToken(t, tok)
			idToken, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(f.ctx, raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if idToken.Issuer != f.issuer || !slices.Contains(idToken.Audience, clientID) {
				t.Errorf("iss %q aud %v", idToken.Issuer, idToken.Audience)
			}
			if idToken.Nonce != a.nonce {
				t.Errorf("nonce %q, want %q", idToken.Nonce, a.nonce)
			}
			if idToken.Subject != tt.user.Subject {
				t.Errorf("sub %q, want %q", idToken.Subject, tt.user.Subject)
			}
			if idToken.AccessTokenHash == "" {
				t.Error("no at_hash")
			} else if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			if keyID(t, raw) == "" {
				t.Error("ID token header has no kid")
			}

			var claims struct {
				AMR               []string `json:"amr"`
				ACR               string   `json:"acr"`
				AuthTime          int64    `json:"auth_time"`
				Email             string   `json:"email"`
				EmailVerified     bool     `json:"email_verified"`
				GivenName         string   `json:"given_name"`
				FamilyName        string   `json:"family_name"`
				Name              string   `json:"name"`
				PreferredUsername string   `json:"preferred_username"`
				Birthdate         string   `json:"birthdate"`
			}
			if err := idToken.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(claims.AMR, tt.wantAMR) || claims.ACR != tt.user.ACR {
				t.Errorf("amr %v acr %q, want %v %q", claims.AMR, claims.ACR, tt.wantAMR, tt.user.ACR)
			}
			if claims.AuthTime != signedInAt.Unix() {
				t.Errorf("auth_time %d, want %d", claims.AuthTime, signedInAt.Unix())
			}
			if claims.Email != tt.user.Email || !claims.EmailVerified || claims.GivenName != tt.user.Given ||
				claims.FamilyName != tt.user.Family || claims.Name != tt.user.Given+" "+tt.user.Family ||
				claims.PreferredUsername != tt.user.Username || claims.Birthdate != tt.user.BirthDate {
				t.Errorf("profile claims %+v do not match %+v", claims, tt.user)
			}

			info, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			if info.Subject != tt.user.Subject || info.Email != tt.user.Email {
				t.Errorf("userinfo sub %q email %q", info.Subject, info.Email)
			}
		})
	}
}

func TestLoginPageIsAccessibleAndSetsItsOwnPolicy(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	login := get(t, f.browser(t), newAttempt().authURL(cfg))

	if login.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", login.resp.StatusCode)
	}
	for _, want := range []string{
		`<html lang="en">`, `<label for="username">`, `<label for="password">`,
		`id="username" name="username"`, `id="password" name="password" type="password"`,
		`autocomplete="current-password"`,
	} {
		if !strings.Contains(login.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(login.body, `role="alert"`) {
		t.Error("a fresh page shows an error")
	}
	csp := login.resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self' " + f.server.URL, "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if got := login.resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if form := findForm(t, login); form.action.Path != mountPath+"/login" || form.fields.Get("request") == "" {
		t.Errorf("form posts to %s with fields %v", form.action, form.fields)
	}
}

func TestWrongCredentialsShowTheFormAgain(t *testing.T) {
	tests := []struct {
		name, username, password string
	}{
		{"wrong password", alex.Username, "not-" + alex.Password},
		{"unknown username", "nobody", alex.Password},
		{"empty password", alex.Username, ""},
		{"another person's password", alex.Username, casey.Password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, cfg := f.rp(t)
			c := f.browser(t)
			a := newAttempt()
			form := findForm(t, get(t, c, a.authURL(cfg)))

			failed := submit(t, c, form, tt.username, tt.password)
			if failed.resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", failed.resp.StatusCode)
			}
			if !strings.Contains(failed.body, `role="alert">The username or password is incorrect.`) {
				t.Errorf("page lacks the generic alert:\n%s", failed.body)
			}
			if !strings.Contains(failed.resp.Header.Get("Content-Security-Policy"), "form-action 'self'") {
				t.Errorf("CSP %q", failed.resp.Header.Get("Content-Security-Policy"))
			}
			again := findForm(t, failed)
			if again.fields.Get("request") != form.fields.Get("request") {
				t.Error("the form again does not carry the same request")
			}
			if again.fields.Get("password") != "" {
				t.Error("the password is echoed back")
			}

			// The same request still completes with the right credentials.
			q := callback(t, submit(t, c, again, alex.Username, alex.Password))
			if q.Get("code") == "" || q.Get("state") != a.state {
				t.Errorf("callback %v", q)
			}
		})
	}
}

func TestPKCEIsRequired(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name string
		opts []oauth2.AuthCodeOption
	}{
		{"no challenge", nil},
		{"plain method", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", verifier),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		}},
		{"S256 without a method", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(verifier)),
		}},
		{"malformed challenge", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", "short"),
			oauth2.SetAuthURLParam("code_challenge_method", "S256"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(cfg.AuthCodeURL("st", tt.opts...))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			q := callback(t, page{resp: resp})
			if q.Get("error") != "invalid_request" || q.Get("state") != "st" || q.Get("code") != "" {
				t.Errorf("callback %v, want error=invalid_request", q)
			}
		})
	}
}

func TestCodeVerifierIsChecked(t *testing.T) {
	tests := []struct {
		name      string
		opts      []oauth2.AuthCodeOption
		wantError string
	}{
		{"wrong verifier", []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier())}, "invalid_grant"},
		{"no verifier", nil, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, cfg := f.rp(t)
			a := newAttempt()
			code := f.signIn(t, cfg, a, alex)
			_, err := cfg.Exchange(f.ctx, code, tt.opts...)
			if got := oauthError(t, err); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			// A refused attempt uses the code up.
			_, err = cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
			if got := oauthError(t, err); got != "invalid_grant" {
				t.Errorf("retry: error %q, want invalid_grant", got)
			}
		})
	}
}

func TestUnknownClientsAndRedirectsAreRefused(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	a := newAttempt()
	tests := []struct {
		name   string
		mutate func(*oauth2.Config)
	}{
		{"unknown client", func(c *oauth2.Config) { c.ClientID = "intruder" }},
		{"unregistered redirect URI", func(c *oauth2.Config) { c.RedirectURL = "https://attacker.example/cb" }},
		{"redirect URI with extra path", func(c *oauth2.Config) { c.RedirectURL += "/more" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.mutate(&c)
			resp, err := noRedirect.Get(a.authURL(c))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("status %d Location %q, want 400 without a redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestTokenEndpointAuthenticatesTheClient(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*oauth2.Config)
	}{
		{"wrong secret", func(c *oauth2.Config) { c.ClientSecret = "guess" }},
		{"no secret", func(c *oauth2.Config) { c.ClientSecret = "" }},
		{"unknown client", func(c *oauth2.Config) { c.ClientID = "intruder" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, cfg := f.rp(t)
			a := newAttempt()
			code := f.signIn(t, cfg, a, alex)
			c := cfg
			tt.mutate(&c)
			_, err := c.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
			if got := oauthError(t, err); got != "invalid_client" {
				t.Errorf("error %q, want invalid_client", got)
			}
		})
	}
}

func TestCodeLifetime(t *testing.T) {
	tests := []struct {
		wait time.Duration
		ok   bool
	}{
		{0, true},
		{idp.CodeLifetime - time.Nanosecond, true},
		{idp.CodeLifetime, false},
		{idp.CodeLifetime + time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.wait.String(), func(t *testing.T) {
			f := newFixture(t)
			_, cfg := f.rp(t)
			a := newAttempt()
			code := f.signIn(t, cfg, a, alex)
			f.clock.Advance(tt.wait)
			_, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
			if tt.ok && err != nil {
				t.Errorf("Exchange after %v: %v", tt.wait, err)
			}
			if !tt.ok && oauthError(t, err) != "invalid_grant" {
				t.Errorf("Exchange after %v: %v, want invalid_grant", tt.wait, err)
			}
		})
	}
}

func TestCodeIsRedeemedOnce(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	a := newAttempt()
	code := f.signIn(t, cfg, a, alex)

	const racers = 8
	var wg sync.WaitGroup
	results := make(chan error, racers)
	for range racers {
		wg.Go(func() {
			_, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
			results <- err
		})
	}
	wg.Wait()
	close(results)
	succeeded := 0
	for err := range results {
		if err == nil {
			succeeded++
		} else if got := oauthError(t, err); got != "invalid_grant" {
			t.Errorf("loser: error %q, want invalid_grant", got)
		}
	}
	if succeeded != 1 {
		t.Errorf("%d redemptions succeeded, want exactly 1", succeeded)
	}
}

func TestAccessTokenLifetime(t *testing.T) {
	tests := []struct {
		wait time.Duration
		ok   bool
	}{
		{idp.AccessTokenLifetime - time.Nanosecond, true},
		{idp.AccessTokenLifetime, false},
	}
	for _, tt := range tests {
		t.Run(tt.wait.String(), func(t *testing.T) {
			f := newFixture(t)
			provider, _ := f.rp(t)
			tok, _ := f.tokens(t, alex)
			f.clock.Advance(tt.wait)
			_, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if (err == nil) != tt.ok {
				t.Errorf("userinfo after %v: err %v, want ok=%v", tt.wait, err, tt.ok)
			}
		})
	}
}

func TestUserinfoRejectsForeignTokens(t *testing.T) {
	f := newFixture(t)
	provider, _ := f.rp(t)
	tok, _ := f.tokens(t, alex)
	altered := []byte(tok.AccessToken)
	altered[len(altered)/2] = map[bool]byte{true: 'B', false: 'A'}[altered[len(altered)/2] == 'A']
	for name, token := range map[string]string{
		"ID token as access token": rawIDToken(t, tok),
		"garbage":                  "not-a-token",
		"altered token":            string(altered),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"}))
			if err == nil {
				t.Error("userinfo accepted it")
			}
		})
	}
}

func TestRotateKeysKeepsOldTokensVerifiable(t *testing.T) {
	f := newFixture(t)
	before, _ := f.tokens(t, alex)
	oldKid := keyID(t, rawIDToken(t, before))

	if err := f.idp.RotateKeys(); err != nil {
		t.Fatalf("RotateKeys: %v", err)
	}
	after, a := f.tokens(t, alex)
	newKid := keyID(t, rawIDToken(t, after))
	if newKid == oldKid || newKid == "" {
		t.Fatalf("kid after rotation %q, before %q", newKid, oldKid)
	}

	// A relying party starting now sees both keys.
	provider, _ := f.rp(t)
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	if _, err := verifier.Verify(f.ctx, rawIDToken(t, before)); err != nil {
		t.Errorf("token signed before the rotation: %v", err)
	}
	idToken, err := verifier.Verify(f.ctx, rawIDToken(t, after))
	if err != nil {
		t.Fatalf("token signed after the rotation: %v", err)
	}
	if idToken.Nonce != a.nonce {
		t.Errorf("nonce %q, want %q", idToken.Nonce, a.nonce)
	}

	kids := func() []string {
		var jwks struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		getJSON(t, f.issuer+"/keys", &jwks)
		var ids []string
		for _, k := range jwks.Keys {
			ids = append(ids, k.Kid)
		}
		return ids
	}
	if got := kids(); !slices.Equal(got, []string{newKid, oldKid}) {
		t.Errorf("JWKS kids %v, want [%s %s]", got, newKid, oldKid)
	}
	f.clock.Advance(idp.IDTokenLifetime - time.Nanosecond)
	if got := kids(); len(got) != 2 {
		t.Errorf("just before the old key retires: kids %v", got)
	}
	f.clock.Advance(time.Nanosecond)
	if got := kids(); !slices.Equal(got, []string{newKid}) {
		t.Errorf("after the old key's tokens expired: kids %v, want [%s]", got, newKid)
	}
}

func TestEndSession(t *testing.T) {
	f := newFixture(t)
	provider, _ := f.rp(t)
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("end_session_endpoint %q: %v", meta.EndSession, err)
	}
	registered := f.server.URL + signedOut

	tests := []struct {
		name         string
		params       func(idToken string) url.Values
		wantLocation string // "" means no redirect at all
		revokes      bool
	}{
		{
			name: "registered URI with client_id",
			params: func(string) url.Values {
				return url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {registered}, "state": {"s1"}}
			},
			wantLocation: registered + "?state=s1",
		},
		{
			name: "registered URI with id_token_hint",
			params: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {registered}}
			},
			wantLocation: registered,
			revokes:      true,
		},
		{
			name: "unregistered URI",
			params: func(string) url.Values {
				return url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {"https://attacker.example/"}}
			},
		},
		{
			name: "registered URI with another path",
			params: func(string) url.Values {
				return url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {registered + "/x"}}
			},
		},
		{
			name: "URI without a client goes to the provider's page",
			params: func(string) url.Values {
				return url.Values{"post_logout_redirect_uri": {"https://attacker.example/"}}
			},
			wantLocation: f.issuer + "/logged-out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _ := f.tokens(t, alex)
			resp, err := noRedirect.Get(meta.EndSession + "?" + tt.params(rawIDToken(t, tok)).Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			switch {
			case tt.wantLocation == "" && (resp.StatusCode != http.StatusBadRequest || loc != ""):
				t.Errorf("status %d Location %q, want 400 without a redirect", resp.StatusCode, loc)
			case tt.wantLocation != "" && (resp.StatusCode != http.StatusFound || loc != tt.wantLocation):
				t.Errorf("status %d Location %q, want 302 to %q", resp.StatusCode, loc, tt.wantLocation)
			}
			_, err = provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
			if revoked := err != nil; revoked != tt.revokes {
				t.Errorf("access token revoked %v, want %v", revoked, tt.revokes)
			}
		})
	}

	out := get(t, http.DefaultClient, f.issuer+"/logged-out")
	if out.resp.StatusCode != http.StatusOK || !strings.Contains(out.body, "You have signed out") ||
		!strings.HasPrefix(out.resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("signed-out page: status %d CSP %q", out.resp.StatusCode, out.resp.Header.Get("Content-Security-Policy"))
	}
}

func TestSignInWindow(t *testing.T) {
	tests := []struct {
		wait time.Duration
		ok   bool
	}{
		{idp.LoginLifetime - time.Nanosecond, true},
		{idp.LoginLifetime, false},
	}
	for _, tt := range tests {
		t.Run(tt.wait.String(), func(t *testing.T) {
			f := newFixture(t)
			_, cfg := f.rp(t)
			c := f.browser(t)
			form := findForm(t, get(t, c, newAttempt().authURL(cfg)))
			f.clock.Advance(tt.wait)
			got := submit(t, c, form, alex.Username, alex.Password)
			if tt.ok {
				callback(t, got)
				return
			}
			if got.resp.StatusCode != http.StatusBadRequest || !strings.Contains(got.body, `role="alert"`) {
				t.Errorf("status %d, want 400 with an alert:\n%s", got.resp.StatusCode, got.body)
			}
		})
	}
}

func TestASignInCannotBeReplayed(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	c := f.browser(t)
	form := findForm(t, get(t, c, newAttempt().authURL(cfg)))
	callback(t, submit(t, c, form, alex.Username, alex.Password))

	again := submit(t, c, form, casey.Username, casey.Password)
	if again.resp.StatusCode != http.StatusBadRequest {
		t.Errorf("second sign-in on one request: status %d, want 400", again.resp.StatusCode)
	}
	unknown := get(t, c, f.issuer+"/login?request=nope")
	if unknown.resp.StatusCode != http.StatusBadRequest || !strings.Contains(unknown.body, "expired") {
		t.Errorf("unknown request: status %d", unknown.resp.StatusCode)
	}
}

func TestPromptNoneNeedsASignIn(t *testing.T) {
	f := newFixture(t)
	_, cfg := f.rp(t)
	a := newAttempt()
	resp, err := noRedirect.Get(a.authURL(cfg) + "&prompt=none")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if q := callback(t, page{resp: resp}); q.Get("error") != "login_required" {
		t.Errorf("callback %v, want error=login_required", q)
	}
}

func TestScopesAreLimitedToTheClients(t *testing.T) {
	f := newFixture(t, func(c *idp.Config) { c.Clients[0].Scopes = []string{"openid"} })
	provider, cfg := f.rp(t)
	a := newAttempt()
	code := f.signIn(t, cfg, a, alex)
	tok, err := cfg.Exchange(f.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(f.ctx, rawIDToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"email", "given_name", "birthdate"} {
		if _, ok := claims[c]; ok {
			t.Errorf("claim %s present without its scope", c)
		}
	}
	if got := tok.Extra("scope"); got != "openid" {
		t.Errorf("granted scope %v, want openid", got)
	}
}

func TestAddUser(t *testing.T) {
	f := newFixture(t)
	drew := idp.User{Subject: "drew-ellis", Username: "drew", Password: "drew-sandbox", Given: "Drew", Family: "Ellis"}
	if err := f.idp.AddUser(drew); err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	provider, _ := f.rp(t)
	tok, _ := f.tokens(t, drew)
	info, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != drew.Subject {
		t.Fatalf("userinfo %+v: %v", info, err)
	}

	for name, u := range map[string]idp.User{
		"same subject":  {Subject: alex.Subject, Username: "other", Password: "x"},
		"same username": {Subject: "other", Username: alex.Username, Password: "x"},
		"no password":   {Subject: "other", Username: "other"},
	} {
		if err := f.idp.AddUser(u); err == nil {
			t.Errorf("%s: AddUser accepted it", name)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() idp.Config {
		return idp.Config{
			Issuer:  "http://127.0.0.1:8080/sandbox/idp",
			Users:   []idp.User{alex},
			Clients: []idp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"}}},
		}
	}
	if _, err := idp.New(good()); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*idp.Config)
	}{
		{"empty issuer", func(c *idp.Config) { c.Issuer = "" }},
		{"relative issuer", func(c *idp.Config) { c.Issuer = "/sandbox/idp" }},
		{"http issuer off loopback", func(c *idp.Config) { c.Issuer = "http://idp.example/sandbox/idp" }},
		{"issuer with a query", func(c *idp.Config) { c.Issuer += "?x=1" }},
		{"issuer with a fragment", func(c *idp.Config) { c.Issuer += "#x" }},
		{"client without id", func(c *idp.Config) { c.Clients[0].ID = "" }},
		{"client without secret", func(c *idp.Config) { c.Clients[0].Secret = "" }},
		{"client without redirect URI", func(c *idp.Config) { c.Clients[0].RedirectURIs = nil }},
		{"relative redirect URI", func(c *idp.Config) { c.Clients[0].RedirectURIs = []string{"/cb"} }},
		{"custom-scheme redirect URI", func(c *idp.Config) { c.Clients[0].RedirectURIs = []string{"app://cb"} }},
		{"redirect URI with fragment", func(c *idp.Config) { c.Clients[0].RedirectURIs = []string{"https://a.example/cb#f"} }},
		{"bad post-logout URI", func(c *idp.Config) { c.Clients[0].PostLogoutRedirectURIs = []string{"nope"} }},
		{"scopes without openid", func(c *idp.Config) { c.Clients[0].Scopes = []string{"profile"} }},
		{"duplicate client", func(c *idp.Config) { c.Clients = append(c.Clients, c.Clients[0]) }},
		{"user without subject", func(c *idp.Config) { c.Users[0].Subject = "" }},
		{"subject with a colon", func(c *idp.Config) { c.Users[0].Subject = "a:b" }},
		{"subject with a space", func(c *idp.Config) { c.Users[0].Subject = "a b" }},
		{"user without username", func(c *idp.Config) { c.Users[0].Username = "" }},
		{"user without password", func(c *idp.Config) { c.Users[0].Password = "" }},
		{"bad birth date", func(c *idp.Config) { c.Users[0].BirthDate = "02/05/1983" }},
		{"bad amr", func(c *idp.Config) { c.Users[0].AMR = []string{"two words"} }},
		{"duplicate user", func(c *idp.Config) { c.Users = append(c.Users, c.Users[0]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.mutate(&cfg)
			if _, err := idp.New(cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestIntrospectionIsForTheTokensClient(t *testing.T) {
	other := idp.Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{"https://other.example/cb"}}
	f := newFixture(t, func(c *idp.Config) { c.Clients = append(c.Clients, other) })
	tok, _ := f.tokens(t, alex)
	tests := []struct {
		id, secret string
		active     bool
	}{
		{clientID, clientSecret, true},
		{other.ID, other.Secret, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, f.issuer+"/oauth/introspect",
				strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(tt.id, tt.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := read(t, resp)
			wantActive := `"active":` + map[bool]string{true: "true", false: "false"}[tt.active]
			if resp.StatusCode != http.StatusOK || !strings.Contains(p.body, wantActive) {
				t.Errorf("status %d body %s, want %s", resp.StatusCode, p.body, wantActive)
			}
			if tt.active && !strings.Contains(p.body, `"sub":"`+alex.Subject+`"`) {
				t.Errorf("body %s lacks the subject", p.body)
			}
		})
	}
}

func TestConcurrentSignIns(t *testing.T) {
	f := newFixture(t)
	provider, _ := f.rp(t)
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	// The group returns once its parallel subtests have all finished.
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			user := []idp.User{alex, casey}[i%2]
			t.Run(fmt.Sprintf("%s-%d", user.Username, i), func(t *testing.T) {
				t.Parallel()
				tok, a := f.tokens(t, user)
				idToken, err := verifier.Verify(f.ctx, rawIDToken(t, tok))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if idToken.Subject != user.Subject || idToken.Nonce != a.nonce {
					t.Errorf("sub %q nonce %q, want %q %q", idToken.Subject, idToken.Nonce, user.Subject, a.nonce)
				}
			})
		}
		t.Run("rotate", func(t *testing.T) {
			t.Parallel()
			if err := f.idp.RotateKeys(); err != nil {
				t.Errorf("RotateKeys: %v", err)
			}
		})
	})
}

func TestIssuerWithATrailingSlash(t *testing.T) {
	f := newFixture(t, func(c *idp.Config) { c.Issuer += "/" })
	provider, _ := f.rp(t) // go-oidc compares the discovered issuer exactly
	tok, a := f.tokens(t, alex)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(f.ctx, rawIDToken(t, tok))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idToken.Issuer != f.issuer || idToken.Nonce != a.nonce {
		t.Errorf("iss %q nonce %q", idToken.Issuer, idToken.Nonce)
	}
}
