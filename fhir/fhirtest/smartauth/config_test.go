package smartauth

import (
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestRegisterClientValidation(t *testing.T) {
	keys := &jose.JSONWebKeySet{}
	redirect := []string{"https://app.example/cb"}
	for _, tc := range []struct {
		name   string
		client Client
		want   string // part of the error; "" for none
	}{
		{"public", Client{ID: "a", Public: true, RedirectURIs: redirect}, ""},
		{"native app scheme", Client{ID: "a", Public: true, RedirectURIs: []string{"com.example.app:/cb"}}, ""},
		{"symmetric", Client{ID: "a", Secret: "s", RedirectURIs: redirect}, ""},
		{"backend by URL", Client{ID: "a", Backend: true, JWKSURL: "https://app.example/jwks"}, ""},
		{"no id", Client{Public: true, RedirectURIs: redirect}, "id is empty"},
		{"no method", Client{ID: "a", RedirectURIs: redirect}, "exactly one"},
		{"public with secret", Client{ID: "a", Public: true, Secret: "s", RedirectURIs: redirect}, "exactly one"},
		{"both key forms", Client{ID: "a", JWKS: keys, JWKSURL: "https://x.example/jwks", RedirectURIs: redirect}, "not both"},
		{"relative JWKS URL", Client{ID: "a", Backend: true, JWKSURL: "/jwks"}, "JWKSURL"},
		{"backend with secret", Client{ID: "a", Backend: true, Secret: "s"}, ""},
		{"public backend", Client{ID: "a", Backend: true, Public: true}, "confidential"},
		{"no redirect", Client{ID: "a", Public: true}, "redirect URI"},
		{"relative redirect", Client{ID: "a", Public: true, RedirectURIs: []string{"/cb"}}, "not an absolute URL"},
		{"http redirect without host", Client{ID: "a", Public: true, RedirectURIs: []string{"http:/cb"}}, "not an absolute URL"},
		{"redirect with fragment", Client{ID: "a", Public: true, RedirectURIs: []string{"https://a.example/cb#x"}}, "fragment"},
		{"bad scope", Client{ID: "a", Public: true, RedirectURIs: redirect, Scopes: []string{"a b"}}, "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(Config{}).RegisterClient(tc.client)
			if tc.want == "" {
				if err != nil {
					t.Errorf("RegisterClient: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RegisterClient err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAddUserValidation(t *testing.T) {
	s := New(Config{})
	for _, u := range []User{{Password: "p", Patient: "x"}, {Username: "u", Patient: "x"}, {Username: "u", Password: "p"}} {
		if err := s.AddUser(u); err == nil {
			t.Errorf("AddUser(%+v) accepted", u)
		}
	}
	if err := s.AddUser(User{Username: "u", Password: "p", Patient: "x"}); err != nil {
		t.Error(err)
	}
}

func TestNewPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted a client without an id")
		}
	}()
	New(Config{Clients: []Client{{Public: true}}})
}

func TestNewDefaults(t *testing.T) {
	s := New(Config{})
	if s.tokenLifetime != DefaultTokenLifetime || s.codeLifetime != DefaultCodeLifetime ||
		s.refreshLifetime != DefaultRefreshLifetime || s.now == nil || s.httpClient.Timeout == 0 {
		t.Errorf("defaults not applied: %+v", s)
	}
}
