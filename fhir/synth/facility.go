package synth

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// slotDays is how far ahead clinicians publish bookable slots.
const slotDays = 30

// slotMinutes are the starts of a clinic day's 30-minute slots.
var slotMinutes = []int{
	minuteOfDay(9, 0), minuteOfDay(9, 30), minuteOfDay(10, 0), minuteOfDay(10, 30), minuteOfDay(11, 0),
	minuteOfDay(13, 30), minuteOfDay(14, 0), minuteOfDay(14, 30), minuteOfDay(15, 0), minuteOfDay(15, 30),
}

// clinician is a practitioner who sees patients at the facility.
type clinician struct {
	practitionerID string
	roleID         string
	scheduleID     string
	given, family  string
	gender         string
	npi            string
	spec           *specialty
	clinicDays     [7]bool // indexed by time.Weekday
	// generated is false for practitioners loaded from elsewhere: they get
	// a schedule but are not written again.
	generated bool
	// label is the display of an existing practitioner.
	label string
}

// name is how the clinician's name is written, empty for a loaded
// practitioner without one.
func (c *clinician) name() string {
	if c.generated {
		return "Dr. " + c.given + " " + c.family
	}
	return c.label
}

// title is how text addresses the clinician.
func (c *clinician) title() string { return cmp.Or(c.name(), "Doctor") }

func (c *clinician) ref() r4.Reference {
	return reference("Practitioner", c.practitionerID, c.name())
}

// slot is one bookable half hour of a clinician.
type slot struct {
	id         string
	clin       *clinician
	day        int
	start, end time.Time
	busy       bool
	updated    time.Time
}

// facility is the org as patients meet it: the provider organization, its
// clinic location, its clinicians and their slots for the next 30 days.
type facility struct {
	cfg        *config
	org        Org
	orgID      string
	orgName    string
	locID      string
	locName    string
	ownOrg     bool // the Organization is generated here
	ownLoc     bool // the Location is generated here
	address    r4.Address
	phone      string
	clinicians []*clinician
	slots      []*slot
	// published is when the schedules were last published.
	published time.Time
}

// newFacility invents an org with a clinic and a staff of five: two primary
// care physicians, a pediatrician, a cardiologist and a dermatologist. The
// staff depends on the org and seed only, so every person's record at the
// org names the same clinicians.
func newFacility(org Org, cfg *config) *facility {
	f, r := baseFacility(org, cfg)
	for i, spec := range rosterSpecialties {
		f.clinicians = append(f.clinicians, inventClinician(r, org.ID, cfg.seed, i, spec))
	}
	f.buildSlots()
	return f
}

// baseFacility is an org with a generated organization and clinic but no
// staff yet, with the stream its invented details came from.
func baseFacility(org Org, cfg *config) (*facility, *rand.Rand) {
	f := &facility{
		cfg:       cfg,
		org:       org,
		orgID:     org.ID,
		orgName:   org.name(),
		locID:     makeID("loc", cfg.seed, org.ID, "clinic"),
		locName:   clinicName(org),
		ownOrg:    true,
		ownLoc:    true,
		published: cfg.clock.at(-1, minuteOfDay(6, 0)),
	}
	r := stream(cfg.seed, "org", org.ID, "profile")
	f.address, f.phone = inventAddress(r)
	return f, r
}

// clinicName names the org's clinic location.
func clinicName(org Org) string {
	if strings.Contains(strings.ToLower(org.name()), "clinic") {
		return org.name() + ", main site"
	}
	return org.name() + " Clinic"
}

func inventClinician(r *rand.Rand, orgID string, seed uint64, i int, spec *specialty) *clinician {
	n := strconv.Itoa(i)
	c := &clinician{
		practitionerID: makeID("pract", seed, orgID, "clinician", n),
		roleID:         makeID("role", seed, orgID, "clinician", n),
		scheduleID:     makeID("sched", seed, orgID, "clinician", n),
		family:         pick(r, familyNames),
		npi:            npi(r),
		spec:           spec,
		generated:      true,
	}
	if r.IntN(2) == 0 {
		c.gender, c.given = "female", pick(r, femaleGiven)
	} else {
		c.gender, c.given = "male", pick(r, maleGiven)
	}
	c.clinicDays = clinicWeek(r)
	return c
}

// clinicWeek picks the three weekdays a clinician sees patients.
func clinicWeek(r *rand.Rand) [7]bool {
	var days [7]bool
	for _, d := range r.Perm(5)[:3] {
		days[time.Monday+time.Weekday(d)] = true
	}
	return days
}

// inventAddress makes up a street address in Massachusetts and a phone
// number in the fictional 555-01xx range.
func inventAddress(r *rand.Rand) (r4.Address, string) {
	city := pick(r, cities)
	line := fmt.Sprintf("%d %s %s", between(r, 10, 990), pick(r, streets), pick(r, streetKinds))
	phone := fmt.Sprintf("617-555-01%02d", r.IntN(100))
	return r4.Address{
		Use:        new(r4.AddressUseHome),
		Line:       []string{line},
		City:       new(city.name),
		State:      new("MA"),
		PostalCode: new(city.zip),
		Country:    new("US"),
	}, phone
}

// npi makes up a National Provider Identifier with a valid check digit (the
// Luhn digit of "80840" followed by the first nine digits).
func npi(r *rand.Rand) string {
	base := fmt.Sprintf("%d%08d", between(r, 1, 2), r.IntN(100_000_000))
	payload := "80840" + base
	sum, double := 0, true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return base + strconv.Itoa((10-sum%10)%10)
}

// buildSlots lays out every clinician's half hours over the next 30 days.
// About a third are already taken by patients outside the generated set.
func (f *facility) buildSlots() {
	r := stream(f.cfg.seed, "org", f.org.ID, "slots")
	clk := f.cfg.clock
	for _, c := range f.clinicians {
		for day := 1; day <= slotDays; day++ {
			if !c.clinicDays[clk.weekday(day)] {
				continue
			}
			for _, m := range slotMinutes {
				start := clk.at(day, m)
				f.slots = append(f.slots, &slot{
					id:      makeID("slot", f.cfg.seed, f.org.ID, c.practitionerID, strconv.Itoa(day), strconv.Itoa(m)),
					clin:    c,
					day:     day,
					start:   start,
					end:     start.Add(30 * time.Minute),
					busy:    r.Float64() < 0.3,
					updated: f.published,
				})
			}
		}
	}
}

// book takes a free slot of c between two day offsets, chosen at random,
// or returns nil when none is free.
func (f *facility) book(c *clinician, r *rand.Rand, minDay, maxDay int, bookedAt time.Time) *slot {
	var free []*slot
	for _, s := range f.slots {
		if s.clin == c && !s.busy && s.day >= minDay && s.day <= maxDay {
			free = append(free, s)
		}
	}
	if len(free) == 0 {
		return nil
	}
	s := pick(r, free)
	s.busy = true
	if bookedAt.After(s.updated) {
		s.updated = bookedAt
	}
	return s
}

// place names where patients are seen, for text.
func (f *facility) place() string { return cmp.Or(f.locName, f.orgName, f.org.name()) }

func (f *facility) orgRef() r4.Reference { return reference("Organization", f.orgID, f.orgName) }
func (f *facility) locRef() r4.Reference { return reference("Location", f.locID, f.locName) }

// emit writes the org, its clinic and clinicians (those generated here) and
// every clinician's schedule.
func (f *facility) emit(e *emitter) {
	established := f.cfg.clock.at(-400, minuteOfDay(6, 0))
	telecom := []r4.ContactPoint{{System: new(r4.ContactPointSystemPhone), Value: new(f.phone), Use: new(r4.ContactPointUseWork)}}
	work := f.address
	work.Use = new(r4.AddressUseWork)
	if f.ownOrg {
		orgNPI := npi(stream(f.cfg.seed, "org", f.org.ID, "npi"))
		e.emit("Organization", f.orgID, r4.Organization{
			Id:         new(f.orgID),
			Meta:       e.meta(established, "us-core-organization"),
			Identifier: []r4.Identifier{identifier(sysNPI, orgNPI)},
			Active:     new(true),
			Type:       code{sysOrgType, "prov", "Healthcare Provider"}.concepts(),
			Name:       new(f.orgName),
			Telecom:    telecom,
			Address:    []r4.Address{work},
		})
	}
	if f.ownLoc {
		e.emit("Location", f.locID, r4.Location{
			Id:                   new(f.locID),
			Meta:                 e.meta(established, "us-core-location"),
			Status:               new(r4.LocationStatusActive),
			Name:                 new(f.locName),
			Mode:                 new(r4.LocationModeInstance),
			Type:                 rolec("OF", "Outpatient facility").concepts(),
			Telecom:              telecom,
			Address:              &work,
			ManagingOrganization: new(f.orgRef()),
		})
	}
	for _, c := range f.clinicians {
		if c.generated {
			f.emitClinician(e, c, established, telecom, work)
		}
		f.emitSchedule(e, c)
	}
}

func (f *facility) emitClinician(e *emitter, c *clinician, established time.Time, telecom []r4.ContactPoint, work r4.Address) {
	gender := r4.AdministrativeGenderFemale
	if c.gender == "male" {
		gender = r4.AdministrativeGenderMale
	}
	e.emit("Practitioner", c.practitionerID, r4.Practitioner{
		Id:         new(c.practitionerID),
		Meta:       e.meta(established, "us-core-practitioner"),
		Identifier: []r4.Identifier{identifier(sysNPI, c.npi)},
		Active:     new(true),
		Name:       []r4.HumanName{{Use: new(r4.NameUseOfficial), Family: new(c.family), Given: []string{c.given}, Prefix: []string{"Dr."}}},
		Telecom:    telecom,
		Address:    []r4.Address{work},
		Gender:     &gender,
	})
	var days []r4.DaysOfWeek
	for d, open := range c.clinicDays {
		if open {
			days = append(days, weekdays[d])
		}
	}
	e.emit("PractitionerRole", c.roleID, r4.PractitionerRole{
		Id:           new(c.roleID),
		Meta:         e.meta(established, "us-core-practitionerrole"),
		Active:       new(true),
		Practitioner: new(c.ref()),
		Organization: new(f.orgRef()),
		Code:         c.spec.taxonomy.concepts(),
		Specialty:    []r4.CodeableConcept{conceptOf(c.spec.taxonomy, c.spec.practice)},
		Location:     []r4.Reference{f.locRef()},
		Telecom:      telecom,
		AvailableTime: []r4.PractitionerRoleAvailableTime{{
			DaysOfWeek:         days,
			AvailableStartTime: new("09:00:00"),
			AvailableEndTime:   new("16:00:00"),
		}},
	})
}

var weekdays = [7]r4.DaysOfWeek{
	r4.DaysOfWeekSun, r4.DaysOfWeekMon, r4.DaysOfWeekTue, r4.DaysOfWeekWed, r4.DaysOfWeekThu, r4.DaysOfWeekFri, r4.DaysOfWeekSat,
}

func (f *facility) emitSchedule(e *emitter, c *clinician) {
	clk := f.cfg.clock
	e.emit("Schedule", c.scheduleID, r4.Schedule{
		Id:              new(c.scheduleID),
		Meta:            e.meta(f.published),
		Active:          new(true),
		ServiceType:     c.spec.serviceType.concepts(),
		Specialty:       []r4.CodeableConcept{conceptOf(c.spec.taxonomy, c.spec.practice)},
		Actor:           []r4.Reference{c.ref(), f.locRef()},
		PlanningHorizon: period(clk.at(1, 0), clk.at(slotDays+1, 0)),
		Comment:         new(c.spec.title + " clinic hours of " + c.title() + " at " + f.place()),
	})
}

// emitSlots writes every slot with its final free or busy status; it runs
// after all appointments are booked.
func (f *facility) emitSlots(e *emitter) {
	for _, s := range f.slots {
		status := r4.SlotStatusFree
		if s.busy {
			status = r4.SlotStatusBusy
		}
		e.emit("Slot", s.id, slotJSON{ResourceType: "Slot", OtherSlot: r4.OtherSlot{
			Id:              new(s.id),
			Meta:            e.meta(s.updated),
			ServiceType:     s.clin.spec.serviceType.concepts(),
			Specialty:       []r4.CodeableConcept{conceptOf(s.clin.spec.taxonomy, s.clin.spec.practice)},
			AppointmentType: new(apptRoutine.concept()),
			Schedule:        reference("Schedule", s.clin.scheduleID, ""),
			Status:          status,
			Start:           dateTime(s.start),
			End:             dateTime(s.end),
		}})
	}
}
