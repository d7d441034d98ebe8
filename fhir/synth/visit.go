package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// visitKind is why a patient came.
type visitKind int

const (
	visitWellness   visitKind = iota // yearly check-up
	visitAcute                       // a short illness
	visitSpecialist                  // a specialist following a condition
	visitRecent                      // one to three days ago, results just issued
	visitExisting                    // loaded from elsewhere, not generated
)

// visit is one ambulatory encounter.
type visit struct {
	name       string // unique within the chart, names the ids of its resources
	id         string // Encounter id
	kind       visitKind
	clin       *clinician
	start, end time.Time
	acute      *acuteDef
	label      string // what an existing encounter was
	labs       []panel
	sensitive  []sensitiveTest
	charges    []code // CPT of what was done, for the invoice
	apptID     string
	diagnosis  string // Condition id of an acute visit
}

func (v *visit) existing() bool { return v.kind == visitExisting }

func (v *visit) ref() r4.Reference { return reference("Encounter", v.id, "") }

func (v *visit) typeCode(c *chart) code {
	switch v.kind {
	case visitWellness:
		if c.ageAt(v.start) < 18 {
			return encWellChild
		}
		return encCheckUp
	case visitAcute:
		return encSymptom
	case visitSpecialist:
		return encConsult
	case visitRecent:
		if v.acute != nil {
			return encSymptom
		}
		return encFollowUp
	}
	return code{display: v.label}
}

// describe is how the visit reads in messages and notes.
func (v *visit) describe(c *chart) string {
	switch {
	case v.acute != nil:
		return "your visit for " + strings.ToLower(v.acute.code.text())
	case v.kind == visitWellness:
		return "your check-up"
	case v.kind == visitSpecialist:
		return "your " + strings.ToLower(v.clin.spec.title) + " visit"
	case v.kind == visitRecent:
		return "your follow-up visit"
	}
	return "your visit"
}

// planVisits lays out the patient's visits to this org over the last three
// years: one to three yearly check-ups (one 45 to 110 days ago, so an
// invoice is past due), one or two acute visits, a specialist visit when a
// condition calls for one, and a visit one to three days ago whose results
// were just issued. Every random draw happens whether or not its visit is
// kept, so the plan is stable.
func (c *chart) planVisits() {
	r := c.rand("visits")
	born := c.clk.dayOf(c.birth)
	earliest := max(-3*365, born+1)
	type plan struct {
		name string
		kind visitKind
		day  int
		keep bool
	}
	plans := []plan{
		{"wellness-1", visitWellness, -between(r, 45, 110), true},
		{"wellness-2", visitWellness, -between(r, 380, 560), r.Float64() < 0.8},
		{"wellness-3", visitWellness, -between(r, 740, 920), r.Float64() < 0.6},
		{"acute-1", visitAcute, -between(r, 25, 1000), true},
		{"acute-2", visitAcute, -between(r, 25, 1000), r.Float64() < 0.5},
		{"specialist-1", visitSpecialist, -between(r, 60, 900), r.Float64() < 0.3},
	}
	minutes := make([]int, len(plans)+1)
	for i := range minutes {
		minutes[i] = minuteOfDay(8, 30) + 30*r.IntN(15)
	}
	acuteDraws := []int{r.IntN(1000), r.IntN(1000), r.IntN(1000)}

	specialist := c.specialistFor()
	if specialist != nil && c.needsSpecialist() {
		plans[5].keep = true
	}
	used := map[int]bool{}
	for i, p := range plans {
		if !p.keep || (p.kind == visitSpecialist && specialist == nil) {
			continue
		}
		day := c.clk.workday(p.day)
		for used[day] {
			day = c.clk.workday(day - 1)
		}
		if day < earliest {
			continue
		}
		used[day] = true
		v := &visit{name: p.name, kind: p.kind, clin: c.pcp}
		v.start = c.clk.at(day, minutes[i])
		switch p.kind {
		case visitAcute:
			v.acute = c.acuteFor(v.start, acuteDraws[i-3])
			if v.acute == nil {
				continue
			}
		case visitSpecialist:
			v.clin = specialist
		}
		c.visits = append(c.visits, v)
	}

	// The recent visit: the first weekday among two, three and one day ago
	// (any three days in a row hold one).
	recentDay := 0
	for _, d := range []int{-2, -3, -1} {
		if wd := c.clk.weekday(d); wd != time.Saturday && wd != time.Sunday && d >= earliest && !used[d] {
			recentDay = d
			break
		}
	}
	if recentDay != 0 {
		v := &visit{name: "recent", kind: visitRecent, clin: c.pcp, start: c.clk.at(recentDay, minutes[len(plans)])}
		if len(c.facts.chronic) == 0 {
			v.acute = c.acuteFor(v.start, acuteDraws[2])
		}
		c.visits = append(c.visits, v)
	}

	slices.SortFunc(c.visits, func(a, b *visit) int { return a.start.Compare(b.start) })
	for _, v := range c.visits {
		v.id = c.id("enc", v.name)
		v.apptID = c.id("appt", v.name)
		v.end = v.start.Add(v.length())
		c.orderLabs(v)
	}
}

func (v *visit) length() time.Duration {
	switch v.kind {
	case visitWellness:
		return 30 * time.Minute
	case visitSpecialist:
		return 40 * time.Minute
	}
	return 20 * time.Minute
}

// needsSpecialist reports whether a condition of the patient is followed
// by a specialist.
func (c *chart) needsSpecialist() bool {
	return slices.ContainsFunc(c.facts.chronic, func(ch chronicFact) bool { return ch.def.specialty != nil })
}

// specialistFor picks the specialist the patient sees: the one following
// their condition, else a dermatologist for a skin check.
func (c *chart) specialistFor() *clinician {
	want := specDermatology
	for _, ch := range c.facts.chronic {
		if ch.def.specialty != nil {
			want = ch.def.specialty
			break
		}
	}
	for _, cl := range c.fac.clinicians {
		if cl.spec == want {
			return cl
		}
	}
	return nil
}

// acuteFor picks an illness that fits the patient's age at a visit.
func (c *chart) acuteFor(at time.Time, draw int) *acuteDef {
	age := c.ageAt(at)
	var fits []*acuteDef
	for _, a := range acuteDefs {
		if age >= a.minAge && (a.maxAge == 0 || age <= a.maxAge) {
			fits = append(fits, a)
		}
	}
	if len(fits) == 0 {
		return nil
	}
	return fits[draw%len(fits)]
}

// orderLabs decides the laboratory work of a visit.
func (c *chart) orderLabs(v *visit) {
	r := c.rand("labs:" + v.name)
	draws := []float64{r.Float64(), r.Float64(), r.Float64(), r.Float64()}
	age := c.ageAt(v.start)
	adult := age >= 18
	sugar := c.facts.has(chronicDiabetes) || c.facts.has(chronicPrediabetes)
	switch v.kind {
	case visitWellness:
		if adult {
			v.labs = append(v.labs, panelCBC, panelBMP)
			if age >= 20 && (draws[0] < 0.6 || c.facts.has(chronicHyperlipidemia)) {
				v.labs = append(v.labs, panelLipid)
			}
			if sugar {
				v.labs = append(v.labs, panelA1c)
			}
		} else if draws[1] < 0.3 {
			v.labs = append(v.labs, panelCBC)
		}
		if v.name == "wellness-2" && draws[2] < 0.4 {
			v.sensitive = c.sensitiveFor(v.start, draws[3], 1)
		}
	case visitSpecialist:
		if v.clin.spec == specCardiology {
			v.labs = append(v.labs, panelLipid)
		}
	case visitRecent:
		if adult {
			v.labs = append(v.labs, panelBMP)
			if sugar {
				v.labs = append(v.labs, panelA1c)
			}
		} else {
			v.labs = append(v.labs, panelCBC)
		}
		v.sensitive = c.sensitiveFor(v.start, draws[3], 1)
	}
}

// sensitiveFor picks up to n sensitive tests that fit the patient's age.
func (c *chart) sensitiveFor(at time.Time, draw float64, n int) []sensitiveTest {
	age := c.ageAt(at)
	var fits []sensitiveTest
	for _, t := range c.cfg.sensitive {
		if age >= t.minAge && (t.maxAge == 0 || age <= t.maxAge) {
			fits = append(fits, t)
		}
	}
	if len(fits) == 0 {
		return nil
	}
	first := int(draw * float64(len(fits)))
	var out []sensitiveTest
	for i := range min(n, len(fits)) {
		out = append(out, fits[(first+i)%len(fits)])
	}
	return out
}

// visitCharge is the CPT code billed for the visit itself.
func (c *chart) visitCharge(v *visit) code {
	if v.kind != visitWellness {
		if v.clin != nil && v.clin.spec != nil {
			return v.clin.spec.cptVisit
		}
		return specPrimaryCare.cptVisit
	}
	age := c.ageAt(v.start)
	switch {
	case age < 1:
		return cpt("99391", "Preventive visit, established patient, infant")
	case age < 5:
		return cpt("99392", "Preventive visit, established patient, age 1 through 4")
	case age < 12:
		return cpt("99393", "Preventive visit, established patient, age 5 through 11")
	case age < 18:
		return cpt("99394", "Preventive visit, established patient, age 12 through 17")
	case age < 40:
		return cpt("99395", "Preventive visit, established patient, age 18 through 39")
	case age < 65:
		return cpt("99396", "Preventive visit, established patient, age 40 through 64")
	}
	return cpt("99397", "Preventive visit, established patient, age 65 and over")
}

// emitVisit writes a generated visit: the encounter, the appointment it
// fulfilled, vital signs, results, diagnosis, prescriptions, procedures and
// the clinician's note.
func (c *chart) emitVisit(v *visit) {
	r := c.rand("visit:" + v.name)
	v.charges = append(v.charges, c.visitCharge(v))
	var reasons []r4.CodeableConcept
	if v.acute != nil {
		reasons = v.acute.code.concepts()
	} else if v.kind != visitWellness && len(c.facts.chronic) > 0 {
		reasons = c.facts.chronic[0].def.code.concepts()
	}
	c.e.emit("Encounter", v.id, r4.Encounter{
		Id:         new(v.id),
		Meta:       c.e.meta(v.end, "us-core-encounter"),
		Identifier: []r4.Identifier{identifier(identifierSystem(c.fac.org.ID, "encounter"), c.number(10, "enc", v.name))},
		Status:     r4.EncounterStatusFinished,
		Class:      encClassAmb.coding(),
		Type:       v.typeCode(c).concepts(),
		Subject:    new(c.patientRef()),
		Participant: []r4.EncounterParticipant{{
			Type:       code{sysParticipation, "PPRF", "primary performer"}.concepts(),
			Period:     period(v.start, v.end),
			Individual: new(v.clin.ref()),
		}},
		Appointment:     []r4.Reference{reference("Appointment", v.apptID, "")},
		Period:          period(v.start, v.end),
		ReasonCode:      reasons,
		Location:        []r4.EncounterLocation{{Location: c.fac.locRef()}},
		ServiceProvider: new(c.fac.orgRef()),
	})
	c.emitPastAppointment(v)
	var vitals vitalSigns
	if !c.augmenting {
		vitals = c.emitVitals(v, r)
		if v.acute != nil {
			c.emitDiagnosis(v, r)
		}
	}
	c.emitResults(v, r)
	if !c.augmenting {
		c.emitProcedures(v, r)
	}
	c.emitNote(v, vitals)
}

// vitalSigns are what the note reports.
type vitalSigns struct {
	systolic, diastolic, heartRate, temp, spo2, weight float64
	hasBP                                              bool
}

func (c *chart) observation(id string, v *visit, at time.Time, category code, profile string, what r4.CodeableConcept) r4.Observation {
	return r4.Observation{
		Id:                new(id),
		Meta:              c.e.meta(at, profile),
		Status:            r4.ObservationStatusFinal,
		Category:          category.concepts(),
		Code:              what,
		Subject:           new(c.patientRef()),
		Encounter:         new(v.ref()),
		EffectiveDateTime: new(dateTime(at)),
		Issued:            new(dateTime(at)),
		Performer:         []r4.Reference{v.clin.ref()},
	}
}

var catVitals = code{sysObsCategory, "vital-signs", "Vital Signs"}

func (c *chart) emitVitals(v *visit, r *rand.Rand) vitalSigns {
	at := v.start.Add(5 * time.Minute)
	years := c.yearsAt(at)
	var vs vitalSigns
	emit := func(name string, what r4.CodeableConcept, profile string, value float64, decimals int, unit string) {
		o := c.observation(c.id("obs", v.name, name), v, at, catVitals, profile, what)
		o.ValueQuantity = quantity(value, decimals, unit)
		c.e.emit("Observation", *o.Id, o)
	}

	height := c.facts.heightAt(years) * (1 + 0.003*r.NormFloat64())
	bmi := c.facts.bmiAt(years) * (1 + 0.02*r.NormFloat64())
	weight := bmi * (height / 100) * (height / 100)
	vs.weight = weight
	emit("height", vitalHeight.concept(), "us-core-body-height", height, 1, "cm")
	emit("weight", vitalWeight.concept(), "us-core-body-weight", weight, 1, "kg")
	if years >= 2 {
		emit("bmi", vitalBMI.concept(), "us-core-bmi", bmi, 1, "kg/m2")
	}

	hr, rr := 72.0, 15.0
	switch {
	case years < 1:
		hr, rr = 130, 32
	case years < 5:
		hr, rr = 105, 24
	case years < 12:
		hr, rr = 88, 20
	}
	vs.heartRate = math.Round(normal(r, hr, 7))
	emit("heart-rate", vitalHR.concept(), "us-core-heart-rate", vs.heartRate, 0, "/min")
	emit("respiratory-rate", vitalRR.concept(), "us-core-respiratory-rate", math.Round(normal(r, rr, 2)), 0, "/min")
	vs.spo2 = math.Min(100, math.Max(93, math.Round(normal(r, 98, 1))))
	emit("spo2", conceptOf(vitalSpO2, vitalSaO2), "us-core-pulse-oximetry", vs.spo2, 0, "%")
	temp := 36.8
	if v.acute != nil {
		temp += 0.6
	}
	vs.temp = normal(r, temp, 0.25)
	emit("temperature", vitalTemp.concept(), "us-core-body-temperature", vs.temp, 1, "Cel")

	if years >= 3 {
		systolic := 100 + 0.8*(years-5)
		if years >= 18 {
			systolic = 112 + 0.35*(years-30)
		}
		for _, ch := range c.facts.chronic {
			systolic += ch.def.bpShift
		}
		vs.systolic = math.Round(normal(r, systolic, 7))
		vs.diastolic = math.Round(normal(r, vs.systolic*0.63, 4))
		vs.hasBP = true
		o := c.observation(c.id("obs", v.name, "blood-pressure"), v, at, catVitals, "us-core-blood-pressure", vitalBP.concept())
		o.Component = []r4.ObservationComponent{
			{Code: vitalSystolic.concept(), ValueQuantity: quantity(vs.systolic, 0, "mm[Hg]")},
			{Code: vitalDiastol.concept(), ValueQuantity: quantity(vs.diastolic, 0, "mm[Hg]")},
		}
		c.e.emit("Observation", *o.Id, o)
	}

	if c.ageAt(at) >= 13 && (v.kind == visitWellness || v.kind == visitRecent) {
		o := c.observation(c.id("obs", v.name, "smoking"), v, at, code{sysObsCategory, "social-history", "Social History"}, "us-core-smokingstatus", smokingStatus.concept())
		o.ValueCodeableConcept = new(c.facts.smoking.concept())
		c.e.emit("Observation", *o.Id, o)
	}
	return vs
}

// emitDiagnosis writes the diagnosis of an acute visit and what was
// prescribed for it.
func (c *chart) emitDiagnosis(v *visit, r *rand.Rand) {
	a := v.acute
	onset := v.start.AddDate(0, 0, -between(r, 1, 5))
	resolved := v.start.AddDate(0, 0, between(r, 7, 21))
	v.diagnosis = c.id("cond", v.name)
	cond := r4.Condition{
		Id:                 new(v.diagnosis),
		Meta:               c.e.meta(v.end, "us-core-condition-encounter-diagnosis"),
		ClinicalStatus:     bare(sysCondClinical, "active"),
		VerificationStatus: bare(sysCondVerify, "confirmed"),
		Category:           code{sysCondCategory, "encounter-diagnosis", "Encounter Diagnosis"}.concepts(),
		Code:               new(a.code.concept()),
		Subject:            c.patientRef(),
		Encounter:          new(v.ref()),
		OnsetDateTime:      new(dateTime(onset)),
		RecordedDate:       new(dateTime(v.start)),
		Recorder:           new(v.clin.ref()),
	}
	if resolved.Before(c.clk.today) {
		cond.ClinicalStatus = bare(sysCondClinical, "resolved")
		cond.AbatementDateTime = new(dateTime(resolved))
		cond.Meta = c.e.meta(resolved, "us-core-condition-encounter-diagnosis")
	}
	c.e.emit("Condition", v.diagnosis, cond)

	med := a.med
	if a.alt != nil && c.facts.allergicToPenicillin() {
		med = a.alt
	}
	if med != nil {
		ends := v.start.AddDate(0, 0, med.supplyDay)
		status := "stopped"
		if !ends.Before(c.clk.today) {
			status = "active"
		}
		c.emitMedication(c.id("med", v.name), med, status, v, v.start, 0, reference("Condition", v.diagnosis, ""))
	}
}

// emitMedication writes one prescription.
func (c *chart) emitMedication(id string, m *medDef, status string, v *visit, authored time.Time, refills int, reason r4.Reference) {
	dosage := r4.Dosage{Sequence: new(1), Text: new(m.dosage), AsNeededBoolean: new(m.asNeeded)}
	if m.perDay > 0 {
		dosage.Timing = &r4.Timing{Repeat: &r4.TimingRepeat{Frequency: new(m.perDay), Period: number(1, 0), PeriodUnit: new("d")}}
	}
	req := r4.MedicationRequest{
		Id:                        new(id),
		Meta:                      c.e.meta(authored, "us-core-medicationrequest"),
		Status:                    status,
		Intent:                    "order",
		Category:                  code{sysMedReqCategory, "community", "Community"}.concepts(),
		MedicationCodeableConcept: m.code.concept(),
		Subject:                   c.patientRef(),
		AuthoredOn:                new(dateTime(authored)),
		Requester:                 new(c.pcp.ref()),
		ReasonReference:           []r4.Reference{reason},
		DosageInstruction:         []r4.Dosage{dosage},
		DispenseRequest: &r4.MedicationRequestDispenseRequest{
			ValidityPeriod:         period(authored, authored.AddDate(1, 0, 0)),
			NumberOfRepeatsAllowed: new(refills),
			Quantity:               quantity(float64(m.quantity), 0, m.unit),
			ExpectedSupplyDuration: duration(m.supplyDay),
		},
	}
	if v != nil {
		req.Encounter = new(v.ref())
		req.Requester = new(v.clin.ref())
	}
	c.e.emit("MedicationRequest", id, medicationRequestJSON{ResourceType: "MedicationRequest", OtherMedicationRequest: r4.OtherMedicationRequest(req)})
}

// emitChronicMeds writes the long-running medications: active as renewed
// at the latest primary care visit, stopped as prescribed at the first.
func (c *chart) emitChronicMeds() {
	var renewals []*visit
	for _, v := range c.visits {
		if !v.existing() && v.kind != visitAcute && v.clin == c.pcp {
			renewals = append(renewals, v)
		}
	}
	for _, ch := range c.facts.chronic {
		m := ch.def.med
		if m == nil {
			continue
		}
		reason := reference("Condition", c.conditions[ch.def], "")
		c.activeMeds = append(c.activeMeds, m)
		if len(renewals) == 0 {
			c.emitMedication(c.id("med", m.code.code, "active"), m, "active", nil, ch.onset, 3, reason)
			continue
		}
		latest := renewals[len(renewals)-1]
		c.emitMedication(c.id("med", m.code.code, "active"), m, "active", latest, latest.end, 3, reason)
		if len(renewals) > 1 {
			first := renewals[0]
			c.emitMedication(c.id("med", m.code.code, "stopped"), m, "stopped", first, first.end, 3, reason)
		}
	}
}

// emitProcedures writes what was done at the visit besides talking.
func (c *chart) emitProcedures(v *visit, r *rand.Rand) {
	var done []code
	age := c.ageAt(v.start)
	switch v.kind {
	case visitWellness:
		if len(c.facts.chronic) > 0 || age >= 65 {
			done = append(done, procMedRecon)
		}
		if age >= 12 {
			done = append(done, procDepression)
		}
	case visitSpecialist:
		switch v.clin.spec {
		case specCardiology:
			done = append(done, procECG)
		case specDermatology:
			if r.Float64() < 0.4 {
				done = append(done, procSkinBiopsy)
			}
		}
	}
	if v.acute != nil && v.acute.procedure != nil {
		done = append(done, *v.acute.procedure)
	}
	for i, p := range done {
		id := c.id("proc", v.name, p.code)
		start := v.start.Add(time.Duration(10+5*i) * time.Minute)
		c.e.emit("Procedure", id, r4.Procedure{
			Id:              new(id),
			Meta:            c.e.meta(v.end, "us-core-procedure"),
			Status:          r4.EventStatusCompleted,
			Code:            new(p.concept()),
			Subject:         c.patientRef(),
			Encounter:       new(v.ref()),
			PerformedPeriod: period(start, start.Add(5*time.Minute)),
			Performer:       []r4.ProcedurePerformer{{Actor: v.clin.ref()}},
			Location:        new(c.fac.locRef()),
		})
	}
}

// emitNote writes the clinician's note of the visit as a plain-text
// DocumentReference.
func (c *chart) emitNote(v *visit, vs vitalSigns) {
	noteType := v.clin.spec.noteType
	if v.kind == visitWellness {
		noteType = noteHandP
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n\n", noteType.display, v.start.Format("January 2, 2006"))
	fmt.Fprintf(&b, "Patient: %s, %d-year-old %s\n", c.name(), c.ageAt(v.start), c.gender)
	fmt.Fprintf(&b, "Clinician: %s, %s\n\n", v.clin.title(), v.clin.spec.title)
	fmt.Fprintf(&b, "Reason for visit: %s\n", strings.TrimPrefix(v.describe(c), "your "))
	if v.acute != nil {
		fmt.Fprintf(&b, "History: %s\n", v.acute.chiefNote)
	}
	if vs.weight > 0 {
		b.WriteString("Vital signs:")
		if vs.hasBP {
			fmt.Fprintf(&b, " BP %.0f/%.0f mm[Hg],", vs.systolic, vs.diastolic)
		}
		fmt.Fprintf(&b, " HR %.0f/min, temperature %.1f Cel, SpO2 %.0f %%, weight %.1f kg\n", vs.heartRate, vs.temp, vs.spo2, vs.weight)
	}
	if len(c.facts.chronic) > 0 {
		b.WriteString("Problems:")
		for i, ch := range c.facts.chronic {
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(" " + ch.def.code.text())
		}
		b.WriteString("\n")
	}
	b.WriteString("\nAssessment and plan:\n")
	switch {
	case v.acute != nil:
		fmt.Fprintf(&b, "- %s. Supportive care discussed; return if not improving within a week.\n", v.acute.code.text())
	case v.kind == visitWellness:
		b.WriteString("- Routine preventive care. Immunizations reviewed and up to date.\n")
	case v.kind == visitSpecialist:
		b.WriteString("- Condition stable on current treatment. Follow up in six months.\n")
	default:
		b.WriteString("- Follow-up of chronic conditions. Labs drawn today; results will be shared when reviewed.\n")
	}
	if len(v.labs) > 0 || len(v.sensitive) > 0 {
		b.WriteString("- Laboratory tests ordered.\n")
	}
	text := b.String()
	id := c.id("note", v.name)
	c.e.emit("DocumentReference", id, r4.DocumentReference{
		Id:        new(id),
		Meta:      c.e.meta(v.end.Add(time.Hour), "us-core-documentreference"),
		Status:    r4.DocumentReferenceStatusCurrent,
		DocStatus: new(r4.CompositionStatusFinal),
		Type:      new(noteType.concept()),
		Category:  code{sysDocCategory, "clinical-note", "Clinical Note"}.concepts(),
		Subject:   new(c.patientRef()),
		Date:      new(dateTime(v.end.Add(time.Hour))),
		Author:    []r4.Reference{v.clin.ref()},
		Custodian: new(c.fac.orgRef()),
		Content: []r4.DocumentReferenceContent{{
			Attachment: textAttachment(text, noteType.display, v.end),
			Format:     new(code{sysFormatCode, "urn:ihe:iti:xds:2017:mimeTypeSufficient", "mimeType Sufficient"}.coding()),
		}},
		Context: &r4.DocumentReferenceContext{
			Encounter: []r4.Reference{v.ref()},
			Period:    period(v.start, v.end),
		},
	})
}
