package synth

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// message is one Communication of a thread.
type message struct {
	from, to r4.Reference
	sent     time.Time
	text     string
	attach   *r4.Attachment
}

var (
	commNotification = code{sysCommCategory, "notification", "Notification"}
	commReminder     = code{sysCommCategory, "reminder", "Reminder"}
	commInstruction  = code{sysCommCategory, "instruction", "Instruction"}
)

// emitThread writes a conversation. The first message starts the thread;
// every later one is partOf the first and inResponseTo the one before it.
func (c *chart) emitThread(name, topic string, category code, about []r4.Reference, msgs []message) {
	var root, prev r4.Reference
	for i, m := range msgs {
		id := c.id("comm", name, strconv.Itoa(i))
		comm := r4.Communication{
			Id:        new(id),
			Meta:      c.e.meta(m.sent),
			Status:    r4.EventStatusCompleted,
			Category:  category.concepts(),
			Subject:   new(c.patientRef()),
			Topic:     new(textConcept(topic)),
			About:     about,
			Sent:      new(dateTime(m.sent)),
			Recipient: []r4.Reference{m.to},
			Sender:    new(m.from),
		}
		if received := m.sent.Add(time.Minute); received.Before(c.clk.now) {
			comm.Received = new(dateTime(received))
		}
		if i > 0 {
			comm.PartOf = []r4.Reference{root}
			comm.InResponseTo = []r4.Reference{prev}
		}
		payload := []payloadJSON{{ContentString: m.text}}
		if m.attach != nil {
			payload = append(payload, payloadJSON{ContentAttachment: m.attach})
		}
		c.e.emit("Communication", id, communicationJSON{ResourceType: "Communication", OtherCommunication: r4.OtherCommunication(comm), Payload: payload})
		prev = reference("Communication", id, "")
		if i == 0 {
			root = prev
		}
	}
}

// patientSide is who writes and reads the patient's messages: a parent for
// a child under 12, else the patient.
func (c *chart) patientSide() r4.Reference {
	if c.proxy != nil {
		return c.proxy.ref()
	}
	return c.patientRef()
}

// voice phrases a message from the patient's side: in the first person, or
// as a parent writing about their child.
type voice struct {
	proxy bool
	child string
}

func (c *chart) voice() voice { return voice{proxy: c.proxy != nil, child: c.given} }

// pick is self from the patient, or parent (with {child} standing for the
// child's name) from a parent.
func (v voice) pick(self, parent string) string {
	if v.proxy {
		return strings.ReplaceAll(parent, "{child}", v.child)
	}
	return self
}

func (c *chart) signature() string {
	if c.proxy != nil {
		return c.proxy.given
	}
	return c.given
}

// replyDay is the first weekday after day, or 0 when that is not in the
// past yet.
func (c *chart) replyDay(day int) int {
	next := day + 1
	for c.clk.weekday(next) == time.Saturday || c.clk.weekday(next) == time.Sunday {
		next++
	}
	if next >= 0 {
		return 0
	}
	return next
}

// emitMessages writes the patient's message threads with the clinicians
// they see: a question after a visit, a renewal request, a photo for the
// clinician to look at, a results note, a completed form, an appointment
// reminder, and a question sent last night that nobody has answered yet.
func (c *chart) emitMessages() {
	r := c.rand("messages")
	me, v := c.patientSide(), c.voice()
	minute := func() int { return minuteOfDay(between(r, 8, 20), 5*r.IntN(12)) }
	refillDay, refillMinute, replyMinute := -between(r, 30, 120), minute(), minuteOfDay(between(r, 10, 16), 5*r.IntN(12))
	photoDay, photoMinute, photoDraw := -between(r, 10, 200), minute(), r.Float64()
	formDay, formDraw := -between(r, 15, 150), r.Float64()
	lateMinute := minuteOfDay(between(r, 19, 22), 5*r.IntN(12))
	// A young child writes nothing; without a parent on file only the
	// clinic writes.
	patientWrites := c.proxy != nil || c.age() >= 12

	// A question after the latest visit at least five days old.
	for i := len(c.visits) - 1; i >= 0 && patientWrites; i-- {
		visit := c.visits[i]
		day := c.clk.dayOf(visit.start) + 1
		if day > -5 || visit.clin == nil {
			continue
		}
		if day < -365 {
			break
		}
		doc := visit.clin
		msgs := []message{{from: me, to: doc.ref(), sent: c.clk.at(day, minute()), text: fmt.Sprintf(
			"Hello %s, thank you for %s on %s. %s feeling better but still tired in the afternoons. Is that expected, or should we book another visit?",
			doc.title(), v.pick("seeing me", "seeing {child}"), visit.start.Format("January 2"), v.pick("I am", "{child} is"))}}
		if rd := c.replyDay(day); rd != 0 {
			msgs = append(msgs,
				message{from: doc.ref(), to: me, sent: c.clk.at(rd, replyMinute), text: "Hi " + c.signature() +
					", some tiredness can last a week or two. Rest, fluids and regular meals help. If it is not better in two weeks, please book a follow-up visit."},
				message{from: me, to: doc.ref(), sent: c.clk.at(rd, replyMinute+150), text: "Thank you, that helps."})
		}
		c.emitThread("visit-question", "Question after "+visit.describe(c), commNotification, []r4.Reference{visit.ref()}, msgs)
		break
	}

	if len(c.activeMeds) > 0 && patientWrites {
		med := c.activeMeds[0]
		msgs := []message{{from: me, to: c.pcp.ref(), sent: c.clk.at(refillDay, refillMinute), text: fmt.Sprintf(
			"Could you renew %s prescription for %s? There is about a week left.", v.pick("my", "{child}'s"), med.code.display)}}
		if rd := c.replyDay(refillDay); rd != 0 {
			msgs = append(msgs, message{from: c.pcp.ref(), to: me, sent: c.clk.at(rd, replyMinute), text: "Done: I sent a renewal to your pharmacy. It should be ready tomorrow afternoon."})
		}
		c.emitThread("refill", "Prescription renewal", commNotification, nil, msgs)
	}

	if patientWrites && (photoDraw < 0.35 || c.facts.has(chronicEczema)) {
		doc := c.pcp
		for _, cl := range c.fac.clinicians {
			if cl.spec == specDermatology && c.sawClinician(cl) {
				doc = cl
			}
		}
		sent := c.clk.at(photoDay, photoMinute)
		photo := photoAttachment(r, "rash-photo.png", sent.Add(-20*time.Minute))
		msgs := []message{{from: me, to: doc.ref(), sent: sent, attach: &photo, text: v.pick(
			"The rash on my arm is back. Here is a photo from this morning.",
			"The rash on {child}'s arm is back. Here is a photo from this morning.")}}
		if rd := c.replyDay(photoDay); rd != 0 {
			msgs = append(msgs, message{from: doc.ref(), to: me, sent: c.clk.at(rd, replyMinute), text: "Thanks for the photo. It looks like irritated skin rather than an infection. Use a fragrance-free moisturizer twice a day and send another photo in a week if it is not better."})
		}
		c.emitThread("photo", "Rash", commNotification, nil, msgs)
	}

	c.emitResultsNote()

	if formDraw < 0.4 {
		what, lines := "work note", []string{c.fac.place(), "", "To whom it may concern:", c.name() + " was seen in our clinic and may return to work.", "", c.pcp.title()}
		if c.age() < 18 {
			what, lines = "school health form", []string{c.fac.place(), "", "School health form", c.name() + " is in good health and may take part in all school activities.", "Immunizations are up to date.", "", c.pcp.title()}
		}
		sent := c.clk.at(c.clk.workday(formDay), replyMinute)
		form := pdfAttachment(what+".pdf", lines, sent)
		c.emitThread("form", "Your "+what, commInstruction, nil, []message{{from: c.pcp.ref(), to: me, sent: sent, attach: &form, text: "Here is the " + what + " you asked for. A signed copy is attached."}})
	}

	if len(c.upcoming) > 0 {
		a := c.upcoming[0]
		sent := c.clk.at(-1, minuteOfDay(10, 0))
		if !sent.After(a.created) {
			sent = a.created.Add(30 * time.Minute) // still yesterday: bookings end by 20:00
		}
		c.emitThread("reminder", "Appointment reminder", commReminder, []r4.Reference{reference("Appointment", a.id, "")}, []message{{
			from: c.fac.orgRef(), to: me, sent: sent, text: fmt.Sprintf(
				"Reminder: %s an appointment with %s on %s at %s, %s. Please confirm or cancel in the portal.",
				v.pick("you have", "{child} has"), a.clin.title(), a.start.Format("Monday, January 2"), a.start.Format("3:04 PM"), c.fac.place()),
		}})
	}

	// Sent last night and not answered yet: a reply is due within two
	// business days.
	if !patientWrites {
		return
	}
	c.emitThread("awaiting-reply", "Question about recent results", commNotification, nil, []message{{
		from: me, to: c.pcp.ref(), sent: c.clk.at(-1, lateMinute), text: fmt.Sprintf(
			"Hello %s, %s. Could you tell me what they mean when you have a moment?",
			c.pcp.title(), v.pick("I saw that my lab results from this week are in", "I saw that {child}'s lab results from this week are in")),
	}})
}

// emitResultsNote writes the clinician's note about the latest routine
// results that are not sensitive and were issued at least five days ago.
func (c *chart) emitResultsNote() {
	for i := len(c.reports) - 1; i >= 0; i-- {
		rep := c.reports[i]
		day := c.clk.dayOf(rep.issued)
		if rep.sensitive || day > -5 {
			continue
		}
		send := c.replyDay(day)
		if send == 0 {
			return
		}
		text := fmt.Sprintf("Your %s results from %s are normal. No changes are needed.", rep.panel, rep.issued.Format("January 2"))
		if rep.abnormal {
			text = fmt.Sprintf("Your %s results from %s show a value slightly outside the normal range. It is nothing urgent; we will recheck it at your next visit.", rep.panel, rep.issued.Format("January 2"))
		}
		c.emitThread("results", "Your test results", commNotification, []r4.Reference{reference("DiagnosticReport", rep.id, "")},
			[]message{{from: c.pcp.ref(), to: c.patientSide(), sent: c.clk.at(send, minuteOfDay(12, 15)), text: text}})
		return
	}
}
