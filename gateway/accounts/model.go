package accounts

import (
	"fmt"
	"slices"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/tenants"
)

// Person is the human behind accounts, with their records at the orgs of one network.
type Person struct {
	// ID is unique in the network; it follows the FHIR id rules (letters, digits, '-' and '.',
	// at most 64).
	ID      string `json:"id"`
	Network string `json:"network"`
	Given   string `json:"given,omitempty"`
	Family  string `json:"family,omitempty"`
	// Gender is a FHIR administrative gender (male, female, other, unknown), or empty.
	Gender    string       `json:"gender,omitempty"`
	BirthDate tenants.Date `json:"birthDate"`
	// Records holds at most one record per org, first the org the person is best known at.
	Records []Record `json:"records"`
	// ShareAcrossNetwork is the consent to share across the network's affiliated orgs that
	// holds until the person records a choice of their own (SetConsent).
	ShareAcrossNetwork bool `json:"shareAcrossNetwork"`
}

// Record is a person's Patient at one org.
type Record struct {
	Org     string `json:"org"`
	Patient string `json:"patient"`
}

// Record returns the person's record at org.
func (p *Person) Record(org string) (Record, bool) {
	i := slices.IndexFunc(p.Records, func(r Record) bool { return r.Org == org })
	if i < 0 {
		return Record{}, false
	}
	return p.Records[i], true
}

// Account is a login at the gateway: an OpenID Connect subject at the network's provider, tied
// to one person by the code it redeemed.
type Account struct {
	// ID is derived from the network, issuer and subject, so it is stable and never reused
	// by another login.
	ID      string `json:"id"`
	Network string `json:"network"`
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
	Person  string `json:"person"`
	// HomeOrg is the org whose code enrolled the account: the only org it sees when its
	// person declines to share in a consent-model network.
	HomeOrg string    `json:"homeOrg"`
	Created time.Time `json:"created"`
}

// ProxyGrant says that one person may act for another. What the actor may then see is the
// access decision's business (tenants.Policy.ProxyAccess); this package only keeps the grants.
type ProxyGrant struct {
	// Actor and Subject are person ids in the same network.
	Actor        string               `json:"actor"`
	Subject      string               `json:"subject"`
	Relationship tenants.Relationship `json:"relationship"`
	// Granted is when the grant was made; PutProxy sets it to now when zero.
	Granted time.Time `json:"granted"`
}

// validateFHIRID checks an id against FHIR's rules for resource ids, which also keeps it safe
// in store keys.
func validateFHIRID(what, id string) error {
	switch {
	case id == "":
		return invalidf("%s is required", what)
	case !fhir.ValidID(id):
		return invalidf("%s must be 1 to %d letters, digits, '-' and '.'", what, fhir.MaxIDLen)
	}
	return nil
}

var genders = []string{"", "male", "female", "other", "unknown"}

// validatePerson checks p against the network it claims to belong to.
func validatePerson(p *Person, network *tenants.Network, now time.Time) error {
	if err := validateFHIRID("person id", p.ID); err != nil {
		return err
	}
	if !slices.Contains(genders, p.Gender) {
		return invalidf("gender must be male, female, other or unknown")
	}
	if p.BirthDate.IsZero() {
		return invalidf("a birth date is required")
	}
	if p.BirthDate.Compare(tenants.DateOf(now.In(network.Location()))) > 0 {
		return invalidf("the birth date is in the future")
	}
	seen := map[string]bool{}
	for i, r := range p.Records {
		if _, ok := network.Org(r.Org); !ok {
			return invalidf("record %d names an org the network does not have", i)
		}
		if seen[r.Org] {
			return invalidf("record %d repeats an org: a person has one record per org", i)
		}
		seen[r.Org] = true
		if err := validateFHIRID(fmt.Sprintf("the patient id of record %d", i), r.Patient); err != nil {
			return err
		}
	}
	return nil
}
