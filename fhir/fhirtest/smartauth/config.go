package smartauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Defaults for the lifetimes a Config leaves at zero.
const (
	DefaultTokenLifetime   = time.Hour
	DefaultCodeLifetime    = 60 * time.Second
	DefaultRefreshLifetime = 30 * 24 * time.Hour
)

// Config describes one authorization server. Only Clients and Users are
// usually set; everything else has a working default.
type Config struct {
	Clients []Client
	Users   []User
	// Clock tells the time for every expiry decision; nil means time.Now.
	Clock func() time.Time
	// TokenLifetime is how long an access token is valid.
	TokenLifetime time.Duration
	// CodeLifetime is how long an authorization code may wait to be exchanged.
	CodeLifetime time.Duration
	// RefreshLifetime is how long a refresh token is valid; each use issues
	// a new one with a fresh lifetime.
	RefreshLifetime time.Duration
	// HTTPClient fetches clients' JWKSURL; nil means a client with a
	// 10-second timeout. Every fetch also carries its own deadline.
	HTTPClient *http.Client
}

// Client is an OAuth client registered with the server. How it
// authenticates follows from what is set: Public (none), Secret
// (client_secret_basic or client_secret_post) or JWKS / JWKSURL
// (private_key_jwt). Exactly one of them must be given.
type Client struct {
	ID string
	// Name is shown on the sign-in page; empty means ID.
	Name   string
	Public bool
	Secret string
	// JWKS holds the client's public keys; JWKSURL is where to fetch them.
	JWKS    *jose.JSONWebKeySet
	JWKSURL string
	// RedirectURIs are compared exactly with the authorization request's.
	RedirectURIs []string
	// Scopes bounds what the client may be granted: a held scope covers
	// narrower ones (patient/*.read covers patient/Observation.rs). Nil
	// allows every scope the server supports.
	Scopes []string
	// Backend clients use client_credentials and receive system access with
	// no patient. They are confidential: private_key_jwt (SMART Backend
	// Services) or a secret (as Oracle Health system accounts use).
	Backend bool
}

// User is a patient who can sign in on the authorization page.
type User struct {
	Username string
	Password string
	// Patient is the id of the Patient resource the user's tokens are
	// limited to; it is returned as the launch context "patient".
	Patient string
	// Name is the user's display name, for listings such as the sandbox's.
	Name string
}

// clientAuthMethod is how a registered client proves who it is.
type clientAuthMethod int

const (
	authNone          clientAuthMethod = iota + 1 // public client
	authClientSecret                              // client_secret_basic or client_secret_post
	authPrivateKeyJWT                             // private_key_jwt
)

func (c *Client) authMethod() clientAuthMethod {
	switch {
	case c.Public:
		return authNone
	case c.Secret != "":
		return authClientSecret
	default:
		return authPrivateKeyJWT
	}
}

func (c *Client) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func (c *Client) allowsRedirect(uri string) bool {
	for _, registered := range c.RedirectURIs {
		if uri == registered {
			return true
		}
	}
	return false
}

// validate reports what is wrong with a client registration.
func (c *Client) validate() error {
	if c.ID == "" {
		return errors.New("client id is empty")
	}
	methods := 0
	for _, set := range []bool{c.Public, c.Secret != "", c.JWKS != nil || c.JWKSURL != ""} {
		if set {
			methods++
		}
	}
	if methods != 1 {
		return fmt.Errorf("client %q: set exactly one of Public, Secret, JWKS/JWKSURL", c.ID)
	}
	if c.JWKS != nil && c.JWKSURL != "" {
		return fmt.Errorf("client %q: set JWKS or JWKSURL, not both", c.ID)
	}
	if c.JWKSURL != "" {
		if err := checkAbsoluteURL(c.JWKSURL); err != nil {
			return fmt.Errorf("client %q: JWKSURL: %w", c.ID, err)
		}
	}
	if c.Backend && c.authMethod() == authNone {
		return fmt.Errorf("client %q: a backend client must be confidential: give it JWKS, JWKSURL or Secret", c.ID)
	}
	if !c.Backend && len(c.RedirectURIs) == 0 {
		return fmt.Errorf("client %q: needs at least one redirect URI", c.ID)
	}
	for _, uri := range c.RedirectURIs {
		if err := checkAbsoluteURL(uri); err != nil {
			return fmt.Errorf("client %q: redirect URI %q: %w", c.ID, uri, err)
		}
	}
	for _, scope := range c.Scopes {
		if !validScopeToken(scope) {
			return fmt.Errorf("client %q: scope %q is not a valid OAuth scope", c.ID, scope)
		}
	}
	return nil
}

func (u *User) validate() error {
	switch {
	case u.Username == "":
		return errors.New("user name is empty")
	case u.Password == "":
		return fmt.Errorf("user %q: password is empty", u.Username)
	case u.Patient == "":
		return fmt.Errorf("user %q: patient id is empty", u.Username)
	}
	return nil
}

func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	// Native apps may register private-use schemes such as com.example.app:/cb.
	if u.Scheme == "" || (u.Host == "" && (u.Scheme == "http" || u.Scheme == "https")) {
		return errors.New("not an absolute URL")
	}
	if u.Fragment != "" {
		return errors.New("has a fragment")
	}
	return nil
}
