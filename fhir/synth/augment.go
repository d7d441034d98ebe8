package synth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Augment adds, to patients loaded from elsewhere (a Synthea or Inferno
// bundle after fhir.LoadBundle, say), the kinds of resources such data
// lacks, and returns only the added resources. existing holds the loaded
// resources of one or more patients at one org, with references as
// "Type/id".
//
// For each Patient it adds: schedules and slots for the practitioners
// present; a check-up 45 to 110 days ago and a follow-up one to three days
// ago (encounters with the practitioner the patient saw last, their results
// including sensitive ones, and notes); fulfilled appointments for those
// and the latest loaded encounters, booked appointments and a cancelled
// one; message threads; coverage (unless the patient has one) with its
// payer; an account and invoices; and family members (unless the patient
// has RelatedPersons). Loaded clinical facts are left alone: no vital signs,
// conditions or medications are invented for someone who already has them.
// An Organization or Location is added only when none exists, and a
// resource whose Type/id already exists is left out rather than replaced.
func Augment(existing []json.RawMessage, org Org, opts Options) ([]json.RawMessage, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := org.validate(); err != nil {
		return nil, err
	}
	set, err := indexExisting(existing)
	if err != nil {
		return nil, err
	}
	if len(set.patients) == 0 {
		return nil, fmt.Errorf("%w: no Patient among the %d existing resources", ErrInvalid, len(existing))
	}
	fac := facilityFrom(set, org, cfg)
	e := newEmitter(cfg.clock.now)
	e.skip = func(ref string) bool { return set.refs[ref] }
	fac.emit(e)
	for _, p := range set.patients {
		c, err := newAugmentChart(p, set, fac, e)
		if err != nil {
			return nil, err
		}
		c.augment(set)
	}
	fac.emitSlots(e)
	if e.err != nil {
		return nil, e.err
	}
	return e.out, nil
}

// Views of the loaded resources: only what Augment reads. Unknown elements
// and codes are ignored, so any valid resource decodes.
type (
	refJSON struct {
		Reference string `json:"reference"`
	}
	codingJSON struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	conceptJSON struct {
		Coding []codingJSON `json:"coding"`
		Text   string       `json:"text"`
	}
	nameJSON struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
	}
	periodJSON struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	headerJSON struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	patientJSON struct {
		Name      []nameJSON `json:"name"`
		Gender    string     `json:"gender"`
		BirthDate string     `json:"birthDate"`
	}
	practitionerJSON struct {
		Name []nameJSON `json:"name"`
	}
	roleJSON struct {
		Practitioner refJSON       `json:"practitioner"`
		Specialty    []conceptJSON `json:"specialty"`
	}
	organizationJSON struct {
		Name string        `json:"name"`
		Type []conceptJSON `json:"type"`
	}
	locationJSON struct {
		Name string `json:"name"`
	}
	encounterJSON struct {
		Subject     refJSON       `json:"subject"`
		Period      periodJSON    `json:"period"`
		Type        []conceptJSON `json:"type"`
		Participant []struct {
			Individual refJSON `json:"individual"`
		} `json:"participant"`
		ServiceProvider refJSON `json:"serviceProvider"`
		Location        []struct {
			Location refJSON `json:"location"`
		} `json:"location"`
	}
	coverageJSON struct {
		Beneficiary refJSON `json:"beneficiary"`
	}
	accountJSON struct {
		Subject []refJSON `json:"subject"`
	}
	relatedPersonJSON struct {
		Patient      refJSON       `json:"patient"`
		Relationship []conceptJSON `json:"relationship"`
		Name         []nameJSON    `json:"name"`
		Gender       string        `json:"gender"`
	}
)

type existingPatient struct {
	id        string
	names     []nameJSON
	gender    string
	birthDate string
}

type existingEncounter struct {
	id, patient, practitioner, provider, location string
	start, end                                    time.Time
	label                                         string
}

type existingRelated struct {
	id, rel, given, family, gender string
}

type existingPractitioner struct {
	id    string
	label string
}

// existingSet indexes the loaded resources.
type existingSet struct {
	refs          map[string]bool
	patients      []existingPatient
	practitioners []existingPractitioner
	specialties   map[string]*specialty // practitioner id → specialty
	orgs          []string              // Organization ids, provider-typed first
	orgNames      map[string]string
	locations     []string
	locNames      map[string]string
	encounters    []existingEncounter
	coverage      map[string]string // patient id → Coverage id
	accounts      map[string]string // patient id → Account id
	related       map[string][]existingRelated
}

func indexExisting(existing []json.RawMessage) (*existingSet, error) {
	set := &existingSet{
		refs:        make(map[string]bool, len(existing)),
		specialties: make(map[string]*specialty),
		orgNames:    make(map[string]string),
		locNames:    make(map[string]string),
		coverage:    make(map[string]string),
		accounts:    make(map[string]string),
		related:     make(map[string][]existingRelated),
	}
	for i, raw := range existing {
		if err := set.add(raw); err != nil {
			return nil, fmt.Errorf("%w: existing resource %d: %w", ErrInvalid, i, err)
		}
	}
	return set, nil
}

// add indexes one resource, reading the view of its type.
func (set *existingSet) add(raw json.RawMessage) error {
	var h headerJSON
	if err := json.Unmarshal(raw, &h); err != nil {
		return err
	}
	if h.ResourceType == "" || h.ID == "" {
		return errors.New("no resourceType or id")
	}
	ref := h.ResourceType + "/" + h.ID
	if set.refs[ref] {
		return nil // loaded twice (bundles sharing a practitioner): the first one counts
	}
	set.refs[ref] = true
	view := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%s/%s: %w", h.ResourceType, h.ID, err)
		}
		return nil
	}
	switch h.ResourceType {
	case "Patient":
		var p patientJSON
		if err := view(&p); err != nil {
			return err
		}
		set.patients = append(set.patients, existingPatient{id: h.ID, names: p.Name, gender: p.Gender, birthDate: p.BirthDate})
	case "Practitioner":
		var p practitionerJSON
		if err := view(&p); err != nil {
			return err
		}
		set.practitioners = append(set.practitioners, existingPractitioner{id: h.ID, label: practitionerLabel(p.Name)})
	case "PractitionerRole":
		var role roleJSON
		if err := view(&role); err != nil {
			return err
		}
		if id := refID(role.Practitioner.Reference, "Practitioner"); id != "" && set.specialties[id] == nil {
			set.specialties[id] = roleSpecialty(role.Specialty)
		}
	case "Organization":
		var o organizationJSON
		if err := view(&o); err != nil {
			return err
		}
		set.orgNames[h.ID] = o.Name
		if isProvider(o.Type) {
			set.orgs = append([]string{h.ID}, set.orgs...)
		} else {
			set.orgs = append(set.orgs, h.ID)
		}
	case "Location":
		var l locationJSON
		if err := view(&l); err != nil {
			return err
		}
		set.locations = append(set.locations, h.ID)
		set.locNames[h.ID] = l.Name
	case "Encounter":
		var enc encounterJSON
		if err := view(&enc); err != nil {
			return err
		}
		if e, ok := decodeEncounter(h.ID, enc); ok {
			set.encounters = append(set.encounters, e)
		}
	case "Coverage":
		var cov coverageJSON
		if err := view(&cov); err != nil {
			return err
		}
		if id := refID(cov.Beneficiary.Reference, "Patient"); id != "" && set.coverage[id] == "" {
			set.coverage[id] = h.ID
		}
	case "Account":
		var acct accountJSON
		if err := view(&acct); err != nil {
			return err
		}
		for _, s := range acct.Subject {
			if id := refID(s.Reference, "Patient"); id != "" && set.accounts[id] == "" {
				set.accounts[id] = h.ID
			}
		}
	case "RelatedPerson":
		var rp relatedPersonJSON
		if err := view(&rp); err != nil {
			return err
		}
		if id := refID(rp.Patient.Reference, "Patient"); id != "" {
			set.related[id] = append(set.related[id], decodeRelated(h.ID, rp))
		}
	}
	return nil
}

// roleSpecialty is the first specialty of a PractitionerRole the generator
// knows, or nil.
func roleSpecialty(concepts []conceptJSON) *specialty {
	for _, s := range concepts {
		for _, cd := range s.Coding {
			if spec := specialtyByTaxonomy(cd.System, cd.Code); spec != nil {
				return spec
			}
		}
	}
	return nil
}

// bestName is the official name, else the first.
func bestName(names []nameJSON) nameJSON {
	for _, n := range names {
		if n.Use == "official" {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return nameJSON{}
}

func practitionerLabel(names []nameJSON) string {
	n := bestName(names)
	if n.Text != "" {
		return n.Text
	}
	parts := append(slices.Clone(n.Prefix), n.Given...)
	if n.Family != "" {
		parts = append(parts, n.Family)
	}
	return strings.Join(parts, " ")
}

func isProvider(types []conceptJSON) bool {
	for _, t := range types {
		for _, cd := range t.Coding {
			if cd.Code == "prov" {
				return true
			}
		}
	}
	return false
}

func decodeEncounter(id string, res encounterJSON) (existingEncounter, bool) {
	enc := existingEncounter{id: id, patient: refID(res.Subject.Reference, "Patient")}
	start, ok := parseFHIRTime(res.Period.Start)
	if enc.patient == "" || !ok {
		return enc, false
	}
	enc.start = start
	enc.end = start.Add(20 * time.Minute)
	if end, ok := parseFHIRTime(res.Period.End); ok && !end.Before(start) {
		enc.end = end
	}
	for _, p := range res.Participant {
		if id := refID(p.Individual.Reference, "Practitioner"); id != "" {
			enc.practitioner = id
			break
		}
	}
	enc.provider = refID(res.ServiceProvider.Reference, "Organization")
	for _, l := range res.Location {
		if id := refID(l.Location.Reference, "Location"); id != "" {
			enc.location = id
			break
		}
	}
	if len(res.Type) > 0 {
		enc.label = res.Type[0].Text
	}
	return enc, true
}

func decodeRelated(id string, res relatedPersonJSON) existingRelated {
	rel := existingRelated{id: id, gender: res.Gender}
	for _, r := range res.Relationship {
		for _, cd := range r.Coding {
			if cd.System == sysRoleCode && rel.rel == "" {
				rel.rel = cd.Code
			}
		}
	}
	n := bestName(res.Name)
	rel.family = n.Family
	if len(n.Given) > 0 {
		rel.given = n.Given[0]
	}
	return rel
}

// refID returns the id of a reference to a resource of the given type:
// "Type/id", or an absolute URL ending in it, with any /_history/n dropped.
func refID(ref, resourceType string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] != resourceType || !fhirID.MatchString(parts[len(parts)-1]) {
		return ""
	}
	return parts[len(parts)-1]
}

// parseFHIRTime reads a FHIR date or dateTime at any precision.
func parseFHIRTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.DateOnly, "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// facilityFrom describes the org as the loaded data shows it: its provider
// organization, location and practitioners, generating only what is
// missing.
func facilityFrom(set *existingSet, org Org, cfg *config) *facility {
	f, r := baseFacility(org, cfg)

	// The provider is the organization most encounters name, else the
	// first provider-typed one.
	counts := map[string]int{}
	for _, enc := range set.encounters {
		if set.refs["Organization/"+enc.provider] {
			counts[enc.provider]++
		}
	}
	best := ""
	for _, id := range set.orgs {
		if best == "" || counts[id] > counts[best] {
			best = id
		}
	}
	if best != "" {
		f.orgID, f.orgName, f.ownOrg = best, set.orgNames[best], false
	}
	if len(set.locations) > 0 {
		f.locID, f.locName, f.ownLoc = set.locations[0], set.locNames[set.locations[0]], false
	}

	for _, p := range set.practitioners {
		spec := set.specialties[p.id]
		if spec == nil {
			spec = specPrimaryCare
		}
		f.clinicians = append(f.clinicians, &clinician{
			practitionerID: p.id,
			scheduleID:     makeID("sched", cfg.seed, org.ID, "practitioner", p.id),
			label:          p.label,
			spec:           spec,
			clinicDays:     clinicWeek(stream(cfg.seed, "org", org.ID, "practitioner", p.id)),
		})
	}
	if len(f.clinicians) == 0 {
		for i, spec := range rosterSpecialties {
			f.clinicians = append(f.clinicians, inventClinician(r, org.ID, cfg.seed, i, spec))
		}
	}
	f.buildSlots()
	return f
}

// newAugmentChart starts the chart of a loaded patient.
func newAugmentChart(p existingPatient, set *existingSet, fac *facility, e *emitter) (*chart, error) {
	cfg := fac.cfg
	born, ok := parseFHIRTime(p.birthDate)
	if !ok {
		return nil, fmt.Errorf("%w: Patient/%s has no usable birthDate (%q)", ErrInvalid, p.id, p.birthDate)
	}
	birth := cfg.clock.civil(born)
	if birth.After(cfg.clock.now) {
		return nil, fmt.Errorf("%w: Patient/%s is born after Now", ErrInvalid, p.id)
	}
	name := bestName(p.names)
	given := "Patient"
	if len(name.Given) > 0 {
		given = name.Given[0]
	}
	key := "patient:" + p.id
	c := &chart{
		fac:        fac,
		cfg:        cfg,
		e:          e,
		clk:        cfg.clock,
		key:        key,
		facts:      derivePerson(key, p.gender, birth, cfg),
		patientID:  p.id,
		given:      given,
		family:     name.Family,
		gender:     p.gender,
		birth:      birth,
		augmenting: true,
		conditions: make(map[*chronicDef]string),
	}
	// The loaded record speaks for the patient's health: only the facts
	// about address, body size and insurer are invented.
	c.facts.chronic, c.facts.allergies, c.facts.shots = nil, nil, nil

	byID := map[string]*clinician{}
	for _, cl := range fac.clinicians {
		byID[cl.practitionerID] = cl
	}
	for _, enc := range set.encounters {
		if enc.patient != p.id || !enc.end.Before(cfg.clock.now) {
			continue
		}
		c.visits = append(c.visits, &visit{
			name: "encounter:" + enc.id, id: enc.id, kind: visitExisting,
			clin: byID[enc.practitioner], start: enc.start, end: enc.end, label: enc.label,
		})
	}
	slices.SortStableFunc(c.visits, func(a, b *visit) int { return a.start.Compare(b.start) })
	for i := len(c.visits) - 1; i >= 0 && c.pcp == nil; i-- {
		c.pcp = c.visits[i].clin
	}
	if c.pcp == nil {
		c.pcp = c.choosePCP()
	}
	for _, v := range c.visits {
		if v.clin == nil {
			v.clin = c.pcp
		}
		v.apptID = c.id("appt", v.name)
	}

	for _, rel := range set.related[p.id] {
		c.kin = append(c.kin, &kin{id: rel.id, rel: rel.rel, given: rel.given, family: rel.family, gender: rel.gender})
	}
	if id := set.coverage[p.id]; id != "" {
		c.coverage = new(reference("Coverage", id, ""))
	}
	if id := set.accounts[p.id]; id != "" {
		c.account = new(reference("Account", id, ""))
	}
	return c, nil
}

// augment writes what the loaded record lacks.
func (c *chart) augment(set *existingSet) {
	if len(c.kin) == 0 {
		c.kin = c.inventFamily()
	}
	c.emitFamily()

	loaded := slices.Clone(c.visits)
	r := c.rand("augment-visits")
	earlierDay, earlierMinute, recentMinute := -between(r, 45, 110), minuteOfDay(8, 30)+30*r.IntN(15), minuteOfDay(8, 30)+30*r.IntN(15)
	born := c.clk.dayOf(c.birth)
	var added []*visit
	if day := c.clk.workday(earlierDay); day > born {
		added = append(added, &visit{name: "augment-check-up", kind: visitWellness, clin: c.pcp, start: c.clk.at(day, earlierMinute)})
	}
	for _, d := range []int{-2, -3, -1} {
		if wd := c.clk.weekday(d); wd != time.Saturday && wd != time.Sunday && d > born {
			added = append(added, &visit{name: "augment-follow-up", kind: visitRecent, clin: c.pcp, start: c.clk.at(d, recentMinute)})
			break
		}
	}
	for _, v := range added {
		v.id = c.id("enc", v.name)
		v.apptID = c.id("appt", v.name)
		v.end = v.start.Add(v.length())
		c.orderLabs(v)
		c.visits = append(c.visits, v)
	}
	slices.SortStableFunc(c.visits, func(a, b *visit) int { return a.start.Compare(b.start) })

	for _, v := range added {
		c.emitVisit(v)
	}
	// The latest loaded visits get the appointments they fulfilled.
	for _, v := range loaded[max(0, len(loaded)-3):] {
		c.emitPastAppointment(v)
	}
	c.emitAppointments()
	c.emitMessages()
	billed := append(slices.Clone(loaded[max(0, len(loaded)-2):]), added...)
	c.emitBilling(billed)
}

// inventFamily makes up the family of a loaded patient: both parents of a
// minor, often a spouse of an adult, an adult child of someone 65 or older.
func (c *chart) inventFamily() []*kin {
	r := c.rand("invented-family")
	age := c.age()
	member := func(rel, gender string, birth time.Time) *kin {
		given := pick(r, femaleGiven)
		if gender == "male" {
			given = pick(r, maleGiven)
		}
		if birth.After(c.clk.today) {
			birth = c.clk.today.AddDate(-18, 0, 0)
		}
		return &kin{id: c.id("rp", rel), rel: rel, given: given, family: c.family, gender: gender, birth: birth, generated: true}
	}
	spouseDraw, spouseGender := r.Float64(), r.IntN(2)
	motherAge, fatherAge, childAge := between(r, 22, 38), between(r, 22, 42), between(r, 22, 36)
	switch {
	case age < 18:
		return []*kin{
			member("MTH", "female", c.birth.AddDate(-motherAge, -between(r, 0, 11), 0)),
			member("FTH", "male", c.birth.AddDate(-fatherAge, -between(r, 0, 11), 0)),
		}
	case age < 65:
		if spouseDraw < 0.5 {
			gender := []string{"female", "male"}[spouseGender]
			return []*kin{member("SPS", gender, c.birth.AddDate(between(r, -3, 3), between(r, 0, 11), 0))}
		}
		return nil
	}
	gender := []string{"female", "male"}[spouseGender]
	rel := map[string]string{"female": "DAU", "male": "SON"}[gender]
	return []*kin{member(rel, gender, c.birth.AddDate(childAge, between(r, 0, 11), 0))}
}
