package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// emitter collects generated resources in order. The first error sticks (as
// in bufio.Writer), so builders emit without checking every call and the
// caller checks once at the end.
type emitter struct {
	now   time.Time
	out   []json.RawMessage
	byRef map[string][]byte
	// skip reports references that exist outside the generated set; a
	// resource with such a reference is left out (Augment over its own
	// output adds nothing twice).
	skip func(ref string) bool
	err  error
}

func newEmitter(now time.Time) *emitter {
	return &emitter{now: now, byRef: make(map[string][]byte)}
}

// emit encodes v, a golang-fhir-models resource (or one of the wrappers
// below), as resourceType/id. Emitting the same bytes twice keeps one copy:
// org-level resources are built once per person. Two different resources
// with one reference are an error.
func (e *emitter) emit(resourceType, id string, v any) {
	if e.err != nil {
		return
	}
	ref := resourceType + "/" + id
	if e.skip != nil && e.skip(ref) {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.err = fmt.Errorf("synth: encoding %s: %w", ref, err)
		return
	}
	b = resourceTypeFirst(b, resourceType)
	if prev, ok := e.byRef[ref]; ok {
		if !bytes.Equal(prev, b) {
			e.err = fmt.Errorf("synth: two different resources generated as %s", ref)
		}
		return
	}
	e.byRef[ref] = b
	e.out = append(e.out, b)
}

// resourceTypeFirst moves "resourceType" to the front of an object, where
// people (and the shared test data) expect it: the generated structs write
// it last.
func resourceTypeFirst(b []byte, resourceType string) []byte {
	head := []byte(`{"resourceType":"` + resourceType + `"`)
	if bytes.HasPrefix(b, head) {
		return b
	}
	tail := []byte(`,"resourceType":"` + resourceType + `"}`)
	if !bytes.HasSuffix(b, tail) || len(b) < len(tail)+2 {
		return b
	}
	body := b[1 : len(b)-len(tail)]
	out := make([]byte, 0, len(b))
	out = append(out, head...)
	out = append(out, ',')
	out = append(out, body...)
	return append(out, '}')
}

// The generated structs of golang-fhir-models v0.3.2 hold a few choice
// elements as plain values without omitempty, so encoding them writes empty
// elements such as "occurrenceString":"" or "contentAttachment":{}, which
// FHIR forbids. These wrappers shadow those fields (a shallower field wins
// in encoding/json) so that only the chosen element is written. Decoding
// the output with the generated structs still works.

type immunizationJSON struct {
	ResourceType string `json:"resourceType"`
	r4.OtherImmunization
	OccurrenceString string `json:"occurrenceString,omitempty"`
}

type medicationRequestJSON struct {
	ResourceType string `json:"resourceType"`
	r4.OtherMedicationRequest
	MedicationReference *r4.Reference `json:"medicationReference,omitempty"`
}

type communicationJSON struct {
	ResourceType string `json:"resourceType"`
	r4.OtherCommunication
	Payload []payloadJSON `json:"payload,omitempty"`
}

type payloadJSON struct {
	ContentString     string         `json:"contentString,omitempty"`
	ContentAttachment *r4.Attachment `json:"contentAttachment,omitempty"`
}

type invoiceJSON struct {
	ResourceType string `json:"resourceType"`
	r4.OtherInvoice
	LineItem []lineItemJSON `json:"lineItem,omitempty"`
}

type lineItemJSON struct {
	Sequence                  int                                `json:"sequence"`
	ChargeItemCodeableConcept r4.CodeableConcept                 `json:"chargeItemCodeableConcept"`
	PriceComponent            []r4.InvoiceLineItemPriceComponent `json:"priceComponent,omitempty"`
}

// slotJSON writes a Slot without the generated MarshalJSON, which encodes
// and re-parses every one of the hundreds of slots a clinic publishes.
type slotJSON struct {
	ResourceType string `json:"resourceType"`
	r4.OtherSlot
}

// Small builders for FHIR datatypes.

func (c code) coding() r4.Coding {
	cd := r4.Coding{System: new(c.system), Code: new(c.code)}
	if c.display != "" {
		cd.Display = new(c.display)
	}
	return cd
}

// text is what a person reads for the code: its display, or the bare code
// when the generator was given a code it has no display for.
func (c code) text() string {
	if c.display != "" {
		return c.display
	}
	return c.code
}

func (c code) concept() r4.CodeableConcept {
	return r4.CodeableConcept{Coding: []r4.Coding{c.coding()}, Text: new(c.text())}
}

func (c code) concepts() []r4.CodeableConcept { return []r4.CodeableConcept{c.concept()} }

// conceptOf is one concept with several codings; its text is the first
// display.
func conceptOf(codes ...code) r4.CodeableConcept {
	cc := r4.CodeableConcept{Text: new(codes[0].text())}
	for _, c := range codes {
		cc.Coding = append(cc.Coding, c.coding())
	}
	return cc
}

// bare is a concept with only a system and code, as status elements are
// usually written.
func bare(system, c string) *r4.CodeableConcept {
	return &r4.CodeableConcept{Coding: []r4.Coding{{System: new(system), Code: new(c)}}}
}

func textConcept(s string) r4.CodeableConcept { return r4.CodeableConcept{Text: new(s)} }

func reference(resourceType, id, display string) r4.Reference {
	ref := r4.Reference{Reference: new(resourceType + "/" + id)}
	if display != "" {
		ref.Display = new(display)
	}
	return ref
}

// number writes v with a fixed number of decimals, as a lab would report it.
func number(v float64, decimals int) *json.Number {
	n := json.Number(strconv.FormatFloat(v, 'f', decimals, 64))
	return &n
}

func quantity(v float64, decimals int, unit string) *r4.Quantity {
	return &r4.Quantity{Value: number(v, decimals), Unit: new(unit), System: new(sysUCUM), Code: new(unit)}
}

func duration(days int) *r4.Duration {
	return &r4.Duration{Value: number(float64(days), 0), Unit: new("days"), System: new(sysUCUM), Code: new("d")}
}

// money writes an amount of US cents exactly.
func money(cents int64) *r4.Money {
	n := json.Number(fmt.Sprintf("%d.%02d", cents/100, cents%100))
	return &r4.Money{Value: &n, Currency: new("USD")}
}

func identifier(system, value string) r4.Identifier {
	return r4.Identifier{System: new(system), Value: new(value)}
}

func period(start, end time.Time) *r4.Period {
	p := &r4.Period{Start: new(dateTime(start))}
	if !end.IsZero() {
		p.End = new(dateTime(end))
	}
	return p
}

// dateTime writes a FHIR dateTime or instant at second precision.
func dateTime(t time.Time) string { return t.Format(time.RFC3339) }

// date writes a FHIR date.
func date(t time.Time) string { return t.Format(time.DateOnly) }

// meta is the meta of a generated resource: lastUpdated from the resource's
// own date, never after now; profiles where US Core has one.
func (e *emitter) meta(updated time.Time, profiles ...string) *r4.Meta {
	if updated.After(e.now) {
		updated = e.now
	}
	m := &r4.Meta{LastUpdated: new(dateTime(updated))}
	for _, p := range profiles {
		m.Profile = append(m.Profile, usCore+p)
	}
	return m
}
