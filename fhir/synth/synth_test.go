package synth_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/portalgate/portalgate/fhir/synth"
)

func records(t *testing.T, ps []synth.Person, org synth.Org, o synth.Options) []json.RawMessage {
	t.Helper()
	out, err := synth.Records(ps, org, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecordsHoldEveryRule(t *testing.T) {
	for _, p := range people {
		t.Run(p.Key, func(t *testing.T) {
			out, err := synth.Record(p, orgNorth, opts())
			if err != nil {
				t.Fatal(err)
			}
			rs := checkResources(t, out, nil, testNow)
			for _, kind := range []string{"Organization", "Location", "Practitioner", "PractitionerRole", "Schedule", "Slot", "Patient",
				"Appointment", "Communication", "Account", "Coverage", "AllergyIntolerance", "CareTeam"} {
				if len(ofType(rs, kind)) == 0 {
					t.Errorf("no %s", kind)
				}
			}
			if p.Key != newborn.Key {
				for _, kind := range []string{"Encounter", "Observation", "DiagnosticReport", "DocumentReference", "Invoice", "Immunization"} {
					if len(ofType(rs, kind)) == 0 {
						t.Errorf("no %s", kind)
					}
				}
			}
			if got := len(ofType(rs, "RelatedPerson")); got != len(p.Relatives) {
				t.Errorf("%d RelatedPersons for %d relatives", got, len(p.Relatives))
			}
		})
	}
}

func TestRecordsAreDeterministic(t *testing.T) {
	a := records(t, people, orgNorth, opts())
	b := records(t, people, orgNorth, opts())
	if len(a) != len(b) {
		t.Fatalf("%d resources, then %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("resource %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
	other := opts()
	other.Seed++
	c := records(t, people, orgNorth, other)
	if slices.EqualFunc(a, c, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }) {
		t.Error("another seed gives the same records")
	}
}

// TestDatesFollowNow moves Now a week on: the same resources (same ids)
// come a week later, so a sandbox started any day has the same shape.
func TestDatesFollowNow(t *testing.T) {
	later := opts()
	later.Now = testNow.AddDate(0, 0, 7)
	a := decodeAll(t, records(t, []synth.Person{adult, child}, orgNorth, opts()))
	b := decodeAll(t, records(t, []synth.Person{adult, child}, orgNorth, later))
	when := map[string]func(json.RawMessage) string{
		"Encounter":     func(raw json.RawMessage) string { return *unmarshal[r4.Encounter](t, raw).Period.Start },
		"Appointment":   func(raw json.RawMessage) string { return *unmarshal[r4.Appointment](t, raw).Start },
		"Slot":          func(raw json.RawMessage) string { return unmarshal[r4.Slot](t, raw).Start },
		"Communication": func(raw json.RawMessage) string { return *unmarshal[r4.Communication](t, raw).Sent },
	}
	before := map[string]string{}
	for _, r := range a {
		if f, ok := when[r.ResourceType]; ok {
			before[r.ref()] = f(r.raw)
		}
	}
	matched := 0
	for _, r := range b {
		f, ok := when[r.ResourceType]
		if !ok || before[r.ref()] == "" {
			continue
		}
		matched++
		if shift := mustTime(t, f(r.raw)).Sub(mustTime(t, before[r.ref()])); shift != 7*24*time.Hour {
			t.Errorf("%s moved by %v, want a week", r.ref(), shift)
		}
	}
	if matched < len(before)*9/10 {
		t.Errorf("only %d of %d dated resources kept their ids a week later", matched, len(before))
	}
}

// TestAnyTimeOfDay generates at the edges of a day and in other zones: the
// past stays past, the future future, and recent results recent.
func TestAnyTimeOfDay(t *testing.T) {
	boston := time.FixedZone("EST", -5*3600)
	tokyo := time.FixedZone("JST", 9*3600)
	for _, now := range []time.Time{
		time.Date(2026, 11, 23, 0, 0, 0, 0, boston),
		time.Date(2026, 11, 23, 23, 59, 59, 999, boston),
		time.Date(2027, 3, 1, 0, 0, 1, 0, tokyo),
		time.Date(2027, 2, 26, 19, 0, 0, 0, time.UTC), // a Friday evening
	} {
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			o := opts()
			o.Now = now
			rs := checkResources(t, records(t, []synth.Person{adult, child}, orgNorth, o), nil, now)
			recent := 0
			for _, r := range ofType(rs, "DiagnosticReport") {
				issued := mustTime(t, *unmarshal[r4.DiagnosticReport](t, r.raw).Issued)
				if issued.After(now) {
					t.Errorf("%s is issued after now", r.ref())
				}
				if now.Sub(issued) < synth.RecentResultDays*24*time.Hour {
					recent++
				}
			}
			if recent == 0 {
				t.Error("no recent results")
			}
			for _, r := range ofType(rs, "Appointment") {
				a := unmarshal[r4.Appointment](t, r.raw)
				start := mustTime(t, *a.Start)
				if (a.Status == r4.AppointmentStatusBooked) != start.After(now) {
					t.Errorf("%s appointment %s starts at %s", a.Status.Code(), r.ref(), *a.Start)
				}
			}
			for _, r := range ofType(rs, "Communication") {
				if sent := mustTime(t, *unmarshal[r4.Communication](t, r.raw).Sent); !sent.Before(now) {
					t.Errorf("%s is sent at %s", r.ref(), sent)
				}
			}
		})
	}
}

func TestAppointmentsAndSlotsAgree(t *testing.T) {
	rs := checkResources(t, records(t, people, orgNorth, opts()), nil, testNow)
	slots := map[string]r4.Slot{}
	for _, r := range ofType(rs, "Slot") {
		s := unmarshal[r4.Slot](t, r.raw)
		start := mustTime(t, s.Start)
		if !start.After(testNow) || start.After(testNow.AddDate(0, 0, 31)) {
			t.Errorf("slot %s at %s is not within the next 30 days", *s.Id, s.Start)
		}
		slots[*s.Id] = s
	}
	schedules := map[string]string{} // Schedule id → practitioner
	for _, r := range ofType(rs, "Schedule") {
		s := unmarshal[r4.Schedule](t, r.raw)
		schedules[*s.Id] = *s.Actor[0].Reference
	}
	booked := map[string]bool{}
	type span struct {
		practitioner string
		start, end   time.Time
	}
	var upcoming []span
	statuses := map[r4.AppointmentStatus]int{}
	for _, r := range ofType(rs, "Appointment") {
		a := unmarshal[r4.Appointment](t, r.raw)
		statuses[a.Status]++
		start, end := mustTime(t, *a.Start), mustTime(t, *a.End)
		var practitioner string
		actors := map[string]bool{}
		for _, p := range a.Participant {
			ref := *p.Actor.Reference
			actors[strings.Split(ref, "/")[0]] = true
			if strings.HasPrefix(ref, "Practitioner/") {
				practitioner = ref
			}
		}
		if !actors["Patient"] || !actors["Practitioner"] || !actors["Location"] {
			t.Errorf("appointment %s lacks a patient, practitioner or location: %v", *a.Id, actors)
		}
		switch a.Status {
		case r4.AppointmentStatusBooked:
			if !start.After(testNow) {
				t.Errorf("booked appointment %s starts at %s, before now", *a.Id, *a.Start)
			}
			if len(a.ServiceType) == 0 || len(a.Specialty) == 0 {
				t.Errorf("booked appointment %s has no service type or specialty", *a.Id)
			}
			upcoming = append(upcoming, span{practitioner, start, end})
		case r4.AppointmentStatusFulfilled, r4.AppointmentStatusCancelled:
			if !end.Before(testNow) {
				t.Errorf("%s appointment %s ends at %s, after now", a.Status.Code(), *a.Id, *a.End)
			}
		default:
			t.Errorf("appointment %s has status %s", *a.Id, a.Status.Code())
		}
		for _, ref := range a.Slot {
			id := strings.TrimPrefix(*ref.Reference, "Slot/")
			s, ok := slots[id]
			switch {
			case !ok:
				t.Errorf("appointment %s holds unknown %s", *a.Id, *ref.Reference)
			case booked[id]:
				t.Errorf("slot %s is booked twice", id)
			case s.Status != r4.SlotStatusBusy:
				t.Errorf("slot %s of appointment %s is %s", id, *a.Id, s.Status.Code())
			case s.Start != *a.Start || s.End != *a.End:
				t.Errorf("slot %s (%s–%s) and appointment %s (%s–%s) differ", id, s.Start, s.End, *a.Id, *a.Start, *a.End)
			case schedules[strings.TrimPrefix(*s.Schedule.Reference, "Schedule/")] != practitioner:
				t.Errorf("slot %s belongs to another practitioner than appointment %s", id, *a.Id)
			}
			booked[id] = true
		}
	}
	for _, want := range []r4.AppointmentStatus{r4.AppointmentStatusBooked, r4.AppointmentStatusFulfilled, r4.AppointmentStatusCancelled} {
		if statuses[want] == 0 {
			t.Errorf("no %s appointment", want.Code())
		}
	}
	// No free slot overlaps an upcoming appointment of its practitioner.
	for id, s := range slots {
		if s.Status != r4.SlotStatusFree {
			continue
		}
		start, end := mustTime(t, s.Start), mustTime(t, s.End)
		for _, u := range upcoming {
			if schedules[strings.TrimPrefix(*s.Schedule.Reference, "Schedule/")] == u.practitioner && start.Before(u.end) && u.start.Before(end) {
				t.Errorf("free slot %s overlaps a booked appointment", id)
			}
		}
	}
	if len(booked) == 0 {
		t.Error("no appointment holds a slot")
	}
}

func TestInvoicesAddUp(t *testing.T) {
	rs := checkResources(t, records(t, people, orgNorth, opts()), nil, testNow)
	cents := func(m *r4.Money) int64 {
		t.Helper()
		if m == nil || m.Value == nil || m.Currency == nil || *m.Currency != "USD" {
			t.Fatalf("bad money %+v", m)
		}
		whole, frac, _ := strings.Cut(m.Value.String(), ".")
		w, err1 := strconv.ParseInt(whole, 10, 64)
		f, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil || len(frac) != 2 {
			t.Fatalf("money %s is not dollars and cents", m.Value)
		}
		return w*100 + f
	}
	var pastDue, open, paid int
	for _, r := range ofType(rs, "Invoice") {
		inv := unmarshal[r4.Invoice](t, r.raw)
		var base, deduction int64
		for _, line := range inv.LineItem {
			if codeOf(line.ChargeItemCodeableConcept) == "" {
				t.Errorf("invoice %s has a line without a charge code", *inv.Id)
			}
			for _, pc := range line.PriceComponent {
				switch pc.Type {
				case r4.InvoicePriceComponentTypeBase:
					base += cents(pc.Amount)
				case r4.InvoicePriceComponentTypeDeduction:
					deduction += cents(pc.Amount)
				}
			}
		}
		gross, net := cents(inv.TotalGross), cents(inv.TotalNet)
		if gross != base || net != base-deduction || net <= 0 {
			t.Errorf("invoice %s: gross %d net %d, lines add to base %d less %d", *inv.Id, gross, net, base, deduction)
		}
		age := testNow.Sub(mustTime(t, *inv.Date))
		switch {
		case inv.Status == r4.InvoiceStatusBalanced:
			paid++
		case inv.Status == r4.InvoiceStatusIssued && age > 30*24*time.Hour:
			pastDue++
		case inv.Status == r4.InvoiceStatusIssued:
			open++
		default:
			t.Errorf("invoice %s is %s", *inv.Id, inv.Status.Code())
		}
	}
	if pastDue == 0 || open == 0 || paid == 0 {
		t.Errorf("want past due, open and paid invoices; got %d, %d, %d", pastDue, open, paid)
	}
}

func TestGuarantorsAndSubscribers(t *testing.T) {
	for _, tc := range []struct {
		p         synth.Person
		guarantor string // resource type of the guarantor
	}{
		{adult, "Patient"},
		{child, "RelatedPerson"},
		{teen, "RelatedPerson"},
		{elder, "Patient"},
	} {
		rs := decodeAll(t, records(t, []synth.Person{tc.p}, orgNorth, opts()))
		acct := unmarshal[r4.Account](t, ofType(rs, "Account")[0].raw)
		if got := strings.Split(*acct.Guarantor[0].Party.Reference, "/")[0]; got != tc.guarantor {
			t.Errorf("%s: guarantor is a %s, want %s", tc.p.Key, got, tc.guarantor)
		}
		cov := unmarshal[r4.Coverage](t, ofType(rs, "Coverage")[0].raw)
		if tc.guarantor == "RelatedPerson" && !strings.HasPrefix(*cov.Subscriber.Reference, "RelatedPerson/") {
			t.Errorf("%s: a minor's coverage is subscribed by %s", tc.p.Key, *cov.Subscriber.Reference)
		}
	}
}

// TestSamePersonOverlapsAcrossOrgs is what the gateway's dedupe works on:
// the same immunizations, problems and allergies reported by two orgs under
// different ids, next to labs and visits of each org's own.
func TestSamePersonOverlapsAcrossOrgs(t *testing.T) {
	north := decodeAll(t, records(t, []synth.Person{adult}, orgNorth, opts()))
	south := decodeAll(t, records(t, []synth.Person{adult}, orgSouth, opts()))

	immunizations := func(rs []resource) (map[string]string, map[string]bool) {
		keys, systems := map[string]string{}, map[string]bool{}
		for _, r := range ofType(rs, "Immunization") {
			imm := unmarshal[r4.Immunization](t, r.raw)
			keys[codeOf(imm.VaccineCode)+"@"+imm.OccurrenceDateTime] = *imm.Id
			systems[*imm.Identifier[0].System] = true
		}
		return keys, systems
	}
	n, nSystems := immunizations(north)
	s, sSystems := immunizations(south)
	if len(n) == 0 || len(n) != len(s) {
		t.Fatalf("north reports %d immunizations, south %d", len(n), len(s))
	}
	for key, id := range n {
		switch other, ok := s[key]; {
		case !ok:
			t.Errorf("south does not report %s", key)
		case other == id:
			t.Errorf("both orgs use id %s", id)
		}
	}
	for system := range nSystems {
		if sSystems[system] {
			t.Errorf("both orgs use identifier system %s", system)
		}
	}

	codes := func(rs []resource, kind string, read func(json.RawMessage) string) []string {
		var out []string
		for _, r := range ofType(rs, kind) {
			out = append(out, read(r.raw))
		}
		slices.Sort(out)
		return out
	}
	problem := func(raw json.RawMessage) string {
		c := unmarshal[r4.Condition](t, raw)
		if codeOf(c.Category[0]) != "problem-list-item" {
			return ""
		}
		return codeOf(*c.Code) + "@" + *c.OnsetDateTime
	}
	allergy := func(raw json.RawMessage) string { return codeOf(*unmarshal[r4.AllergyIntolerance](t, raw).Code) }
	activeMed := func(raw json.RawMessage) string {
		m := unmarshal[r4.MedicationRequest](t, raw)
		if m.Status != "active" {
			return ""
		}
		return codeOf(m.MedicationCodeableConcept)
	}
	for _, tc := range []struct {
		kind string
		read func(json.RawMessage) string
	}{{"Condition", problem}, {"AllergyIntolerance", allergy}, {"MedicationRequest", activeMed}} {
		if a, b := codes(north, tc.kind, tc.read), codes(south, tc.kind, tc.read); !slices.Equal(slices.Compact(a), slices.Compact(b)) {
			t.Errorf("%s differ across orgs: %v and %v", tc.kind, a, b)
		}
	}

	visits := func(rs []resource) []string {
		return codes(rs, "Encounter", func(raw json.RawMessage) string { return *unmarshal[r4.Encounter](t, raw).Period.Start })
	}
	if slices.Equal(visits(north), visits(south)) {
		t.Error("both orgs report the same visits")
	}
}

func TestSensitiveResultsAreLabelled(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		rs := decodeAll(t, records(t, []synth.Person{adult, teen, child}, orgNorth, opts()))
		labelled := map[string]int{}
		for _, r := range rs {
			for _, s := range r.Meta.Security {
				labelled[r.ResourceType+":"+*s.Code]++
			}
		}
		for _, want := range []string{"Observation:R", "DiagnosticReport:R"} {
			if labelled[want] == 0 {
				t.Errorf("no %s label; labels: %v", want, labelled)
			}
		}
		if labelled["Observation:HIV"]+labelled["Observation:STD"]+labelled["Observation:GDIS"] == 0 {
			t.Errorf("no v3-ActCode sensitivity label; labels: %v", labelled)
		}
		// A child under 13 has no test from the default list; nothing of
		// the child is labelled.
		kid := decodeAll(t, records(t, []synth.Person{child}, orgNorth, opts()))
		for _, r := range kid {
			if len(r.Meta.Security) > 0 {
				t.Errorf("%s of a six-year-old is labelled sensitive", r.ref())
			}
		}
	})
	t.Run("network codes", func(t *testing.T) {
		o := opts()
		o.SensitiveCodes = []string{"http://loinc.org|4548-4", "http://loinc.org|51990-0", "urn:example:tests|PANEL-7"}
		rs := decodeAll(t, records(t, []synth.Person{adult, child}, orgNorth, o))
		var custom, bmp int
		for _, r := range ofType(rs, "DiagnosticReport") {
			dr := unmarshal[r4.DiagnosticReport](t, r.raw)
			labelled := hasSecurity(r, "R")
			switch codeOf(dr.Code) {
			case "PANEL-7":
				custom++
			case "51990-0":
				bmp++
			case "56888-1", "43304-5", "21636-6":
				t.Errorf("a default code is generated though the network lists its own")
			}
			if want := slices.Contains([]string{"PANEL-7", "51990-0", "4548-4"}, codeOf(dr.Code)); labelled != want {
				t.Errorf("report %s (%s): labelled %v, want %v", r.ID, codeOf(dr.Code), labelled, want)
			}
		}
		if custom == 0 || bmp == 0 {
			t.Errorf("%d reports of the network's own code, %d labelled panels", custom, bmp)
		}
	})
}

// TestResultsInsideReleaseDelay: every record has results issued in the
// last four days, for a release delay to hold.
func TestResultsInsideReleaseDelay(t *testing.T) {
	for _, p := range []synth.Person{adult, child, elder} {
		rs := decodeAll(t, records(t, []synth.Person{p}, orgNorth, opts()))
		recent := 0
		for _, r := range ofType(rs, "DiagnosticReport") {
			issued := mustTime(t, *unmarshal[r4.DiagnosticReport](t, r.raw).Issued)
			if age := testNow.Sub(issued); age > 0 && age < synth.RecentResultDays*24*time.Hour {
				recent++
			}
		}
		if recent == 0 {
			t.Errorf("%s has no result issued in the last %d days", p.Key, synth.RecentResultDays)
		}
	}
}

func TestMessageThreads(t *testing.T) {
	rs := decodeAll(t, records(t, []synth.Person{child, adult}, orgNorth, opts()))
	comms := map[string]r4.Communication{}
	for _, r := range ofType(rs, "Communication") {
		c := unmarshal[r4.Communication](t, r.raw)
		comms["Communication/"+*c.Id] = c
	}
	var replies, attachments, fromParent int
	mimes := map[string]bool{}
	for id, c := range comms {
		if c.Sender == nil || len(c.Recipient) != 1 || c.Sent == nil || len(c.Payload) == 0 || c.Payload[0].ContentString == "" {
			t.Errorf("%s lacks a sender, recipient, sent time or text", id)
			continue
		}
		if !mustTime(t, *c.Sent).Before(testNow) {
			t.Errorf("%s is sent in the future", id)
		}
		if strings.HasPrefix(*c.Sender.Reference, "RelatedPerson/") {
			fromParent++
		}
		if len(c.InResponseTo) > 0 {
			replies++
			prev, ok := comms[*c.InResponseTo[0].Reference]
			if !ok || len(c.PartOf) == 0 {
				t.Errorf("%s answers %s, not in the thread", id, *c.InResponseTo[0].Reference)
				continue
			}
			if !mustTime(t, *prev.Sent).Before(mustTime(t, *c.Sent)) {
				t.Errorf("%s is sent before the message it answers", id)
			}
			if root := comms[*c.PartOf[0].Reference]; len(root.PartOf) > 0 || root.Id == nil {
				t.Errorf("%s is part of %s, which is not a thread's first message", id, *c.PartOf[0].Reference)
			}
		}
		for _, p := range c.Payload[1:] {
			a := p.ContentAttachment
			data, err := base64.StdEncoding.DecodeString(*a.Data)
			if err != nil {
				t.Fatalf("%s: attachment is not base64: %v", id, err)
			}
			sum := sha1.Sum(data)
			if *a.Size != len(data) || *a.Hash != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("%s: attachment size or hash is wrong", id)
			}
			switch *a.ContentType {
			case "image/png":
				if _, err := png.Decode(bytes.NewReader(data)); err != nil {
					t.Errorf("%s: the photo is not a PNG: %v", id, err)
				}
			case "application/pdf":
				if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.HasSuffix(data, []byte("%%EOF\n")) {
					t.Errorf("%s: the form is not a PDF", id)
				}
			default:
				t.Errorf("%s: attachment of type %s", id, *a.ContentType)
			}
			mimes[*a.ContentType] = true
			attachments++
		}
	}
	if replies == 0 || attachments == 0 {
		t.Errorf("%d replies and %d attachments", replies, attachments)
	}
	if fromParent == 0 {
		t.Error("no message from the six-year-old's parent")
	}
}

func TestNotesAreReadableText(t *testing.T) {
	rs := decodeAll(t, records(t, []synth.Person{adult}, orgNorth, opts()))
	notes := ofType(rs, "DocumentReference")
	if len(notes) == 0 {
		t.Fatal("no notes")
	}
	for _, r := range notes {
		doc := unmarshal[r4.DocumentReference](t, r.raw)
		if codeOf(doc.Category[0]) != "clinical-note" {
			t.Errorf("%s: category %s", r.ref(), codeOf(doc.Category[0]))
		}
		text, err := base64.StdEncoding.DecodeString(*doc.Content[0].Attachment.Data)
		if err != nil || !strings.Contains(string(text), "Patient: Dana Okafor") {
			t.Errorf("%s: note is not the visit's text (%v): %q", r.ref(), err, text)
		}
	}
}

func TestVitalSigns(t *testing.T) {
	rs := decodeAll(t, records(t, []synth.Person{adult}, orgNorth, opts()))
	seen := map[string]bool{}
	for _, r := range ofType(rs, "Observation") {
		o := unmarshal[r4.Observation](t, r.raw)
		code := codeOf(o.Code)
		seen[code] = true
		if code == "85354-9" {
			if len(o.Component) != 2 || codeOf(o.Component[0].Code) != "8480-6" || codeOf(o.Component[1].Code) != "8462-4" {
				t.Errorf("blood pressure %s has components %+v", r.ID, o.Component)
			}
		}
		if codeOf(o.Category[0]) == "laboratory" && o.ValueQuantity != nil {
			if len(o.ReferenceRange) == 0 || len(o.Interpretation) == 0 || o.Issued == nil || *o.ValueQuantity.System != "http://unitsofmeasure.org" {
				t.Errorf("lab %s lacks a range, interpretation, issued time or UCUM unit", r.ID)
			}
		}
	}
	for _, want := range []string{"85354-9", "8867-4", "29463-7", "8302-2", "39156-5", "59408-5,2708-6", "9279-1", "72166-2"} {
		if !seen[want] {
			t.Errorf("no observation %s", want)
		}
	}
}

func TestBadInput(t *testing.T) {
	base := opts()
	badRel := adult
	badRel.Relatives = []synth.Relative{{Key: "x", Given: "X", Relationship: "BFF"}}
	twinRel := adult
	twinRel.Relatives = []synth.Relative{{Key: "x", Given: "X", Relationship: "SIS"}, {Key: "x", Given: "Y", Relationship: "BRO"}}
	unborn := adult
	unborn.BirthDate = testNow.Add(24 * time.Hour)
	nameless := adult
	nameless.Given = ""
	oddGender := adult
	oddGender.Gender = "F"
	noKey := adult
	noKey.Key = ""
	for _, tc := range []struct {
		name   string
		people []synth.Person
		org    synth.Org
		opts   func(*synth.Options)
	}{
		{"no now", []synth.Person{adult}, orgNorth, func(o *synth.Options) { o.Now = time.Time{} }},
		{"bad sensitive code", []synth.Person{adult}, orgNorth, func(o *synth.Options) { o.SensitiveCodes = []string{"56888-1"} }},
		{"blank sensitive system", []synth.Person{adult}, orgNorth, func(o *synth.Options) { o.SensitiveCodes = []string{"|56888-1"} }},
		{"two bars", []synth.Person{adult}, orgNorth, func(o *synth.Options) { o.SensitiveCodes = []string{"http://loinc.org|56888-1|x"} }},
		{"org id", []synth.Person{adult}, synth.Org{ID: "north/1"}, nil},
		{"empty org id", []synth.Person{adult}, synth.Org{}, nil},
		{"nobody", nil, orgNorth, nil},
		{"same person twice", []synth.Person{adult, adult}, orgNorth, nil},
		{"no key", []synth.Person{noKey}, orgNorth, nil},
		{"no name", []synth.Person{nameless}, orgNorth, nil},
		{"gender", []synth.Person{oddGender}, orgNorth, nil},
		{"born later", []synth.Person{unborn}, orgNorth, nil},
		{"relationship", []synth.Person{badRel}, orgNorth, nil},
		{"relative twice", []synth.Person{twinRel}, orgNorth, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			if tc.opts != nil {
				tc.opts(&o)
			}
			if _, err := synth.Records(tc.people, tc.org, o); !errors.Is(err, synth.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	if got := synth.DefaultSensitiveCodes(); len(got) != 3 || got[0] != "http://loinc.org|56888-1" {
		t.Errorf("DefaultSensitiveCodes() = %v", got)
	}
	codes := synth.DefaultSensitiveCodes()
	codes[0] = "changed"
	if synth.DefaultSensitiveCodes()[0] == "changed" {
		t.Error("DefaultSensitiveCodes shares its slice")
	}
	rs := decodeAll(t, records(t, []synth.Person{adult}, orgNorth, opts()))
	pat := unmarshal[r4.Patient](t, ofType(rs, "Patient")[0].raw)
	if *pat.Id != synth.PatientID(adult.Key, orgNorth.ID, opts().Seed) {
		t.Errorf("PatientID does not name the generated Patient")
	}
	if *pat.Identifier[0].System != synth.MRNSystem(orgNorth.ID) || !strings.HasPrefix(*pat.Identifier[0].Value, "E") {
		t.Errorf("MRN %s|%s", *pat.Identifier[0].System, *pat.Identifier[0].Value)
	}
}

func BenchmarkRecord(b *testing.B) {
	o := opts()
	for b.Loop() {
		if _, err := synth.Record(adult, orgNorth, o); err != nil {
			b.Fatal(err)
		}
	}
}
