package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/session"
)

// loginCookie carries the browser binding of a sign-in in progress from
// /auth/login to /auth/callback. On TLS the __Host- prefix stops a sibling
// host from planting one (login CSRF). The network of the sign-in is the
// pending login's business, never the cookie's.
func loginCookie(secure bool) (name, path string) {
	if secure {
		return "__Host-portalgate_login", "/"
	}
	return "portalgate_login", "/auth/callback"
}

type portalHandlers struct {
	Portal
	secure            bool
	now               func() time.Time
	logger            *slog.Logger
	cop               *http.CrossOriginProtection
	operatorTokenHash []byte
}

// caller is the signed-in session of a request, set by authenticate.
type caller struct {
	token      string
	fromCookie bool
	session    *session.Session
	account    *accounts.Account // nil until the login is enrolled
}

const callerKey = "portalgate.caller"

func callerOf(c *gin.Context) *caller { return c.MustGet(callerKey).(*caller) }

// login starts a sign-in at the network's identity provider.
func (h *portalHandlers) login(c *gin.Context) {
	network := c.Query("network")
	if _, ok := h.Networks(network); !ok {
		WriteError(c, http.StatusNotFound, "no network "+quoteBounded(network)+" here; name one with ?network=")
		return
	}
	l, err := h.Login.StartLogin(c.Request.Context(), network, c.Query("returnTo"))
	switch {
	case errors.Is(err, identity.ErrInvalidReturnTo):
		WriteError(c, http.StatusBadRequest, "returnTo must be a path on this site, such as /portal/home")
		return
	case errors.Is(err, identity.ErrProviderUnavailable):
		h.logger.WarnContext(c.Request.Context(), "identity provider unavailable", "network", network, "err", err)
		WriteError(c, http.StatusServiceUnavailable, "the sign-in service of this network cannot be reached; try again shortly")
		return
	case err != nil:
		h.fail(c, "starting sign-in", err)
		return
	}
	name, path := loginCookie(h.secure)
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     name,
		Value:    l.Binding,
		Path:     path,
		MaxAge:   int(l.Expires.Sub(h.now()).Seconds()) + 1,
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	})
	c.Redirect(http.StatusFound, l.AuthURL)
}

// callback finishes a sign-in: it verifies what the provider sent back,
// starts a new session (never reusing one: session fixation) and audits.
// Failures are audited under the network of the pending login the state
// names; a callback naming none is nobody's to file.
func (h *portalHandlers) callback(c *gin.Context) {
	ctx := c.Request.Context()
	name, path := loginCookie(h.secure)
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Path: path, MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	binding := ""
	if ck, err := c.Request.Cookie(name); err == nil {
		binding = ck.Value
	}
	if e := c.Query("error"); e != "" {
		code := providerErrorCode(e)
		network, err := h.Login.AbandonLogin(ctx, c.Query("state"))
		switch {
		case err == nil:
			h.auditSignInFailed(c, audit.Event{Network: network, Detail: "provider refused: " + code})
		case !errors.Is(err, identity.ErrLoginExpired):
			h.logger.WarnContext(ctx, "abandoning a sign-in failed", "err", err)
		}
		WriteError(c, http.StatusUnauthorized, "the identity provider did not sign you in ("+code+"); start again at /auth/login")
		return
	}
	id, err := h.Login.FinishLogin(ctx, c.Query("state"), c.Query("code"), binding)
	if err != nil {
		status, detail := signInError(err)
		e := audit.Event{Detail: signInFailure(err)}
		var failed *identity.LoginError
		if errors.As(err, &failed) {
			e.Network = failed.Network
			if failed.Subject != "" {
				e.Account = accounts.AccountID(failed.Network, failed.Issuer, failed.Subject)
			}
			h.auditSignInFailed(c, e)
		}
		if status >= 500 {
			h.logger.WarnContext(ctx, "sign-in failed", "network", e.Network, "err", err)
		}
		WriteError(c, status, detail)
		return
	}
	account, err := h.Accounts.AccountFor(ctx, id.Network, id.Issuer, id.Subject)
	if err != nil && !errors.Is(err, accounts.ErrNotEnrolled) {
		h.fail(c, "finding the account", err)
		return
	}
	data := session.Data{Network: id.Network, Issuer: id.Issuer, Subject: id.Subject, IDTokenHint: id.IDToken}
	// A login not enrolled yet is named by the account id it will have.
	event := audit.Event{Kind: audit.SignIn, Network: id.Network, Outcome: audit.Success,
		Account: accounts.AccountID(id.Network, id.Issuer, id.Subject)}
	if account != nil {
		data.Account = account.ID
		event.Account, event.Person = account.ID, account.Person
	}
	old, _ := session.TokenFromRequest(c.Request, h.secure)
	token, _, err := h.Sessions.Rotate(ctx, old, data)
	if err != nil {
		h.fail(c, "starting the session", err)
		return
	}
	if !h.audit(c, event) {
		_ = h.Sessions.Delete(ctx, token)
		return
	}
	// A browser-session cookie: the server alone decides when the session
	// ends (idle and absolute limits), so an active user is never cut off
	// by a cookie that expired with the first idle window.
	http.SetCookie(c.Writer, session.Cookie(token, h.secure, 0))
	c.Redirect(http.StatusSeeOther, id.ReturnTo)
}

// providerErrorCode keeps an authorization error code (RFC 6749 §4.1.2.1,
// OpenID Connect §3.1.2.6) only when it is one of the known codes: the
// query is anyone's to write, and what is audited must be a fixed phrase.
func providerErrorCode(e string) string {
	switch e {
	case "access_denied", "invalid_request", "unauthorized_client", "unsupported_response_type",
		"invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
		"login_required", "account_selection_required", "consent_required":
		return e
	}
	return "unrecognised error"
}

// signInError maps a refused sign-in to a status and a message that says
// what to do, without echoing anything the provider sent.
func signInError(err error) (int, string) {
	switch {
	case errors.Is(err, identity.ErrLoginExpired), errors.Is(err, identity.ErrBindingMismatch):
		return http.StatusBadRequest, "this sign-in expired, was already used, or was started in another browser; start again at /auth/login"
	case errors.Is(err, identity.ErrAuthContext):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, identity.ErrTokenRejected):
		return http.StatusUnauthorized, "the identity provider's answer could not be verified; start again at /auth/login"
	case errors.Is(err, identity.ErrUnknownNetwork):
		return http.StatusNotFound, "the network of this sign-in is not served here"
	case errors.Is(err, identity.ErrProviderUnavailable):
		return http.StatusServiceUnavailable, "the sign-in service of this network cannot be reached; try again shortly"
	}
	return http.StatusInternalServerError, "sign-in failed"
}

// signInFailure is the fixed phrase audited for a refused sign-in.
func signInFailure(err error) string {
	switch {
	case errors.Is(err, identity.ErrLoginExpired):
		return "sign-in expired or replayed"
	case errors.Is(err, identity.ErrBindingMismatch):
		return "sign-in finished in another browser"
	case errors.Is(err, identity.ErrAuthContext):
		return "two-step verification missing"
	case errors.Is(err, identity.ErrTokenRejected):
		return "ID token rejected"
	case errors.Is(err, identity.ErrProviderUnavailable):
		return "identity provider unavailable"
	}
	return "sign-in error"
}

// auditSignInFailed records a refused sign-in of a network served here. A
// failed sign-in is refused whatever the audit write does, so a failed
// write is only logged.
func (h *portalHandlers) auditSignInFailed(c *gin.Context, e audit.Event) {
	if _, ok := h.Networks(e.Network); !ok {
		return // a login of a network no longer served: nothing to file it under
	}
	e.Kind, e.Outcome = audit.SignInFailed, audit.MinorFailure
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), auditTimeout)
	defer cancel()
	if _, err := h.Audit.Record(ctx, h.stamp(c, e)); err != nil {
		h.logger.ErrorContext(c.Request.Context(), "audit write failed", "kind", e.Kind, "err", err)
	}
}

// logout ends the session here and tells the client where to end it at the
// identity provider, when the provider supports that.
func (h *portalHandlers) logout(c *gin.Context) {
	ctx := c.Request.Context()
	who := callerOf(c)
	if err := h.Sessions.Delete(ctx, who.token); err != nil {
		h.fail(c, "ending the session", err)
		return
	}
	http.SetCookie(c.Writer, session.ClearCookie(h.secure))
	e := audit.Event{Kind: audit.SignOut, Network: who.session.Network, Outcome: audit.Success}
	if who.account != nil {
		e.Account, e.Person = who.account.ID, who.account.Person
	}
	if !h.audit(c, e) {
		return
	}
	body := gin.H{"signedOut": true}
	if u, ok := h.Login.EndSessionURL(ctx, who.session.Network, who.session.IDTokenHint, ""); ok {
		body["endSessionUrl"] = u
	}
	c.JSON(http.StatusOK, body)
}

// authenticate admits requests with a live session, from the cookie of a
// browser or as a Bearer token of a mobile app. Cookie-authenticated
// writes must come from the gateway's own origin (CSRF).
func (h *portalHandlers) authenticate(c *gin.Context) {
	token, fromCookie := session.TokenFromRequest(c.Request, h.secure)
	if token == "" {
		unauthorized(c, "sign in first: no session cookie or Bearer token")
		return
	}
	if fromCookie {
		if err := h.cop.Check(c.Request); err != nil {
			WriteError(c, http.StatusForbidden, "cross-site request refused: "+err.Error())
			return
		}
	}
	ctx := c.Request.Context()
	sess, err := h.Sessions.Lookup(ctx, token)
	if errors.Is(err, session.ErrNoSession) {
		unauthorized(c, "the session has ended; sign in again")
		return
	}
	if err != nil {
		h.fail(c, "reading the session", err)
		return
	}
	who := &caller{token: token, fromCookie: fromCookie, session: sess}
	switch {
	case sess.Account != "":
		who.account, err = h.Accounts.Account(ctx, sess.Network, sess.Account)
	default:
		// The login may have been enrolled from another session (the app
		// and the browser): pick that up rather than ask again.
		who.account, err = h.Accounts.AccountFor(ctx, sess.Network, sess.Issuer, sess.Subject)
		switch {
		case errors.Is(err, accounts.ErrNotEnrolled):
			err = nil
		case err == nil:
			err = h.Sessions.Bind(ctx, token, who.account.ID)
		}
	}
	if err != nil {
		h.fail(c, "reading the account", err)
		return
	}
	c.Set(callerKey, who)
	c.Next()
}

// enrolled admits only sessions whose login is tied to a person.
func (h *portalHandlers) enrolled(c *gin.Context) {
	if callerOf(c).account == nil {
		WriteProblem(c, Problem{
			Type:   problemType("not-enrolled"),
			Status: http.StatusForbidden,
			Title:  "Not enrolled",
			Detail: "this login is not tied to a patient record yet: POST your activation code to " + APIPrefix + "/enrollment",
		})
		return
	}
	c.Next()
}

func unauthorized(c *gin.Context, detail string) {
	c.Header("WWW-Authenticate", `Bearer realm="portalgate"`)
	WriteError(c, http.StatusUnauthorized, detail)
}

// auditTimeout bounds writing an audit event once the request's own
// context no longer counts: a client that hangs up must not leave a change
// unaudited.
const auditTimeout = 5 * time.Second

// audit records e for the request, whether or not the client is still
// there. When that fails it answers 503 and reports false: before an
// access the caller then refuses it (an access that cannot be audited must
// not happen); after a change it has made, the answer says so.
func (h *portalHandlers) audit(c *gin.Context, e audit.Event) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), auditTimeout)
	defer cancel()
	if _, err := h.Audit.Record(ctx, h.stamp(c, e)); err != nil {
		h.logger.ErrorContext(ctx, "audit write failed", "kind", e.Kind, "err", err)
		WriteError(c, http.StatusServiceUnavailable, "the request could not be recorded in the audit log; check its outcome before trying again")
		return false
	}
	return true
}

func (h *portalHandlers) stamp(c *gin.Context, e audit.Event) audit.Event {
	e.ClientIP = c.ClientIP()
	e.RequestID = RequestID(c.Request.Context())
	return e
}

// fail answers 500 for an unexpected error, logging it with the request id.
func (h *portalHandlers) fail(c *gin.Context, doing string, err error) {
	h.logger.ErrorContext(c.Request.Context(), "request failed", "doing", doing, "err", err)
	WriteError(c, http.StatusInternalServerError, doing+" failed")
}

// quoteBounded quotes user input for a message, cut short.
func quoteBounded(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "\"" + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s) + "\""
}
