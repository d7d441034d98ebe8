package session

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// Cookie names. Over HTTPS the "__Host-" prefix makes browsers refuse the
// cookie unless it is Secure, has Path=/ and no Domain, so no sibling host
// can plant or shadow it. Plain HTTP (a loopback sandbox) cannot use it.
const (
	SecureCookieName   = "__Host-portalgate"
	InsecureCookieName = "portalgate_session"
)

// CookieName returns the session cookie's name for an HTTPS (secure) or
// plain HTTP deployment.
func CookieName(secure bool) string {
	if secure {
		return SecureCookieName
	}
	return InsecureCookieName
}

// Cookie returns the cookie that carries token. maxAge > 0 sets Max-Age
// (rounded up to whole seconds; pass the policy's absolute lifetime, since
// the server decides expiry anyway); 0 makes it a browser-session cookie.
//
// It is HttpOnly, so scripts cannot read it, and SameSite=Lax, so it comes
// with the top-level redirect back from the identity provider but not with
// cross-site subrequests. Lax still sends it on cross-site top-level GETs:
// state-changing endpoints must not use GET.
func Cookie(token string, secure bool, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName(secure),
		Value:    token,
		Path:     "/",
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge > 0 {
		c.MaxAge = int(min(math.Ceil(maxAge.Seconds()), math.MaxInt32))
	}
	return c
}

// ClearCookie returns a cookie that removes the session cookie (logout).
func ClearCookie(secure bool) *http.Cookie {
	c := Cookie("", secure, 0)
	c.MaxAge = -1
	return c
}

// TokenFromRequest returns the session token a request carries:
// "Authorization: Bearer" first (mobile apps), then the session cookie of
// the deployment's kind (see CookieName); a cookie under the other name is
// ignored. fromCookie tells the two apart: requests authenticated by cookie
// need cross-site request forgery checks, bearer requests do not.
//
// A request with a Bearer header is judged by it alone: a malformed one
// yields "", never a fall back to the cookie. The token's format is
// checked only loosely here; Manager.Lookup decides whether it is valid.
func TokenFromRequest(r *http.Request, secure bool) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, isBearer := bearerToken(h); isBearer {
			return tok, false
		}
	}
	c, err := r.Cookie(CookieName(secure))
	if err != nil || !isToken68(c.Value) {
		return "", false
	}
	return c.Value, true
}

// bearerToken parses an Authorization header value (RFC 6750 §2.1). isBearer
// reports whether it uses the Bearer scheme, whose name is case-insensitive.
func bearerToken(header string) (token string, isBearer bool) {
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	if !isToken68(rest) {
		return "", true
	}
	return rest, true
}

// isToken68 reports whether s is a non-empty b64token (RFC 6750 §2.1):
// letters, digits and -._~+/, then optional '=' padding.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" || len(s) > 4096 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
