package synth

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Person is someone the sandbox knows, whose record an org holds.
type Person struct {
	// Key names the person across orgs: everything derived from the person
	// alone (immunizations, long-running conditions, allergies, body size,
	// address, insurer) comes from it, so every org agrees on those.
	Key          string
	Given        string
	Family       string
	Gender       string // male | female | other | unknown
	BirthDate    time.Time
	Phone, Email string // optional; a phone number is made up when empty
	Relatives    []Relative
}

// Relative is a member of a person's family, written as a RelatedPerson.
type Relative struct {
	// Key is unique within the person's relatives; when the relative is a
	// Person too, their Person.Key is a good choice. It names the
	// RelatedPerson's id.
	Key    string
	Given  string
	Family string // the person's family name when empty
	Gender string // optional
	// BirthDate is optional.
	BirthDate time.Time
	// Relationship is a v3-RoleCode family code: MTH, FTH, PRN, STPPRN,
	// CHILD, DAU, SON, SPS, HUSB, WIFE, DOMPART, GUARD, SIB, BRO, SIS, GRPRN,
	// GRMTH, GRFTH, FAMMEMB or FRND. A parent or guardian (MTH, FTH, PRN, STPPRN,
	// GUARD) is the guarantor and insurance subscriber of a minor, and writes
	// the messages of a child under 12.
	Relationship string
}

// Org is the health organization whose records are generated.
type Org struct {
	ID       string // a FHIR id; also the id of its Organization resource
	Name     string // ID when empty
	Platform string // epic, cerner, athena, smart…: shapes the MRN format
}

// Options are the inputs shared by every call.
type Options struct {
	// Now anchors every date: past visits end before it and booked
	// appointments start after it, whenever the records are generated.
	Now  time.Time
	Seed uint64
	// SensitiveCodes ("system|code") are results a network holds for a
	// clinician to release first. Records include such results and label
	// every Observation and DiagnosticReport with one of these codes in
	// meta.security. Empty means DefaultSensitiveCodes.
	SensitiveCodes []string
}

// ErrInvalid is wrapped by every error about bad input.
var ErrInvalid = errors.New("synth: invalid input")

// DefaultSensitiveCodes returns the codes held by default: an HIV screen
// (LOINC 56888-1), a chlamydia test (43304-5) and a BRCA1 genetic test
// (21636-6). They are labelled HIV, STD and GDIS (v3-ActCode) and R
// (v3-Confidentiality).
func DefaultSensitiveCodes() []string { return slices.Clone(defaultSensitiveCodes) }

// RecentResultDays bounds how long ago the newest results of every record
// were issued: each record has a visit one to three days before Now whose
// results were issued within this many days, for a release delay to hold.
const RecentResultDays = 4

// MRNSystem is the identifier system of the medical record numbers an org
// assigns.
func MRNSystem(orgID string) string { return identifierSystem(orgID, "mrn") }

// identifierSystem is the system of the identifiers of one kind an org
// assigns (mrn, encounter, immunization, account, invoice…).
func identifierSystem(orgID, kind string) string {
	return "https://ehr.example/" + orgID + "/sid/" + kind
}

// PatientID is the id of a person's Patient resource at an org.
func PatientID(personKey, orgID string, seed uint64) string {
	return makeID("pat", seed, orgID, personKey)
}

// Record generates a person's complete record at one org: the org itself
// with its location, clinicians, schedules and bookable slots, then the
// Patient and everything about them. Calling it for several people of one
// org repeats the org's resources with the same ids and bytes, but each
// call books slots on its own; use Records to load several people into one
// server with consistent slots.
func Record(p Person, org Org, opts Options) ([]json.RawMessage, error) {
	return Records([]Person{p}, org, opts)
}

// Records generates the records of several people at one org. The org's
// resources appear once, and every booked appointment holds its own busy
// slot.
func Records(people []Person, org Org, opts Options) ([]json.RawMessage, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := org.validate(); err != nil {
		return nil, err
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("%w: no people", ErrInvalid)
	}
	keys := make(map[string]bool, len(people))
	for _, p := range people {
		if err := p.validate(cfg.clock.now); err != nil {
			return nil, err
		}
		if keys[p.Key] {
			return nil, fmt.Errorf("%w: person key %q appears twice", ErrInvalid, p.Key)
		}
		keys[p.Key] = true
	}

	e := newEmitter(cfg.clock.now)
	fac := newFacility(org, cfg)
	fac.emit(e)
	for _, p := range people {
		newPersonChart(p, fac, e).generate()
	}
	fac.emitSlots(e)
	if e.err != nil {
		return nil, e.err
	}
	return e.out, nil
}

// config is Options checked and resolved.
type config struct {
	seed      uint64
	clock     clock
	sensitive []sensitiveTest
	// labels maps "system|code" of every sensitive code to its security
	// labels.
	labels map[string][]code
}

func (o Options) resolve() (*config, error) {
	if o.Now.IsZero() {
		return nil, fmt.Errorf("%w: Options.Now is not set", ErrInvalid)
	}
	codes := o.SensitiveCodes
	if len(codes) == 0 {
		codes = defaultSensitiveCodes
	}
	cfg := &config{seed: o.Seed, clock: newClock(o.Now), labels: make(map[string][]code)}
	for _, s := range codes {
		system, c, ok := strings.Cut(s, "|")
		if !ok || system == "" || c == "" || strings.Contains(c, "|") || strings.ContainsAny(s, " \t\r\n") {
			return nil, fmt.Errorf("%w: sensitive code %q is not \"system|code\"", ErrInvalid, s)
		}
		if _, dup := cfg.labels[s]; dup {
			continue
		}
		test := sensitiveTest{code: code{system, c, ""}, cpt: cpt("84999", "Unlisted chemistry procedure"), category: catLab}
		for _, known := range knownSensitiveTests {
			if known.code.system == system && known.code.code == c {
				test = known
			}
		}
		labels := []code{restricted}
		if test.security.code != "" {
			labels = []code{test.security, restricted}
		}
		cfg.labels[s] = labels
		// A code of a routine lab is labelled where the lab appears; only
		// other codes are generated as tests of their own.
		if !isRoutineLab(system, c) {
			cfg.sensitive = append(cfg.sensitive, test)
		}
	}
	return cfg, nil
}

// isRoutineLab reports whether a code is one of the panels or analytes the
// generator reports anyway.
func isRoutineLab(system, c string) bool {
	for _, p := range knownPanels {
		if p.code.system == system && p.code.code == c {
			return true
		}
		for _, a := range p.analytes {
			if a.code.system == system && a.code.code == c {
				return true
			}
		}
	}
	return false
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func (o Org) validate() error {
	if !fhirID.MatchString(o.ID) {
		return fmt.Errorf("%w: org id %q is not a FHIR id", ErrInvalid, o.ID)
	}
	return nil
}

func (o Org) name() string {
	if o.Name != "" {
		return o.Name
	}
	return o.ID
}

var genders = []string{"male", "female", "other", "unknown"}

func (p Person) validate(now time.Time) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: person %q: %s", ErrInvalid, p.Key, fmt.Sprintf(format, args...))
	}
	switch {
	case p.Key == "":
		return fmt.Errorf("%w: a person has no key", ErrInvalid)
	case p.Given == "" || p.Family == "":
		return bad("given and family names are required")
	case !slices.Contains(genders, p.Gender):
		return bad("gender %q is not one of %v", p.Gender, genders)
	case p.BirthDate.IsZero():
		return bad("no birth date")
	case p.BirthDate.After(now):
		return bad("born after Now")
	case ageAt(p.BirthDate, now) > 150:
		return bad("older than 150")
	}
	keys := make(map[string]bool, len(p.Relatives))
	for _, r := range p.Relatives {
		switch {
		case r.Key == "":
			return bad("a relative has no key")
		case keys[r.Key]:
			return bad("relative key %q appears twice", r.Key)
		case r.Given == "":
			return bad("relative %q has no given name", r.Key)
		case relationshipDisplays[r.Relationship] == "":
			return bad("relative %q: relationship %q is not a known v3-RoleCode family code", r.Key, r.Relationship)
		case r.Gender != "" && !slices.Contains(genders, r.Gender):
			return bad("relative %q: gender %q is not one of %v", r.Key, r.Gender, genders)
		case r.BirthDate.After(now):
			return bad("relative %q born after Now", r.Key)
		}
		keys[r.Key] = true
	}
	return nil
}
