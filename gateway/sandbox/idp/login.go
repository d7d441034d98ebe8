package idp

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Paths the provider serves besides the library's endpoints, relative to
// the issuer.
const (
	pathLogin     = "/login"
	pathLoggedOut = "/logged-out"
)

// Fields of the sign-in form. Scripts post username and password directly,
// so these names are part of the sandbox contract.
const (
	fieldRequest  = "request"
	fieldUsername = "username"
	fieldPassword = "password"
)

// maxFormBytes bounds a sign-in form body.
const maxFormBytes = 16 << 10

// msgWrongCredentials never says which of the two was wrong.
const msgWrongCredentials = "The username or password is incorrect."

// Policies for the HTML pages, which the gateway's API policy would block.
const (
	// loginCSPFormat allows the form to post here and the redirects that
	// follow it to reach the relying party, whose origin is appended.
	loginCSPFormat = "default-src 'none'; form-action 'self'%s; frame-ancestors 'none'; base-uri 'none'"
	noticeCSP      = "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// loginPages serves the sign-in form and the signed-out page.
type loginPages struct {
	store  *storage
	users  *directory
	logger *slog.Logger
	// formAction is the issuer's path plus /login: same origin whatever
	// host name the browser used.
	formAction  string
	callbackURL func(requestID string) string
}

type loginForm struct {
	Client   string
	Action   string
	Request  string
	Username string
	Error    string
}

type notice struct {
	Title   string
	Message string
	Alert   bool
}

func (p *loginPages) showLogin(w http.ResponseWriter, r *http.Request) {
	a, err := p.store.pendingRequest(r.URL.Query().Get(fieldRequest))
	if err != nil {
		renderExpired(w)
		return
	}
	p.renderForm(w, http.StatusOK, a, "", "")
}

// submitLogin checks the credentials and hands a signed-in request back to
// the library, which answers the relying party with a code.
func (p *loginPages) submitLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "notice.html", noticeCSP, notice{
			Title:   "Sign-in failed",
			Message: "The sign-in form could not be read. Go back to the app you came from and sign in again.",
			Alert:   true,
		})
		return
	}
	// Only the body counts: credentials never travel in a URL.
	id := r.PostForm.Get(fieldRequest)
	a, err := p.store.pendingRequest(id)
	if err != nil {
		renderExpired(w)
		return
	}
	username := r.PostForm.Get(fieldUsername)
	acct, ok := p.users.authenticate(username, r.PostForm.Get(fieldPassword))
	if !ok {
		p.logger.InfoContext(r.Context(), "sandbox sign-in refused", "client_id", a.clientID)
		p.renderForm(w, http.StatusUnauthorized, a, username, msgWrongCredentials)
		return
	}
	if err := p.store.completeLogin(id, acct); err != nil {
		renderExpired(w)
		return
	}
	p.logger.InfoContext(r.Context(), "sandbox sign-in", "client_id", a.clientID)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.callbackURL(id), http.StatusSeeOther)
}

func (p *loginPages) showLoggedOut(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, "notice.html", noticeCSP, notice{
		Title:   "You have signed out",
		Message: "You can close this page.",
	})
}

func (p *loginPages) renderForm(w http.ResponseWriter, status int, a *authRequest, username, message string) {
	csp := fmt.Sprintf(loginCSPFormat, cspOrigin(a.redirectURI))
	render(w, status, "login.html", csp, loginForm{
		Client:   a.clientID,
		Action:   p.formAction,
		Request:  a.id,
		Username: username,
		Error:    message,
	})
}

func renderExpired(w http.ResponseWriter) {
	render(w, http.StatusBadRequest, "notice.html", noticeCSP, notice{
		Title:   "This sign-in has expired",
		Message: "The sign-in page is unknown, was already used or has timed out. Go back to the app you came from and sign in again.",
		Alert:   true,
	})
}

func render(w http.ResponseWriter, status int, name, csp string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) // a failed write means the browser went away
}

// cspOrigin is " scheme://host" of a redirect URI for a CSP source list, or
// "" when it cannot be expressed safely (it then falls under 'self' or is
// blocked, never injected).
func cspOrigin(rawURI string) string {
	u, err := url.Parse(rawURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	for _, r := range u.Host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return ""
		}
	}
	return " " + u.Scheme + "://" + u.Host
}
