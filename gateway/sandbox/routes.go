package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalgate/portalgate/fhir/fhirtest"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/tenants"
)

// maxFaultsBody bounds a faults request body.
const maxFaultsBody = 4 << 10

// idpPath is where the sandbox identity provider is served; its issuer is
// this path on the sandbox's URL (configs/sandbox.yaml).
const idpPath = "/sandbox/idp"

// Register mounts the sandbox on the gateway: GET /sandbox, each EHR at
// /sandbox/{org}/fhir, its fault knobs at /sandbox/{org}/faults, and the
// script client's redirect page.
func (s *Sandbox) Register(srv *gateway.Server) {
	r := srv.Engine()
	r.GET("/sandbox", s.handleIndex)
	r.GET(scriptRedirectPath, handleRedirect)
	srv.Mount(idpPath, s.idp.Handler())
	for _, e := range s.ehrs {
		srv.Mount(e.fhirPath(), e.FHIR)
		faults := "/sandbox/" + e.Org.ID + "/faults"
		r.GET(faults, e.handleGetFaults)
		r.PUT(faults, e.handlePutFaults)
		r.DELETE(faults, e.handleResetFaults)
		r.POST("/sandbox/"+e.Org.ID+"/token", e.handleToken)
	}
}

func (e *EHR) fhirPath() string { return "/sandbox/" + e.Org.ID + "/fhir" }

// Index is the JSON of GET /sandbox.
type Index struct {
	Networks []IndexNetwork `json:"networks"`
	// OperatorToken authorizes the operator API (/operator/v1/…).
	OperatorToken string        `json:"operatorToken"`
	People        []IndexPerson `json:"people"`
	// SharedPatients are patients loaded from a shared data directory.
	SharedPatients []SharedPatient `json:"sharedPatients,omitempty"`
}

// IndexNetwork is one network of the index.
type IndexNetwork struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	AccountModel tenants.AccountModel `json:"accountModel"`
	Issuer       string               `json:"issuer"`
	Login        string               `json:"login"`
	Orgs         []IndexOrg           `json:"orgs"`
}

// IndexOrg is one org and its simulated EHR.
type IndexOrg struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Membership tenants.Membership `json:"membership"`
	Platform   string             `json:"platform"`
	FHIRBase   string             `json:"fhirBase"`
	Metadata   string             `json:"metadata"`
	SMART      IndexSMART         `json:"smart"`
	Faults     string             `json:"faults"`
	// Token issues an access token for a sandbox person without a browser:
	// POST {"username", "password", "scope"}.
	Token string `json:"token"`
	// Patients maps sandbox person ids to their Patient id here.
	Patients map[string]string `json:"patients"`
}

// IndexSMART tells scripts how to run a standalone launch at an EHR.
type IndexSMART struct {
	Configuration string `json:"configuration"`
	Authorize     string `json:"authorizeEndpoint"`
	Token         string `json:"tokenEndpoint"`
	ClientID      string `json:"clientId"`
	RedirectURI   string `json:"redirectUri"`
}

// IndexPerson is one sandbox person. Sandbox passwords are public on purpose.
type IndexPerson struct {
	ID                 string `json:"id"`
	Username           string `json:"username,omitempty"`
	Password           string `json:"password,omitempty"`
	Name               string `json:"name"`
	Gender             string `json:"gender"`
	BirthDate          string `json:"birthDate"`
	Age                int    `json:"age"`
	ShareAcrossNetwork bool   `json:"shareAcrossNetwork"`
	AdolescentConsent  bool   `json:"adolescentConsent,omitempty"`
	// Logins are the person's sign-ins at the sandbox identity provider.
	Logins  []Login        `json:"logins,omitempty"`
	Records []IndexRecord  `json:"records"`
	ActsFor []IndexActsFor `json:"actsFor,omitempty"`
}

// IndexRecord is a person's record at one org; the EHR's own sign-in for
// a standalone launch uses the person's username and password.
type IndexRecord struct {
	Org     string `json:"org"`
	Patient string `json:"patient"`
}

// IndexActsFor says whom a person may act for.
type IndexActsFor struct {
	Person       string               `json:"person"`
	Relationship tenants.Relationship `json:"relationship"`
}

// Index describes the sandbox as of now.
func (s *Sandbox) Index() Index {
	now := s.now()
	loc := s.network.Location()
	idx := Index{SharedPatients: s.shared, OperatorToken: OperatorToken}
	net := IndexNetwork{
		ID:           s.network.ID,
		Name:         s.network.Name,
		AccountModel: s.network.AccountModel,
		Issuer:       s.network.Identity.Issuer,
		Login:        s.baseURL + "/auth/login?network=" + s.network.ID,
	}
	for _, e := range s.ehrs {
		base := s.baseURL + e.fhirPath()
		net.Orgs = append(net.Orgs, IndexOrg{
			ID:         e.Org.ID,
			Name:       e.Org.Name,
			Membership: e.Org.Membership,
			Platform:   e.Endpoint.Platform,
			FHIRBase:   base,
			Metadata:   base + "/metadata",
			SMART: IndexSMART{
				Configuration: base + "/.well-known/smart-configuration",
				Authorize:     base + "/auth/authorize",
				Token:         base + "/auth/token",
				ClientID:      ScriptClientID,
				RedirectURI:   s.baseURL + scriptRedirectPath,
			},
			Faults:   s.baseURL + "/sandbox/" + e.Org.ID + "/faults",
			Token:    s.baseURL + "/sandbox/" + e.Org.ID + "/token",
			Patients: e.Patients,
		})
	}
	idx.Networks = []IndexNetwork{net}
	for _, p := range s.config.Sandbox.People {
		birth := p.BirthDateOn(now)
		person := IndexPerson{
			ID:                 p.ID,
			Username:           p.Username,
			Password:           p.Password,
			Name:               p.Given + " " + p.Family,
			Gender:             p.Gender,
			BirthDate:          birth.String(),
			Age:                tenants.AgeOn(birth, now.In(loc)),
			ShareAcrossNetwork: p.ShareAcrossNetwork,
			AdolescentConsent:  p.AdolescentConsent,
		}
		for _, l := range s.logins {
			if l.person == p.ID {
				person.Logins = append(person.Logins, l)
			}
		}
		for _, org := range p.Records {
			if e, ok := s.EHR(org); ok {
				person.Records = append(person.Records, IndexRecord{Org: org, Patient: e.Patients[p.ID]})
			}
		}
		for _, a := range p.ActsFor {
			person.ActsFor = append(person.ActsFor, IndexActsFor{Person: a.Person, Relationship: a.Relationship})
		}
		idx.People = append(idx.People, person)
	}
	return idx
}

func (s *Sandbox) handleIndex(c *gin.Context) {
	c.JSON(http.StatusOK, s.Index())
}

func (e *EHR) handleGetFaults(c *gin.Context) {
	c.JSON(http.StatusOK, e.FHIR.Faults())
}

// handlePutFaults replaces the EHR's faults; they last until reset.
func (e *EHR) handlePutFaults(c *gin.Context) {
	f, err := decodeFaults(c.Request.Body)
	if err != nil {
		gateway.WriteError(c, http.StatusBadRequest, err.Error())
		return
	}
	if err := e.FHIR.SetFaults(f); err != nil {
		gateway.WriteError(c, http.StatusBadRequest, err.Error())
		return
	}
	c.JSON(http.StatusOK, e.FHIR.Faults())
}

func (e *EHR) handleResetFaults(c *gin.Context) {
	e.FHIR.ResetFaults()
	c.JSON(http.StatusOK, e.FHIR.Faults())
}

func decodeFaults(body io.Reader) (fhirtest.Faults, error) {
	var f fhirtest.Faults
	dec := json.NewDecoder(io.LimitReader(body, maxFaultsBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, errors.New("the body must be a JSON object of faults, such as {\"latencyMs\": 300}")
		}
		return f, fmt.Errorf("faults: %w", err)
	}
	if dec.More() {
		return f, errors.New("faults: the body must hold one JSON object")
	}
	return f, f.Validate()
}

// tokenRequest is the body of POST /sandbox/{org}/token.
type tokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Scope is space-separated; "launch/patient patient/*.read" when empty.
	Scope string `json:"scope"`
}

// handleToken issues an access token of the script client for a sandbox
// person, as if they had signed in and approved a standalone launch: what
// a script needs to call the EHR with curl.
func (e *EHR) handleToken(c *gin.Context) {
	var req tokenRequest
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, maxFaultsBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Username == "" {
		gateway.WriteError(c, http.StatusBadRequest, `the body must be {"username": "…", "password": "…", "scope": "launch/patient patient/*.read"}`)
		return
	}
	scope := req.Scope
	if scope == "" {
		scope = "launch/patient patient/*.read"
	}
	tok, err := e.Auth.PasswordToken(ScriptClientID, req.Username, req.Password, strings.Fields(scope))
	switch {
	case errors.Is(err, smartauth.ErrBadCredentials):
		gateway.WriteError(c, http.StatusUnauthorized, "unknown user or wrong password at "+e.Org.ID)
		return
	case err != nil:
		gateway.WriteError(c, http.StatusBadRequest, err.Error())
		return
	}
	c.JSON(http.StatusOK, tok)
}

// handleRedirect is the landing page of the script client's redirect URI:
// it shows what the EHR sent back, for a person following along by hand.
func handleRedirect(c *gin.Context) {
	q := c.Request.URL.Query()
	var b strings.Builder
	for _, k := range []string{"code", "state", "error", "error_description"} {
		if v := q.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if b.Len() == 0 {
		b.WriteString("This is the sandbox script client's redirect URI; an EHR sends the authorization code here.\n")
	}
	c.String(http.StatusOK, b.String())
}
