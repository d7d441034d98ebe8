package tenants

import (
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// Sandbox describes the people of the sandbox network: their sign-in, their
// records and who may act for whom. The sandbox generates their data from
// this; it is never used outside the sandbox.
type Sandbox struct {
	// Network is the id of the network the people belong to.
	Network string          `yaml:"network" json:"network"`
	People  []SandboxPerson `yaml:"people" json:"people"`
}

// Person returns the person with the given id.
func (s *Sandbox) Person(id string) (*SandboxPerson, bool) {
	i := slices.IndexFunc(s.People, func(p SandboxPerson) bool { return p.ID == id })
	if i < 0 {
		return nil, false
	}
	return &s.People[i], true
}

// ByUsername returns the person who signs in with username.
func (s *Sandbox) ByUsername(username string) (*SandboxPerson, bool) {
	i := slices.IndexFunc(s.People, func(p SandboxPerson) bool { return username != "" && p.Username == username })
	if i < 0 {
		return nil, false
	}
	return &s.People[i], true
}

// SandboxPerson is one sandbox person.
type SandboxPerson struct {
	ID string `yaml:"id" json:"id"`
	// Username and Password sign in at the sandbox identity provider; young
	// children have none. Sandbox passwords are published on purpose.
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"password,omitempty"`
	Given    string `yaml:"given" json:"given"`
	Family   string `yaml:"family" json:"family"`
	// Gender is a FHIR administrative gender: male, female, other, unknown.
	Gender string `yaml:"gender" json:"gender"`
	// Age keeps the person that old whatever the date (the birth date is
	// derived from the clock); BirthDate fixes the birth date instead.
	// Exactly one is set.
	Age       *int  `yaml:"age" json:"age,omitempty"`
	BirthDate *Date `yaml:"birthDate" json:"birthDate,omitempty"`
	// Records are the ids of the orgs that hold a record of the person.
	Records []string `yaml:"records" json:"records"`
	// ShareAcrossNetwork is the person's consent to share across the
	// network's affiliated orgs.
	ShareAcrossNetwork bool `yaml:"shareAcrossNetwork" json:"shareAcrossNetwork"`
	// AdolescentConsent: a minor who has signed consent to full proxy access.
	AdolescentConsent bool           `yaml:"adolescentConsent" json:"adolescentConsent,omitempty"`
	ActsFor           []SandboxProxy `yaml:"actsFor" json:"actsFor,omitempty"`
}

// BirthDateOn returns the person's birth date as seen at now. For a person
// given by age, the birth date lies 1 to 300 days (fixed per person) before
// the age's anniversary, so the age holds for weeks of uptime and nobody
// has a birthday on every start.
func (p *SandboxPerson) BirthDateOn(now time.Time) Date {
	if p.BirthDate != nil {
		return *p.BirthDate
	}
	age := 0
	if p.Age != nil {
		age = *p.Age
	}
	h := fnv.New32a()
	h.Write([]byte(p.ID))
	offset := 1 + int(h.Sum32()%300)
	return DateOf(now).AddDate(-age, 0, -offset)
}

// SandboxProxy says that a person may act for another.
type SandboxProxy struct {
	// Person is the id of the person acted for.
	Person       string       `yaml:"person" json:"person"`
	Relationship Relationship `yaml:"relationship" json:"relationship"`
}

// Relationship is how a proxy relates to the person they act for.
type Relationship string

const (
	RelParent        Relationship = "parent"
	RelGuardian      Relationship = "guardian"
	RelCourtGuardian Relationship = "court-appointed-guardian"
	RelAdultChild    Relationship = "adult-child"
	RelSpouse        Relationship = "spouse"
	RelFamily        Relationship = "family"
	RelFriend        Relationship = "friend"
)

// relationshipRoles maps relationships to HL7 v3 RoleCode
// (http://terminology.hl7.org/CodeSystem/v3-RoleCode), as written in
// RelatedPerson.relationship.
var relationshipRoles = map[Relationship]string{
	RelParent:        "PRN",
	RelGuardian:      "GUARD",
	RelCourtGuardian: "GUARD",
	RelAdultChild:    "CHILD",
	RelSpouse:        "SPS",
	RelFamily:        "FAMMEMB",
	RelFriend:        "FRND",
}

// RoleCodeSystem is the code system of Relationship.RoleCode.
const RoleCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

// RoleCode returns the v3 RoleCode of the relationship, or "" if unknown.
func (r Relationship) RoleCode() string { return relationshipRoles[r] }

// Basis returns the grounds on which the proxy acts for a minor or an adult.
func (r Relationship) Basis(subjectIsMinor bool) ProxyBasis {
	switch {
	case r == RelCourtGuardian:
		return BasisCourtOrder
	case subjectIsMinor:
		return BasisParent
	}
	return BasisInvitation
}

func relationshipNames() string {
	names := make([]string, 0, len(relationshipRoles))
	for r := range relationshipRoles {
		names = append(names, string(r))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

var fhirGenders = []string{"male", "female", "other", "unknown"}

// validate checks the sandbox against the configuration's networks; ages
// are taken at now.
func (s *Sandbox) validate(cfg *Config, now time.Time, report reporter) {
	net, ok := cfg.Network(s.Network)
	switch {
	case s.Network == "":
		report("sandbox.network", "a network id is required")
	case !ok:
		report("sandbox.network", "unknown network %q", s.Network)
	}
	if len(s.People) == 0 {
		report("sandbox.people", "at least one person is required")
	}
	adultAge := 18
	if net != nil {
		now = now.In(net.Location())
		adultAge = net.Policy.ChildProxy.AdultAge()
	}
	ids := map[string]int{}
	usernames := map[string]bool{}
	for i := range s.People {
		p := &s.People[i]
		path := indexPath("sandbox.people", i)
		switch {
		case p.ID == "":
			report(joinPath(path, "id"), "an id is required")
		case !validID(p.ID):
			report(joinPath(path, "id"), "invalid id %q: use lowercase letters, digits and hyphens", p.ID)
		case ids[p.ID] > 0:
			report(joinPath(path, "id"), "duplicate person id %q", p.ID)
		}
		ids[p.ID]++
		if p.Username != "" {
			if usernames[p.Username] {
				report(joinPath(path, "username"), "duplicate username %q", p.Username)
			}
			usernames[p.Username] = true
		}
		if (p.Username == "") != (p.Password == "") {
			report(joinPath(path, "password"), "a username and a password go together")
		}
		if strings.TrimSpace(p.Given) == "" {
			report(joinPath(path, "given"), "a given name is required")
		}
		if strings.TrimSpace(p.Family) == "" {
			report(joinPath(path, "family"), "a family name is required")
		}
		if !slices.Contains(fhirGenders, p.Gender) {
			report(joinPath(path, "gender"), "unknown gender %q (known: %s)", p.Gender, strings.Join(fhirGenders, ", "))
		}
		switch {
		case (p.Age == nil) == (p.BirthDate == nil):
			report(path, "exactly one of age and birthDate is required")
		case p.Age != nil && (*p.Age < 0 || *p.Age > 130):
			report(joinPath(path, "age"), "must be between 0 and 130, found %d", *p.Age)
		case p.BirthDate != nil && (p.BirthDate.Compare(DateOf(now)) > 0 || p.BirthDate.Year < 1880):
			report(joinPath(path, "birthDate"), "%s is not a plausible birth date", p.BirthDate)
		}
		if p.AdolescentConsent && AgeOn(p.BirthDateOn(now), now) >= adultAge {
			report(joinPath(path, "adolescentConsent"), "applies only to minors")
		}
		if len(p.Records) == 0 {
			report(joinPath(path, "records"), "at least one org must hold a record")
		}
		for j, org := range p.Records {
			rp := indexPath(joinPath(path, "records"), j)
			switch {
			case slices.Contains(p.Records[:j], org):
				report(rp, "org %q is listed twice", org)
			case net == nil: // the network is reported already
			default:
				if _, ok := net.Org(org); !ok {
					report(rp, "unknown org %q in network %q", org, net.ID)
				}
			}
		}
	}
	for i := range s.People {
		s.validateProxies(i, now, adultAge, report)
	}
}

func (s *Sandbox) validateProxies(i int, now time.Time, adultAge int, report reporter) {
	actor := &s.People[i]
	path := indexPath("sandbox.people", i)
	if len(actor.ActsFor) > 0 && AgeOn(actor.BirthDateOn(now), now) < adultAge {
		report(joinPath(path, "actsFor"), "a proxy must be an adult (%d or older)", adultAge)
	}
	for j, link := range actor.ActsFor {
		lp := indexPath(joinPath(path, "actsFor"), j)
		subject, ok := s.Person(link.Person)
		switch {
		case link.Person == "":
			report(joinPath(lp, "person"), "a person id is required")
		case !ok:
			report(joinPath(lp, "person"), "unknown person %q", link.Person)
		case link.Person == actor.ID:
			report(joinPath(lp, "person"), "a person cannot act for themselves")
		case slices.ContainsFunc(actor.ActsFor[:j], func(l SandboxProxy) bool { return l.Person == link.Person }):
			report(joinPath(lp, "person"), "person %q is listed twice", link.Person)
		}
		if link.Relationship.RoleCode() == "" {
			report(joinPath(lp, "relationship"), "unknown relationship %q (known: %s)", link.Relationship, relationshipNames())
			continue
		}
		if ok && AgeOn(subject.BirthDateOn(now), now) < adultAge &&
			!slices.Contains([]Relationship{RelParent, RelGuardian, RelCourtGuardian}, link.Relationship) {
			report(joinPath(lp, "relationship"), "only a parent or guardian acts for a minor, not %q", link.Relationship)
		}
	}
}
