package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/portalgate/portalgate/configs"
	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
	"github.com/portalgate/portalgate/fhir/synth"
	"github.com/portalgate/portalgate/gateway/sandbox/idp"
	"github.com/portalgate/portalgate/tenants"
)

// ConfigFile is the sandbox network's file inside configs.FS.
const ConfigFile = "sandbox.yaml"

// Script client: a public SMART client registered at every simulated EHR for
// scripts that run a standalone launch by hand.
const (
	ScriptClientID     = "sandbox-script"
	scriptRedirectPath = "/sandbox/redirect"
)

// OperatorToken authorizes the sandbox's operator API. Like every sandbox
// secret it is published on purpose and trusted nowhere else.
const OperatorToken = "sandbox-operator-token-published-on-purpose"

// Options configure a Sandbox.
type Options struct {
	// BaseURL is the absolute URL at which the sandbox's listener is
	// reached, such as "http://127.0.0.1:8080".
	BaseURL string
	// Now is the clock; records are dated relative to it (default time.Now).
	Now func() time.Time
	// Seed makes the generated records differ between sandboxes; the same
	// seed and day give the same records.
	Seed uint64
	// FHIRData, when set, is a directory laid out like ../shared/fhir-data
	// whose Synthea and Inferno patients are loaded too.
	FHIRData string
	Logger   *slog.Logger
}

// Sandbox is the simulated network: its configuration and one EHR per org.
type Sandbox struct {
	baseURL string
	config  *tenants.Config
	network *tenants.Network
	ehrs    []*EHR
	shared  []SharedPatient
	idp     *idp.Provider
	logins  []Login
	now     func() time.Time
	logger  *slog.Logger
}

// EHR is one simulated EHR of the sandbox.
type EHR struct {
	Org      *tenants.Org
	Endpoint *tenants.Endpoint
	FHIR     *fhirtest.Server
	Auth     *smartauth.Server
	// Patients maps sandbox person ids to their Patient id in this EHR.
	Patients map[string]string
}

// New builds the sandbox: it loads the sandbox network, generates every
// sandbox person's records at the orgs that hold them, starts a simulated
// EHR per org and the identity provider. Nothing listens yet (see
// Register), and nobody is enrolled yet (see Enroll).
func New(opts Options) (*Sandbox, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("sandbox: base URL %q must be absolute", opts.BaseURL)
	}
	baseURL := strings.TrimSuffix(opts.BaseURL, "/")
	backendJWK, err := newBackendJWK()
	if err != nil {
		return nil, err
	}
	cfg, err := tenants.LoadFS(configs.FS, ConfigFile,
		tenants.WithEnv(nil),
		tenants.WithVars(map[string]string{"SANDBOX_URL": baseURL, "SANDBOX_BACKEND_JWK": backendJWK}),
		tenants.WithClock(opts.Now))
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if cfg.Sandbox == nil {
		return nil, errors.New("sandbox: " + ConfigFile + " has no sandbox section")
	}
	network, ok := cfg.Network(cfg.Sandbox.Network)
	if !ok {
		return nil, fmt.Errorf("sandbox: network %q not found", cfg.Sandbox.Network)
	}
	s := &Sandbox{baseURL: baseURL, config: cfg, network: network, now: opts.Now, logger: opts.Logger}
	now := opts.Now()
	for _, org := range network.Orgs {
		ehr, err := s.newEHR(org, now, opts.Seed)
		if err != nil {
			return nil, err
		}
		s.ehrs = append(s.ehrs, ehr)
	}
	if s.idp, err = s.newIdentityProvider(); err != nil {
		return nil, fmt.Errorf("sandbox: identity provider: %w", err)
	}
	if opts.FHIRData != "" {
		shared, err := s.loadShared(opts.FHIRData, now, opts.Seed)
		if err != nil {
			return nil, err
		}
		s.shared = shared
		opts.Logger.Info("sandbox: loaded shared patients", "count", len(shared))
	}
	return s, nil
}

// Config is the sandbox's configuration (its network and people).
func (s *Sandbox) Config() *tenants.Config { return s.config }

// Network is the sandbox network.
func (s *Sandbox) Network() *tenants.Network { return s.network }

// EHRs are the simulated EHRs, one per org, in the order of the config.
func (s *Sandbox) EHRs() []*EHR { return s.ehrs }

// EHR returns the simulated EHR of an org.
func (s *Sandbox) EHR(orgID string) (*EHR, bool) {
	for _, e := range s.ehrs {
		if e.Org.ID == orgID {
			return e, true
		}
	}
	return nil, false
}

// BaseURL is the absolute URL of the sandbox's listener.
func (s *Sandbox) BaseURL() string { return s.baseURL }

func (s *Sandbox) newEHR(org *tenants.Org, now time.Time, seed uint64) (*EHR, error) {
	endpoint := org.Primary()
	if endpoint == nil {
		return nil, fmt.Errorf("sandbox: org %s has no endpoint", org.ID)
	}
	prefix := "/sandbox/" + org.ID + "/fhir"
	if endpoint.FHIRBaseURL != s.baseURL+prefix {
		return nil, fmt.Errorf("sandbox: org %s: FHIR base %q is not the sandbox's %q", org.ID, endpoint.FHIRBaseURL, s.baseURL+prefix)
	}
	auth := smartauth.New(smartauth.Config{
		Clock: s.now,
		Clients: []smartauth.Client{{
			ID:           ScriptClientID,
			Name:         "Sandbox script client",
			Public:       true,
			RedirectURIs: []string{s.baseURL + scriptRedirectPath},
		}},
	})
	gw, ok, err := gatewayClient(endpoint.Auth)
	if err != nil {
		return nil, err
	}
	if ok {
		if err := auth.RegisterClient(gw); err != nil {
			return nil, fmt.Errorf("sandbox: registering the gateway at %s: %w", org.ID, err)
		}
	}
	server := fhirtest.New(
		fhirtest.WithPlatform(endpoint.Quirks()),
		fhirtest.WithAuthorizer(auth),
		fhirtest.WithClock(s.now),
		fhirtest.WithPathPrefix(prefix),
	)
	ehr := &EHR{Org: org, Endpoint: endpoint, FHIR: server, Auth: auth, Patients: map[string]string{}}

	gen := synth.Org{ID: org.ID, Name: org.Name, Platform: endpoint.Platform}
	opts := synth.Options{Now: now, Seed: seed, SensitiveCodes: s.sensitiveCodes()}
	var people []synth.Person
	var holders []*tenants.SandboxPerson
	for i := range s.config.Sandbox.People {
		p := &s.config.Sandbox.People[i]
		if !holdsRecord(p, org.ID) {
			continue
		}
		people = append(people, s.synthPerson(p, now))
		holders = append(holders, p)
	}
	if len(people) == 0 {
		return ehr, nil
	}
	records, err := synth.Records(people, gen, opts)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generating records at %s: %w", org.ID, err)
	}
	if err := server.Load(records...); err != nil {
		return nil, fmt.Errorf("sandbox: loading records into %s: %w", org.ID, err)
	}
	for _, p := range holders {
		patient := synth.PatientID(p.ID, org.ID, seed)
		ehr.Patients[p.ID] = patient
		if p.Username == "" {
			continue
		}
		if err := auth.AddUser(smartauth.User{Username: p.Username, Password: p.Password, Patient: patient, Name: p.Given + " " + p.Family}); err != nil {
			return nil, fmt.Errorf("sandbox: sign-in for %s at %s: %w", p.ID, org.ID, err)
		}
	}
	return ehr, nil
}

func holdsRecord(p *tenants.SandboxPerson, orgID string) bool {
	for _, id := range p.Records {
		if id == orgID {
			return true
		}
	}
	return false
}

// synthPerson describes a sandbox person to the generator, with the family
// members who act for them (parents, adult children) as relatives.
func (s *Sandbox) synthPerson(p *tenants.SandboxPerson, now time.Time) synth.Person {
	loc := s.network.Location()
	person := synth.Person{
		Key:       p.ID,
		Given:     p.Given,
		Family:    p.Family,
		Gender:    p.Gender,
		BirthDate: p.BirthDateOn(now).In(loc),
	}
	for _, other := range s.config.Sandbox.People {
		for _, rel := range other.ActsFor {
			if rel.Person != p.ID || rel.Relationship.RoleCode() == "" {
				continue
			}
			person.Relatives = append(person.Relatives, synth.Relative{
				Key:          other.ID,
				Given:        other.Given,
				Family:       other.Family,
				Gender:       other.Gender,
				BirthDate:    other.BirthDateOn(now).In(loc),
				Relationship: rel.Relationship.RoleCode(),
			})
		}
	}
	return person
}

func (s *Sandbox) sensitiveCodes() []string {
	held := s.network.Policy.Results.HeldForClinician
	codes := make([]string, 0, len(held))
	for _, c := range held {
		codes = append(codes, c.String())
	}
	return codes
}
