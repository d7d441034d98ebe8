package synth

import (
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// appointment is one Appointment of the patient.
type appointment struct {
	id          string
	status      r4.AppointmentStatus
	clin        *clinician
	start, end  time.Time
	created     time.Time
	updated     time.Time
	kind        code
	reason      *code
	description string
	slot        *slot
	cancelled   bool
}

// emitPastAppointment writes the fulfilled appointment behind a visit.
func (c *chart) emitPastAppointment(v *visit) {
	r := c.rand("appointment:" + v.name)
	created := c.clk.at(c.clk.dayOf(v.start)-between(r, 7, 40), minuteOfDay(between(r, 8, 19), 5*r.IntN(12)))
	kind := apptFollowUp
	switch v.kind {
	case visitWellness:
		kind = apptCheckup
	case visitAcute:
		kind = apptRoutine
	}
	a := &appointment{
		id:          v.apptID,
		status:      r4.AppointmentStatusFulfilled,
		clin:        v.clin,
		start:       v.start,
		end:         v.end,
		created:     created,
		updated:     v.end,
		kind:        kind,
		description: capitalize(strings.TrimPrefix(v.describe(c), "your ")),
	}
	if v.acute != nil {
		a.reason = &v.acute.code
		created = c.clk.at(c.clk.dayOf(v.start)-between(r, 0, 1), minuteOfDay(7, 30))
		a.created = created
	}
	c.emitAppointment(a)
}

// emitAppointments books the patient's upcoming appointments on free slots
// (a primary care follow-up, often a specialist visit), adds a yearly
// physical a few months out, beyond the published slots, and a past
// appointment the patient cancelled.
func (c *chart) emitAppointments() {
	r := c.rand("appointments")
	bookedAt := c.clk.at(-between(r, 1, 14), minuteOfDay(between(r, 8, 19), 5*r.IntN(12)))
	specialistDraw := r.Float64()
	physicalDay, physicalMinute := between(r, 60, 150), minuteOfDay(8, 30)+30*r.IntN(15)
	cancelDay, cancelMinute, cancelDraw, cancelNotice := -between(r, 20, 300), minuteOfDay(8, 30)+30*r.IntN(15), r.Float64(), between(r, 1, 3)

	book := func(name string, clin *clinician, kind code, description string) {
		s := c.fac.book(clin, r, 1, slotDays, bookedAt)
		if s == nil {
			return
		}
		a := &appointment{
			id: c.id("appt", name), status: r4.AppointmentStatusBooked, clin: clin,
			start: s.start, end: s.end, created: bookedAt, updated: bookedAt,
			kind: kind, description: description, slot: s,
		}
		if len(c.facts.chronic) > 0 && clin == c.pcp {
			a.reason = &c.facts.chronic[0].def.code
		}
		c.emitAppointment(a)
		c.upcoming = append(c.upcoming, a)
	}
	book("upcoming-follow-up", c.pcp, apptFollowUp, "Follow-up visit")
	if spec := c.specialistFor(); spec != nil && specialistDraw < 0.7 && (c.needsSpecialist() || c.sawClinician(spec)) {
		book("upcoming-specialist", spec, apptFollowUp, spec.spec.title+" follow-up")
	}

	start := c.clk.at(c.clk.workday(physicalDay), physicalMinute)
	physical := &appointment{
		id: c.id("appt", "upcoming-physical"), status: r4.AppointmentStatusBooked, clin: c.pcp,
		start: start, end: start.Add(30 * time.Minute), created: bookedAt, updated: bookedAt,
		kind: apptCheckup, description: "Yearly physical",
	}
	c.emitAppointment(physical)
	c.upcoming = append(c.upcoming, physical)

	day := c.clk.workday(cancelDay)
	if cancelDraw < 0.6 && day > c.clk.dayOf(c.birth) {
		start := c.clk.at(day, cancelMinute)
		cancelledAt := c.clk.at(day-cancelNotice, minuteOfDay(8, 10))
		c.emitAppointment(&appointment{
			id: c.id("appt", "cancelled"), status: r4.AppointmentStatusCancelled, clin: c.pcp,
			start: start, end: start.Add(20 * time.Minute), created: cancelledAt.AddDate(0, 0, -14), updated: cancelledAt,
			kind: apptRoutine, description: "Office visit", cancelled: true,
		})
	}
}

// sawClinician reports whether the patient has a visit with cl.
func (c *chart) sawClinician(cl *clinician) bool {
	for _, v := range c.visits {
		if v.clin == cl {
			return true
		}
	}
	return false
}

func (c *chart) emitAppointment(a *appointment) {
	accepted := r4.ParticipationStatusAccepted
	required := r4.ParticipantRequiredRequired
	appt := r4.Appointment{
		Id:              new(a.id),
		Meta:            c.e.meta(a.updated),
		Identifier:      []r4.Identifier{identifier(identifierSystem(c.fac.org.ID, "appointment"), c.number(9, "appt", a.id))},
		Status:          a.status,
		ServiceType:     a.clin.spec.serviceType.concepts(),
		Specialty:       []r4.CodeableConcept{conceptOf(a.clin.spec.taxonomy, a.clin.spec.practice)},
		AppointmentType: new(a.kind.concept()),
		Description:     new(a.description),
		Start:           new(dateTime(a.start)),
		End:             new(dateTime(a.end)),
		MinutesDuration: new(int(a.end.Sub(a.start).Minutes())),
		Created:         new(dateTime(a.created)),
		Participant: []r4.AppointmentParticipant{
			{Actor: new(c.patientRef()), Required: &required, Status: accepted},
			{
				Type:     code{sysParticipation, "ATND", "attender"}.concepts(),
				Actor:    new(a.clin.ref()),
				Required: &required,
				Status:   accepted,
			},
			{Actor: new(c.fac.locRef()), Required: &required, Status: accepted},
		},
	}
	if a.reason != nil {
		appt.ReasonCode = a.reason.concepts()
	}
	if a.slot != nil {
		appt.Slot = []r4.Reference{reference("Slot", a.slot.id, "")}
	}
	if a.status == r4.AppointmentStatusBooked {
		appt.PatientInstruction = new("Please arrive 15 minutes early and bring your insurance card and a list of your medicines.")
	}
	if a.cancelled {
		appt.CancelationReason = new(cancelPatient.concept())
	}
	c.e.emit("Appointment", a.id, appt)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
