package tenants

import (
	"slices"
	"strings"
	"time"
)

// Category is a part of a record that a policy grants or withholds as a
// whole. The access decision maps categories to FHIR resource types.
type Category string

const (
	CategoryAllergies     Category = "allergies"     // AllergyIntolerance
	CategoryAppointments  Category = "appointments"  // Appointment, scheduling
	CategoryBilling       Category = "billing"       // Account, Invoice, statements, payments
	CategoryCareTeam      Category = "care-team"     // CareTeam
	CategoryConditions    Category = "conditions"    // Condition (problem list, diagnoses)
	CategoryDocuments     Category = "documents"     // DocumentReference other than notes (letters, forms)
	CategoryImmunizations Category = "immunizations" // Immunization
	CategoryInsurance     Category = "insurance"     // Coverage
	CategoryMedications   Category = "medications"   // MedicationRequest, MedicationStatement, refills
	CategoryMessages      Category = "messages"      // Communication with clinicians
	CategoryNotes         Category = "notes"         // clinical notes
	CategoryProcedures    Category = "procedures"    // Procedure
	CategoryResults       Category = "results"       // laboratory and imaging results, DiagnosticReport
	CategoryVisits        Category = "visits"        // Encounter
	CategoryVitals        Category = "vitals"        // vital-sign Observations
)

// categories lists every category, sorted.
var categories = []Category{
	CategoryAllergies, CategoryAppointments, CategoryBilling, CategoryCareTeam, CategoryConditions,
	CategoryDocuments, CategoryImmunizations, CategoryInsurance, CategoryMedications, CategoryMessages,
	CategoryNotes, CategoryProcedures, CategoryResults, CategoryVisits, CategoryVitals,
}

// Categories returns every category, sorted.
func Categories() []Category { return slices.Clone(categories) }

func categoryNames() string {
	names := make([]string, len(categories))
	for i, c := range categories {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// AgeOn returns a person's age in whole years on the calendar date of now,
// in now's location (pass now.In(network.Location())). Someone born on
// February 29 turns a year older on March 1 in common years. A birth date
// after now gives a negative age.
func AgeOn(birth Date, now time.Time) int {
	today := DateOf(now)
	age := today.Year - birth.Year
	if today.Month < birth.Month || today.Month == birth.Month && today.Day < birth.Day {
		age--
	}
	return age
}

// ProxyLevel is how much of a person's record a proxy sees.
type ProxyLevel string

const (
	ProxyFull    ProxyLevel = "full"    // everything the person sees
	ProxyLimited ProxyLevel = "limited" // the listed categories only
	ProxyNone    ProxyLevel = "none"    // nothing
)

// ProxyAccess is what one proxy may see of one person's record now.
type ProxyAccess struct {
	Level ProxyLevel
	// Categories are what a limited proxy sees; empty for full and none.
	Categories []Category
}

// Allows reports whether the access covers a category.
func (a ProxyAccess) Allows(c Category) bool {
	switch a.Level {
	case ProxyFull:
		return true
	case ProxyLimited:
		return slices.Contains(a.Categories, c)
	}
	return false
}

var noAccess = ProxyAccess{Level: ProxyNone}

// ChildProxyPolicy is what a parent or guardian sees of a minor's record,
// by the minor's age. Age is computed at request time, so the level changes
// on the birthday itself.
type ChildProxyPolicy struct {
	// Bands cover ages from 0 without gaps; past the last band a proxy sees
	// nothing unless the adult invites them (AdultProxyPolicy).
	Bands []AgeBand `yaml:"bands"`
	// AdolescentConsentRestoresFull: when the minor has signed consent, a
	// proxy in a limited (or none) band has full access again.
	AdolescentConsentRestoresFull bool `yaml:"adolescentConsentRestoresFull"`
}

// AgeBand is the proxy level for ages FromAge through ToAge, inclusive.
type AgeBand struct {
	FromAge    int        `yaml:"fromAge"`
	ToAge      int        `yaml:"toAge"`
	Level      ProxyLevel `yaml:"level"`
	Categories []Category `yaml:"categories"`
}

// AdultAge is the first age past the last band: from it on, the person is
// an adult for proxy purposes.
func (p ChildProxyPolicy) AdultAge() int {
	if len(p.Bands) == 0 {
		return 0
	}
	return p.Bands[len(p.Bands)-1].ToAge + 1
}

// Access returns what a parent or guardian sees of a minor born on birth,
// at now, given whether the minor has signed consent for full access.
func (p ChildProxyPolicy) Access(birth Date, now time.Time, adolescentConsent bool) ProxyAccess {
	age := AgeOn(birth, now)
	i := slices.IndexFunc(p.Bands, func(b AgeBand) bool { return b.FromAge <= age && age <= b.ToAge })
	if i < 0 {
		return noAccess
	}
	band := p.Bands[i]
	if band.Level != ProxyFull && adolescentConsent && p.AdolescentConsentRestoresFull {
		return ProxyAccess{Level: ProxyFull}
	}
	if band.Level == ProxyLimited {
		return ProxyAccess{Level: ProxyLimited, Categories: slices.Clone(band.Categories)}
	}
	return ProxyAccess{Level: band.Level}
}

// AdultProxyPolicy rules the proxies an adult invites ("Share My Record"):
// they see what the adult sees, and the adult can revoke them at once.
type AdultProxyPolicy struct {
	// RenewEvery, when set, ends an invitation that long after it was
	// granted unless the adult renews it.
	RenewEvery Period `yaml:"renewEvery"`
}

// ExpiresAt returns when an invitation granted at granted ends, and false
// when it does not end by itself.
func (p AdultProxyPolicy) ExpiresAt(granted time.Time) (time.Time, bool) {
	if p.RenewEvery.IsZero() {
		return time.Time{}, false
	}
	return p.RenewEvery.After(granted), true
}

// Active reports whether an invitation granted at granted still holds at now.
func (p AdultProxyPolicy) Active(granted, now time.Time) bool {
	end, ok := p.ExpiresAt(granted)
	return !now.Before(granted) && (!ok || now.Before(end))
}

// GuarantorPolicy rules guarantors: they see and pay the billing of the
// accounts they guarantee and nothing else, unless they are also a proxy.
type GuarantorPolicy struct {
	Categories []Category `yaml:"categories"`
}

// Access returns what a guarantor sees.
func (p GuarantorPolicy) Access() ProxyAccess {
	return ProxyAccess{Level: ProxyLimited, Categories: slices.Clone(p.Categories)}
}

// ProxyBasis is why someone may act for another person.
type ProxyBasis string

const (
	// BasisParent: a parent or legal guardian of a minor.
	BasisParent ProxyBasis = "parent"
	// BasisInvitation: the adult invited the proxy.
	BasisInvitation ProxyBasis = "invitation"
	// BasisCourtOrder: a court-appointed guardian, for the term of the order.
	BasisCourtOrder ProxyBasis = "court-order"
)

// ProxyGrant is one stored permission to act for a person.
type ProxyGrant struct {
	Basis     ProxyBasis
	GrantedAt time.Time
	// Until ends the grant (a court order's term); zero means open-ended.
	Until time.Time
	// AdolescentConsent: the minor has signed consent to full proxy access.
	AdolescentConsent bool
}

// ProxyAccess returns what a grant allows at now for a person born on
// subjectBirth. A parent's access follows the child's age and ends at the
// adult age; an invitation counts only if the person was an adult when
// inviting, and expires per RenewEvery; a court order gives full access
// for its term.
func (p Policy) ProxyAccess(subjectBirth Date, now time.Time, grant ProxyGrant) ProxyAccess {
	if now.Before(grant.GrantedAt) || !grant.Until.IsZero() && !now.Before(grant.Until) {
		return noAccess
	}
	switch grant.Basis {
	case BasisParent:
		return p.ChildProxy.Access(subjectBirth, now, grant.AdolescentConsent)
	case BasisInvitation:
		invitedAsAdult := AgeOn(subjectBirth, grant.GrantedAt.In(now.Location())) >= p.ChildProxy.AdultAge()
		if invitedAsAdult && p.AdultProxy.Active(grant.GrantedAt, now) {
			return ProxyAccess{Level: ProxyFull}
		}
	case BasisCourtOrder:
		return ProxyAccess{Level: ProxyFull}
	}
	return noAccess
}
