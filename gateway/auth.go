package gateway

import (
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

// loginCookie carries the network and the browser binding of a sign-in in
// progress from /auth/login to /auth/callback.
const loginCookie = "portalgate_login"

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
	token   string
	session *session.Session
	account *accounts.Account // nil until the login is enrolled
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
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     loginCookie,
		Value:    network + "." + l.Binding,
		Path:     "/auth/callback",
		MaxAge:   int(l.Expires.Sub(h.now()).Seconds()) + 1,
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	})
	c.Redirect(http.StatusFound, l.AuthURL)
}

// callback finishes a sign-in: it verifies what the provider sent back,
// starts a new session (never reusing one: session fixation) and audits.
func (h *portalHandlers) callback(c *gin.Context) {
	ctx := c.Request.Context()
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Path: "/auth/callback", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	network, binding := "", ""
	if ck, err := c.Request.Cookie(loginCookie); err == nil {
		network, binding, _ = strings.Cut(ck.Value, ".")
	}
	if e := c.Query("error"); e != "" {
		h.auditSignInFailed(c, network, "provider refused: "+e)
		WriteError(c, http.StatusUnauthorized, "the identity provider did not sign you in ("+quoteBounded(e)+"); start again at /auth/login")
		return
	}
	id, err := h.Login.FinishLogin(ctx, c.Query("state"), c.Query("code"), binding)
	if err != nil {
		status, detail := signInError(err)
		h.auditSignInFailed(c, network, signInFailure(err))
		if status >= 500 {
			h.logger.WarnContext(ctx, "sign-in failed", "network", network, "err", err)
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
	event := audit.Event{Kind: audit.SignIn, Network: id.Network, Outcome: audit.Success}
	if account != nil {
		data.Account = account.ID
		event.Account, event.Person = account.ID, account.Person
	}
	old, _ := session.TokenFromRequest(c.Request, h.secure)
	token, sess, err := h.Sessions.Rotate(ctx, old, data)
	if err != nil {
		h.fail(c, "starting the session", err)
		return
	}
	if !h.audit(c, event) {
		_ = h.Sessions.Delete(ctx, token)
		return
	}
	http.SetCookie(c.Writer, session.Cookie(token, h.secure, sess.ExpiresAt.Sub(h.now())))
	c.Redirect(http.StatusSeeOther, id.ReturnTo)
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

func (h *portalHandlers) auditSignInFailed(c *gin.Context, network, why string) {
	if _, ok := h.Networks(network); !ok {
		return // nothing to file it under: the cookie was missing or forged
	}
	e := audit.Event{Kind: audit.SignInFailed, Network: network, Outcome: audit.MinorFailure, Detail: why}
	if _, err := h.Audit.Record(c.Request.Context(), h.stamp(c, e)); err != nil {
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
	who := &caller{token: token, session: sess}
	if sess.Account != "" {
		who.account, err = h.Accounts.Account(ctx, sess.Network, sess.Account)
		if err != nil {
			h.fail(c, "reading the account", err)
			return
		}
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

// audit records e for the request; when that fails the request is refused,
// since an access that cannot be audited must not happen.
func (h *portalHandlers) audit(c *gin.Context, e audit.Event) bool {
	if _, err := h.Audit.Record(c.Request.Context(), h.stamp(c, e)); err != nil {
		h.logger.ErrorContext(c.Request.Context(), "audit write failed", "kind", e.Kind, "err", err)
		WriteError(c, http.StatusServiceUnavailable, "the request could not be audited, so it was not carried out; try again shortly")
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
