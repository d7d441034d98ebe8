package synth

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// chart is one patient's record at one facility while it is generated. A
// chart is built either from a Person (Record) or from a Patient loaded
// from elsewhere (Augment); the sections that Synthea lacks work on both.
type chart struct {
	fac   *facility
	cfg   *config
	e     *emitter
	clk   clock
	key   string // names the person in random streams and ids
	facts *personFacts

	patientID string
	given     string
	family    string
	gender    string
	birth     time.Time
	person    *Person // nil when augmenting
	// augmenting is set for a patient loaded from elsewhere, whose record
	// already says how they are: generated visits then carry no vital
	// signs, diagnoses or procedures that could contradict it.
	augmenting bool

	pcp        *clinician
	visits     []*visit // by start time
	kin        []*kin
	guarantor  r4.Reference
	proxy      *kin // the parent who writes a young child's messages
	coverage   *r4.Reference
	account    *r4.Reference
	conditions map[*chronicDef]string // problem-list Condition ids
	activeMeds []*medDef
	reports    []*labReport
	upcoming   []*appointment
}

// kin is a family member written as a RelatedPerson.
type kin struct {
	id                    string
	rel                   string
	given, family, gender string
	birth                 time.Time
	generated             bool // false for one loaded from elsewhere
}

func (k *kin) ref() r4.Reference {
	return reference("RelatedPerson", k.id, fullName(k.given, k.family))
}

// fullName joins the parts of a name that are known.
func fullName(given, family string) string {
	return strings.TrimSpace(given + " " + family)
}

// optional is nil for an empty string, so that it is left out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newPersonChart starts the chart of a person for Record.
func newPersonChart(p Person, fac *facility, e *emitter) *chart {
	cfg := fac.cfg
	birth := cfg.clock.civil(p.BirthDate)
	c := &chart{
		fac:        fac,
		cfg:        cfg,
		e:          e,
		clk:        cfg.clock,
		key:        p.Key,
		facts:      derivePerson(p.Key, p.Gender, birth, cfg),
		patientID:  PatientID(p.Key, fac.org.ID, cfg.seed),
		given:      p.Given,
		family:     p.Family,
		gender:     p.Gender,
		birth:      birth,
		person:     &p,
		conditions: make(map[*chronicDef]string),
	}
	if p.Phone != "" {
		c.facts.phone = p.Phone
	}
	c.pcp = c.choosePCP()
	return c
}

// generate writes the person's complete record.
func (c *chart) generate() {
	c.planVisits()
	c.emitPatient()
	for _, r := range c.person.Relatives {
		family := r.Family
		if family == "" {
			family = c.family
		}
		birth := time.Time{}
		if !r.BirthDate.IsZero() {
			birth = c.clk.civil(r.BirthDate)
		}
		c.kin = append(c.kin, &kin{id: c.id("rp", r.Key), rel: r.Relationship, given: r.Given, family: family, gender: r.Gender, birth: birth, generated: true})
	}
	c.emitFamily()
	c.emitProblems()
	c.emitAllergies()
	c.emitImmunizations()
	for _, v := range c.visits {
		c.emitVisit(v)
	}
	c.emitChronicMeds()
	c.emitCare()
	c.emitAppointments()
	c.emitMessages()
	c.emitBilling(c.visits)
}

// rand is the random stream of one section of this chart.
func (c *chart) rand(section string) *rand.Rand {
	return stream(c.cfg.seed, "chart", c.fac.org.ID, c.key, section)
}

// id derives the id of a resource of this chart.
func (c *chart) id(prefix string, parts ...string) string {
	return makeID(prefix, c.cfg.seed, append([]string{c.fac.org.ID, c.key, prefix}, parts...)...)
}

// number derives a business identifier value (digits) for this chart.
func (c *chart) number(digits int, parts ...string) string {
	sum := digest(c.cfg.seed, append([]string{c.fac.org.ID, c.key, "number"}, parts...)...)
	n := binary.LittleEndian.Uint64(sum[:8])
	mod := uint64(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, n%mod)
}

func (c *chart) patientRef() r4.Reference {
	return reference("Patient", c.patientID, c.name())
}

func (c *chart) name() string { return fullName(c.given, c.family) }

// ageAt is the patient's age in whole years on t.
func (c *chart) ageAt(t time.Time) int { return ageAt(c.birth, t) }

// yearsAt is the patient's age in fractional years on t.
func (c *chart) yearsAt(t time.Time) float64 { return t.Sub(c.birth).Hours() / 24 / 365.25 }

func (c *chart) age() int { return c.ageAt(c.clk.now) }

// choosePCP picks the patient's primary care clinician: a pediatrician for
// a minor, else one of the primary care physicians.
func (c *chart) choosePCP() *clinician {
	want := specPrimaryCare
	if c.age() < 18 {
		want = specPediatrics
	}
	var candidates []*clinician
	for _, cl := range c.fac.clinicians {
		if cl.spec == want {
			candidates = append(candidates, cl)
		}
	}
	if len(candidates) == 0 {
		return c.fac.clinicians[0]
	}
	return pick(c.rand("pcp"), candidates)
}

// lastSeen is when the patient was last seen at the facility, or a year
// ago when never.
func (c *chart) lastSeen() time.Time {
	if len(c.visits) == 0 {
		return c.clk.at(-365, minuteOfDay(9, 0))
	}
	return c.visits[len(c.visits)-1].end
}

// firstSeen is the first visit at the facility, or the patient's birth
// when never seen.
func (c *chart) firstSeen() time.Time {
	if len(c.visits) == 0 {
		return c.birth
	}
	return c.visits[0].start
}

func (c *chart) mrn() string {
	switch c.fac.org.Platform {
	case "epic":
		return "E" + c.number(7, "mrn")
	case "cerner":
		return c.number(8, "mrn")
	case "athena":
		return c.number(6, "mrn")
	}
	return "M" + c.number(8, "mrn")
}

func (c *chart) emitPatient() {
	gender := administrativeGender(c.gender)
	var telecom []r4.ContactPoint
	if c.facts.phone != "" {
		telecom = append(telecom, r4.ContactPoint{System: new(r4.ContactPointSystemPhone), Value: new(c.facts.phone), Use: new(r4.ContactPointUseHome)})
	}
	if c.person.Email != "" {
		telecom = append(telecom, r4.ContactPoint{System: new(r4.ContactPointSystemEmail), Value: new(c.person.Email), Use: new(r4.ContactPointUseHome)})
	}
	mrnType := code{sysV2IDType, "MR", "Medical record number"}
	c.e.emit("Patient", c.patientID, r4.Patient{
		Id:   new(c.patientID),
		Meta: c.e.meta(c.lastSeen(), "us-core-patient"),
		Identifier: []r4.Identifier{{
			Use:    new(r4.IdentifierUseUsual),
			Type:   new(mrnType.concept()),
			System: new(MRNSystem(c.fac.org.ID)),
			Value:  new(c.mrn()),
		}},
		Active:               new(true),
		Name:                 []r4.HumanName{{Use: new(r4.NameUseOfficial), Family: new(c.family), Given: []string{c.given}}},
		Telecom:              telecom,
		Gender:               &gender,
		BirthDate:            new(date(c.birth)),
		Address:              []r4.Address{c.facts.address},
		Communication:        []r4.PatientCommunication{{Language: conceptOf(code{"urn:ietf:bcp:47", "en-US", "English (United States)"}), Preferred: new(true)}},
		GeneralPractitioner:  []r4.Reference{c.pcp.ref()},
		ManagingOrganization: new(c.fac.orgRef()),
	})
}

func administrativeGender(g string) r4.AdministrativeGender {
	switch g {
	case "male":
		return r4.AdministrativeGenderMale
	case "female":
		return r4.AdministrativeGenderFemale
	case "other":
		return r4.AdministrativeGenderOther
	}
	return r4.AdministrativeGenderUnknown
}

// emitFamily writes a RelatedPerson for each generated family member and
// decides who pays for a minor and who writes a young child's messages.
func (c *chart) emitFamily() {
	r := c.rand("family")
	since := c.firstSeen()
	for _, k := range c.kin {
		phone := fmt.Sprintf("617-555-01%02d", r.IntN(100))
		if !k.generated {
			continue
		}
		rp := r4.RelatedPerson{
			Id:           new(k.id),
			Meta:         c.e.meta(since, "us-core-relatedperson"),
			Active:       new(true),
			Patient:      c.patientRef(),
			Relationship: rolec(k.rel, relationshipDisplays[k.rel]).concepts(),
			Name:         []r4.HumanName{{Use: new(r4.NameUseOfficial), Family: optional(k.family), Given: []string{k.given}}},
			Telecom:      []r4.ContactPoint{{System: new(r4.ContactPointSystemPhone), Value: new(phone), Use: new(r4.ContactPointUseMobile)}},
			Address:      []r4.Address{c.facts.address},
		}
		if k.gender != "" {
			rp.Gender = new(administrativeGender(k.gender))
		}
		if !k.birth.IsZero() {
			rp.BirthDate = new(date(k.birth))
		}
		c.e.emit("RelatedPerson", k.id, rp)
	}
	c.guarantor = c.patientRef()
	if c.age() >= 18 {
		return
	}
	if i := slices.IndexFunc(c.kin, func(k *kin) bool { return isParentRole(k.rel) }); i >= 0 {
		c.guarantor = c.kin[i].ref()
		if c.age() < 12 {
			c.proxy = c.kin[i]
		}
	}
}

// emitProblems writes the long-running conditions on the problem list.
// Onsets come from the person, so every org lists the same problems since
// the same dates; each org recorded them when it first saw the patient.
func (c *chart) emitProblems() {
	for _, ch := range c.facts.chronic {
		id := c.id("cond", ch.def.code.code)
		c.conditions[ch.def] = id
		recorded := ch.onset
		if first := c.firstSeen(); first.After(recorded) && len(c.visits) > 0 {
			recorded = first
		}
		c.e.emit("Condition", id, r4.Condition{
			Id:                 new(id),
			Meta:               c.e.meta(recorded, "us-core-condition-problems-health-concerns"),
			ClinicalStatus:     bare(sysCondClinical, "active"),
			VerificationStatus: bare(sysCondVerify, "confirmed"),
			Category:           code{sysCondCategory, "problem-list-item", "Problem List Item"}.concepts(),
			Code:               new(ch.def.code.concept()),
			Subject:            c.patientRef(),
			OnsetDateTime:      new(dateTime(ch.onset)),
			RecordedDate:       new(dateTime(recorded)),
			Recorder:           new(c.pcp.ref()),
		})
	}
}

// emitAllergies writes the person's allergies, or that they have none
// known.
func (c *chart) emitAllergies() {
	recordedAt := func(onset time.Time) time.Time {
		if first := c.firstSeen(); first.After(onset) && len(c.visits) > 0 {
			return first
		}
		return onset
	}
	if len(c.facts.allergies) == 0 {
		id := c.id("allergy", "nka")
		recorded := recordedAt(c.birth)
		c.e.emit("AllergyIntolerance", id, r4.AllergyIntolerance{
			Id:                 new(id),
			Meta:               c.e.meta(recorded, "us-core-allergyintolerance"),
			ClinicalStatus:     bare(sysAllergyClin, "active"),
			VerificationStatus: bare(sysAllergyVerify, "confirmed"),
			Code:               new(noKnownAllergy.concept()),
			Patient:            c.patientRef(),
			RecordedDate:       new(dateTime(recorded)),
		})
		return
	}
	for _, a := range c.facts.allergies {
		id := c.id("allergy", a.def.code.code)
		recorded := recordedAt(a.onset)
		category := map[string]r4.AllergyIntoleranceCategory{
			"medication":  r4.AllergyIntoleranceCategoryMedication,
			"food":        r4.AllergyIntoleranceCategoryFood,
			"environment": r4.AllergyIntoleranceCategoryEnvironment,
		}[a.def.category]
		criticality, severity := r4.AllergyIntoleranceCriticalityLow, r4.AllergyIntoleranceSeverityMild
		if a.severe {
			criticality, severity = r4.AllergyIntoleranceCriticalityHigh, r4.AllergyIntoleranceSeveritySevere
		}
		c.e.emit("AllergyIntolerance", id, r4.AllergyIntolerance{
			Id:                 new(id),
			Meta:               c.e.meta(recorded, "us-core-allergyintolerance"),
			ClinicalStatus:     bare(sysAllergyClin, "active"),
			VerificationStatus: bare(sysAllergyVerify, "confirmed"),
			Type:               new(r4.AllergyIntoleranceTypeAllergy),
			Category:           []r4.AllergyIntoleranceCategory{category},
			Criticality:        &criticality,
			Code:               new(a.def.code.concept()),
			Patient:            c.patientRef(),
			OnsetDateTime:      new(dateTime(a.onset)),
			RecordedDate:       new(dateTime(recorded)),
			Reaction: []r4.AllergyIntoleranceReaction{{
				Manifestation: a.reaction.concepts(),
				Severity:      &severity,
			}},
		})
	}
}

// emitImmunizations writes the person's immunization history as the state
// registry reconciles it: every org reports the same doses (CVX code, date,
// lot) under its own ids and identifiers.
func (c *chart) emitImmunizations() {
	for _, s := range c.facts.shots {
		stamp := strconv.FormatInt(s.at.Unix(), 10)
		id := c.id("imm", s.vaccine.code, stamp)
		imm := r4.Immunization{
			Id:                 new(id),
			Meta:               c.e.meta(s.at, "us-core-immunization"),
			Identifier:         []r4.Identifier{identifier(identifierSystem(c.fac.org.ID, "immunization"), c.number(10, "imm", s.vaccine.code, stamp))},
			Status:             r4.ImmunizationStatusCodesCompleted,
			VaccineCode:        s.vaccine.concept(),
			Patient:            c.patientRef(),
			OccurrenceDateTime: dateTime(s.at),
			PrimarySource:      new(true),
			LotNumber:          new(s.lot),
		}
		c.e.emit("Immunization", id, immunizationJSON{ResourceType: "Immunization", OtherImmunization: r4.OtherImmunization(imm)})
	}
}
