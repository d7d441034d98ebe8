package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portalgate/portalgate/gateway/accounts"
	"github.com/portalgate/portalgate/gateway/sandbox/idp"
	"github.com/portalgate/portalgate/tenants"
)

// Login is a sign-in at the sandbox identity provider. Every sandbox person
// with a username has one, enrolled at their first org when they are old
// enough to sign up. A person who
// declines to share across the network has, as in a real network, a
// separate login for each other org, not enrolled yet: its activation code
// is listed so that enrollment can be tried by hand.
type Login struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Subject is the login's subject at the provider.
	Subject string `json:"subject"`
	// Org is the org whose record the login is (or will be) tied to.
	Org string `json:"org"`
	// Enrolled logins are tied to the person already.
	Enrolled bool `json:"enrolled"`
	// ActivationCode enrolls a login that is not enrolled yet.
	ActivationCode string `json:"activationCode,omitempty"`

	person string
}

// Enroller is what the sandbox needs of the accounts service.
type Enroller interface {
	PutPerson(ctx context.Context, p accounts.Person) error
	PutProxy(ctx context.Context, network string, grant accounts.ProxyGrant) error
	IssueCode(ctx context.Context, network, person, org string, kind tenants.CodeKind) (string, time.Time, error)
	Redeem(ctx context.Context, r accounts.Redemption) (*accounts.Account, error)
}

// sandboxClientIP is the address enrollments made by the sandbox itself are
// attributed to.
const sandboxClientIP = "127.0.0.1"

// newIdentityProvider builds the sandbox OpenID provider with a login per
// sandbox person (and per org for those who decline to share) and the
// gateway registered as its client.
func (s *Sandbox) newIdentityProvider() (*idp.Provider, error) {
	now := s.now()
	ident := s.network.Identity
	var users []idp.User
	for i := range s.config.Sandbox.People {
		p := &s.config.Sandbox.People[i]
		if p.Username == "" {
			continue
		}
		orgs := s.affiliatedRecords(p)
		if len(orgs) == 0 {
			continue
		}
		logins := []Login{{Username: p.Username, Password: p.Password, Subject: p.ID, Org: orgs[0], person: p.ID}}
		if !p.ShareAcrossNetwork {
			for _, org := range orgs[1:] {
				logins = append(logins, Login{
					Username: p.Username + "@" + org, Password: p.Password,
					Subject: p.ID + "@" + org, Org: org, person: p.ID,
				})
			}
		}
		for _, l := range logins {
			users = append(users, idp.User{
				Subject: l.Subject, Username: l.Username, Password: l.Password,
				Given: p.Given, Family: p.Family, Email: l.Subject + "@sandbox.example",
				BirthDate: p.BirthDateOn(now).String(), AMR: []string{"pwd"},
			})
		}
		s.logins = append(s.logins, logins...)
	}
	return idp.New(idp.Config{
		Issuer: ident.Issuer,
		Users:  users,
		Clients: []idp.Client{{
			ID: ident.ClientID, Secret: ident.ClientSecret.Reveal(),
			RedirectURIs: []string{ident.RedirectURL}, Scopes: ident.Scopes,
		}},
		Now:    s.now,
		Logger: s.logger,
	})
}

// affiliatedRecords are the ids of the network's own orgs holding a record
// of p, in the order of the config. External records are linked, not
// enrolled.
func (s *Sandbox) affiliatedRecords(p *tenants.SandboxPerson) []string {
	var orgs []string
	for _, id := range p.Records {
		if org, ok := s.network.Org(id); ok && org.Membership == tenants.MembershipAffiliated {
			orgs = append(orgs, id)
		}
	}
	return orgs
}

// Enroll registers the sandbox people, their records and proxies with the
// accounts service, enrolls each person's first login through an
// activation code, and issues codes for the other logins. Running it again
// (a sandbox restarted on the same store) is harmless.
func (s *Sandbox) Enroll(ctx context.Context, e Enroller) error {
	now := s.now()
	network := s.network.ID
	for i := range s.config.Sandbox.People {
		p := &s.config.Sandbox.People[i]
		person := accounts.Person{
			ID: p.ID, Network: network, Given: p.Given, Family: p.Family, Gender: p.Gender,
			BirthDate: p.BirthDateOn(now), ShareAcrossNetwork: p.ShareAcrossNetwork,
		}
		for _, org := range s.affiliatedRecords(p) {
			ehr, _ := s.EHR(org)
			person.Records = append(person.Records, accounts.Record{Org: org, Patient: ehr.Patients[p.ID]})
		}
		if err := e.PutPerson(ctx, person); err != nil {
			return fmt.Errorf("sandbox: registering %s: %w", p.ID, err)
		}
	}
	for _, p := range s.config.Sandbox.People {
		for _, a := range p.ActsFor {
			grant := accounts.ProxyGrant{Actor: p.ID, Subject: a.Person, Relationship: a.Relationship}
			if err := e.PutProxy(ctx, network, grant); err != nil {
				return fmt.Errorf("sandbox: proxy %s for %s: %w", p.ID, a.Person, err)
			}
		}
	}
	for i := range s.logins {
		l := &s.logins[i]
		code, _, err := e.IssueCode(ctx, network, l.person, l.Org, tenants.ActivationCode)
		if err != nil {
			return fmt.Errorf("sandbox: code for %s: %w", l.Username, err)
		}
		if l.Subject != l.person { // a per-org login: left for a person to enroll
			l.ActivationCode = code
			continue
		}
		_, err = e.Redeem(ctx, accounts.Redemption{Network: network, Issuer: s.network.Identity.Issuer, Subject: l.Subject, Code: code, ClientIP: sandboxClientIP})
		switch {
		case err == nil, errors.Is(err, accounts.ErrAlreadyEnrolled):
			l.Enrolled = true
		case errors.Is(err, accounts.ErrTooYoung):
			// Below the network's sign-up age: the login stays unenrolled,
			// and trying its code shows the refusal.
			l.ActivationCode = code
		default:
			return fmt.Errorf("sandbox: enrolling %s: %w", l.Username, err)
		}
	}
	return nil
}

// IdentityProvider is the sandbox's OpenID provider.
func (s *Sandbox) IdentityProvider() *idp.Provider { return s.idp }
