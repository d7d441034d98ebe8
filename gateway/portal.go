package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/audit"
	"github.com/portalgate/portalgate/gateway/identity"
	"github.com/portalgate/portalgate/gateway/session"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// LoginFlow is the relying-party side of sign-in (gateway/identity).
type LoginFlow interface {
	StartLogin(ctx context.Context, network, returnTo string) (identity.Login, error)
	FinishLogin(ctx context.Context, state, code, binding string) (*identity.Identity, error)
	AbandonLogin(ctx context.Context, state string) (network string, err error)
	EndSessionURL(ctx context.Context, network, idTokenHint, postLogoutRedirect string) (string, bool)
}

// Sessions keeps signed-in sessions (gateway/session).
type Sessions interface {
	Rotate(ctx context.Context, old string, d session.Data) (string, *session.Session, error)
	Lookup(ctx context.Context, token string) (*session.Session, error)
	Bind(ctx context.Context, token, account string) error
	Delete(ctx context.Context, token string) error
}

// Accounts ties logins to people and their records (gateway/accounts).
type Accounts interface {
	AccountFor(ctx context.Context, network, issuer, subject string) (*accounts.Account, error)
	Account(ctx context.Context, network, id string) (*accounts.Account, error)
	Person(ctx context.Context, network, id string) (*accounts.Person, error)
	PutPerson(ctx context.Context, p accounts.Person) error
	IssueCode(ctx context.Context, network, person, org string, kind tenants.CodeKind) (string, time.Time, error)
	Redeem(ctx context.Context, r accounts.Redemption) (*accounts.Account, error)
	Visible(ctx context.Context, a *accounts.Account) ([]accounts.Record, error)
	ActsFor(ctx context.Context, network, person string) ([]accounts.ProxyGrant, error)
	Consent(ctx context.Context, network, person string) (*accounts.ConsentState, error)
	SetConsent(ctx context.Context, network, person string, share bool, by string) (*accounts.ConsentState, error)
	ConsentHistory(ctx context.Context, network, person string) ([]accounts.ConsentState, error)
}

// AuditTrail records and shows audit events (gateway/audit).
type AuditTrail interface {
	Record(ctx context.Context, e audit.Event) ([]string, error)
	ForPerson(ctx context.Context, network, person string, page audit.Page) ([]audit.Entry, string, error)
	Network(ctx context.Context, network string, page audit.Page) ([]audit.Entry, string, error)
}

// Portal is what the sign-in routes, the portal API and the operator API
// are built on.
type Portal struct {
	Networks func(id string) (*tenants.Network, bool)
	Login    LoginFlow
	Sessions Sessions
	Accounts Accounts
	Audit    AuditTrail
	// Idempotency keeps the answers of writes sent with an Idempotency-Key.
	Idempotency store.KV
	// OperatorToken authorizes the operator API (Bearer); empty disables it.
	OperatorToken string
	// Records finds the record service of a network, and Access decides every read of a
	// record. Without them the record routes (portal reads, the FHIR face) are left out.
	Records func(network string) (RecordSearcher, bool)
	Access  AccessDecider
}

func (p Portal) validate() error {
	if p.Networks == nil || p.Login == nil || p.Sessions == nil || p.Accounts == nil || p.Audit == nil || p.Idempotency == nil {
		return errors.New("gateway: Portal needs Networks, Login, Sessions, Accounts, Audit and Idempotency")
	}
	return nil
}

// RegisterPortal mounts sign-in (/auth/…), the portal API (/api/v1/…) and,
// when an operator token is set, the operator API (/operator/v1/…).
func (s *Server) RegisterPortal(p Portal) error {
	if err := p.validate(); err != nil {
		return err
	}
	h := &portalHandlers{Portal: p, secure: s.tls, now: s.now, logger: s.logger, cop: http.NewCrossOriginProtection()}
	r := s.engine
	r.GET("/auth/login", h.login)
	r.GET("/auth/callback", h.callback)
	r.POST("/auth/logout", h.authenticate, h.logout)

	api := r.Group(APIPrefix, h.authenticate)
	api.GET("/me", h.me)
	api.POST("/enrollment", h.idempotent, h.enroll)
	api.GET("/consents", h.enrolled, h.consents)
	api.PUT("/consents", h.enrolled, h.idempotent, h.putConsents)
	api.GET("/consents/history", h.enrolled, h.consentHistory)
	api.GET("/audit", h.enrolled, h.auditLog)
	if p.Records != nil && p.Access != nil {
		h.registerRecordReads(api.Group("", h.enrolled))
		h.registerFHIRFace(r)
	}

	if p.OperatorToken != "" {
		sum := sha256.Sum256([]byte(p.OperatorToken))
		h.operatorTokenHash = sum[:]
		op := r.Group("/operator/v1/networks/:network", h.operator)
		op.PUT("/people/:person", h.putPerson)
		op.POST("/activation-codes", h.idempotent, h.issueCode)
		op.GET("/audit", h.networkAudit)
	}
	return nil
}

// operatorAuthorized compares a presented operator token in constant time.
func (h *portalHandlers) operatorAuthorized(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], h.operatorTokenHash) == 1
}
