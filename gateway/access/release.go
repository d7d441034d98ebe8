package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/tenants"
)

// How a withheld result is marked.
const (
	// ReleaseStateSystem is the code system of the meta.tag on a result whose value is
	// withheld; its codes are tenants.ReleaseState values ("pending", "held-for-clinician").
	ReleaseStateSystem = "urn:portalgate:fhir:CodeSystem:result-release-state"
	// ReleaseAtExtension is the URL of the extension (valueDateTime) saying when a pending
	// result is released.
	ReleaseAtExtension = "urn:portalgate:fhir:StructureDefinition:result-release-at"
)

// Standard codes that say a value was withheld.
const (
	dataAbsentSystem  = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	obsValueSystem    = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	obsCategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"
	usCoreCategory    = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
)

// ReleaseFilter withholds the value of results the patient may not see yet (DESIGN §7):
// results with a code the network holds for a clinician, and others until their delay has run
// from the time they were issued. A released result passes unchanged; a withheld one becomes
// a copy that keeps what was tested and when, but no value, interpretation, conclusion or
// attached report, and says it is pending release, and until when.
//
// It applies to every DiagnosticReport, and to Observations that are results: any with a
// held code, a laboratory, imaging or procedure category, or no category the filter knows.
// Vital signs, social history, surveys and other observations a patient records or sees at
// the visit are not results and pass unchanged.
type ReleaseFilter struct {
	Policy tenants.ResultPolicy
	// Now is the instant the decision was made.
	Now time.Time
	// Location is the network's time zone, in which the release date is written for the
	// patient; UTC when nil.
	Location *time.Location
}

// ErrMalformedResult reports a result (or what may be one) that is not a valid JSON object:
// it cannot be judged or rewritten safely, so it must be left out.
var ErrMalformedResult = errors.New("access: result is not a valid JSON object")

// Apply returns the result as the patient may see it now. Resources other than results pass
// unchanged; a result to withhold must be valid JSON.
func (f ReleaseFilter) Apply(resource json.RawMessage) (json.RawMessage, error) {
	if !mayBeResult(resource) {
		return resource, nil
	}
	var fields resultFields
	if !pick(resource, resultNames, fields[:]) {
		return nil, ErrMalformedResult
	}
	release, isResult := f.release(&fields)
	if !isResult || release.State == tenants.ResultReleased {
		return resource, nil
	}
	if !json.Valid(resource) {
		return nil, ErrMalformedResult
	}
	members, err := fhir.Members(resource)
	if err != nil {
		return nil, fmt.Errorf("access: withholding a result: %w", err)
	}
	out, err := f.withhold(fields.resourceType(), members, release)
	if err != nil {
		return nil, fmt.Errorf("access: withholding a result: %w", err)
	}
	return out, nil
}

// Release returns a resource's release state now, and false when it is not a result that
// release rules apply to. The portal shows it beside each result.
func (f ReleaseFilter) Release(resource json.RawMessage) (tenants.ResultRelease, bool, error) {
	var fields resultFields
	if !pick(resource, resultNames, fields[:]) {
		return tenants.ResultRelease{}, false, ErrMalformedResult
	}
	release, isResult := f.release(&fields)
	return release, isResult, nil
}

// resultFields are the members of a resource that decide its release, in resultNames order.
type resultFields [7]json.RawMessage

var resultNames = []string{
	"resourceType", "code", "category", "issued", "effectiveDateTime", "effectiveInstant", "effectivePeriod",
}

func (r *resultFields) resourceType() string      { s, _ := stringOf(r[0]); return s }
func (r *resultFields) code() json.RawMessage     { return r[1] }
func (r *resultFields) category() json.RawMessage { return r[2] }

// mayBeResult reports, without parsing, whether a resource can be an Observation or a
// DiagnosticReport: its type must be spelled in it, unless escapes could hide it.
func mayBeResult(resource []byte) bool {
	return bytes.Contains(resource, []byte("Observation")) ||
		bytes.Contains(resource, []byte("DiagnosticReport")) ||
		bytes.Contains(resource, []byte(`\u`))
}

// release decides a result's state from its code (Observation.code, DiagnosticReport.code),
// its category and the time it was issued. What cannot be read is held: a result whose code
// or time is unreadable waits for a clinician.
func (f ReleaseFilter) release(fields *resultFields) (tenants.ResultRelease, bool) {
	typ := fields.resourceType()
	if typ != "Observation" && typ != "DiagnosticReport" {
		return tenants.ResultRelease{}, false
	}
	held := tenants.ResultRelease{State: tenants.ResultHeld}
	codes, ok := codingsOf(fields.code())
	if !ok {
		return held, true
	}
	if typ == "Observation" && !f.Policy.Holds(codes) {
		categories, ok := codingsOf(fields.category())
		if ok && !resultCategory(categories) {
			return tenants.ResultRelease{}, false
		}
	}
	issued, ok := fields.issued()
	if !ok {
		return held, true
	}
	return f.Policy.ReleaseState(codes, issued, f.Now), true
}

// resultCategory reports whether an Observation with these categories is a result: one of
// the result categories, or none of the categories known not to be results.
func resultCategory(categories []tenants.Coding) bool {
	known := false
	for _, c := range categories {
		switch {
		case c.System == obsCategorySystem && slices.Contains(resultCategories, c.Code):
			return true
		case c.System == obsCategorySystem && slices.Contains(otherObservationCategories, c.Code),
			c.System == usCoreCategory:
			known = true
		}
	}
	return !known
}

var (
	resultCategories           = []string{"laboratory", "imaging", "procedure"}
	otherObservationCategories = []string{"vital-signs", "social-history", "survey", "exam", "therapy", "activity"}
)

var periodNames = []string{"start", "end"}

// issued returns when a result was issued: its issued instant, else its effective time (a
// period's end, else its start). A value given to the day or coarser counts from the end of
// that span. false means the time given cannot be read, or there is none.
func (r *resultFields) issued() (time.Time, bool) {
	for _, v := range r[3:6] { // issued, effectiveDateTime, effectiveInstant
		if v != nil {
			return instantOf(v)
		}
	}
	if r[6] != nil {
		var period [2]json.RawMessage
		if !pick(r[6], periodNames, period[:]) {
			return time.Time{}, false
		}
		if end := period[1]; end != nil {
			return instantOf(end)
		}
		if start := period[0]; start != nil {
			return instantOf(start)
		}
	}
	return time.Time{}, false
}

func instantOf(v json.RawMessage) (time.Time, bool) {
	s, ok := stringOf(v)
	if !ok {
		return time.Time{}, false
	}
	start, end, err := fhir.ParseDateTime(s)
	if err != nil {
		return time.Time{}, false
	}
	if end.Sub(start) > time.Second {
		return end, true
	}
	return start, true
}

// Elements a withheld result loses. Those in rewritten come back with new values.
var (
	withheldObservation = []string{"interpretation", "note", "referenceRange", "contained"}
	withheldReport      = []string{
		"result", "conclusion", "_conclusion", "conclusionCode", "presentedForm", "media", "imagingStudy", "contained",
	}
	rewritten = []string{"text", "dataAbsentReason", "component", "extension"}
)

// withheld reports whether a withheld result loses the member key, matched as decoders match
// it, regardless of case.
func withheld(typ, key string) bool {
	named := func(name string) bool { return strings.EqualFold(name, key) }
	lower := strings.ToLower(key)
	switch {
	case slices.ContainsFunc(rewritten, named):
		return true
	case typ == "Observation":
		// value[x] and its primitive extensions (_valueString…).
		return strings.HasPrefix(lower, "value") || strings.HasPrefix(lower, "_value") ||
			slices.ContainsFunc(withheldObservation, named)
	}
	return slices.ContainsFunc(withheldReport, named)
}

// withhold returns a copy of the result without its value, marked as not released.
func (f ReleaseFilter) withhold(typ string, members []fhir.Member, release tenants.ResultRelease) (json.RawMessage, error) {
	set := []fhir.Member{{Key: "text", Value: f.narrative(release)}}
	if typ == "Observation" {
		set = append(set, fhir.Member{Key: "dataAbsentReason", Value: maskedReason})
		masked, err := maskComponents(lastMember(members, "component"))
		if err != nil {
			return nil, err
		}
		if masked != nil {
			set = append(set, fhir.Member{Key: "component", Value: masked})
		}
	}
	// The result's own extensions go too: any of them may carry the value, and extensions
	// (unlike modifierExtension) may be left out without changing what a resource means.
	if release.State == tenants.ResultPending {
		at, err := json.Marshal([]releaseAt{{URL: ReleaseAtExtension, ValueDateTime: release.At.UTC().Format(time.RFC3339Nano)}})
		if err != nil {
			return nil, err
		}
		set = append(set, fhir.Member{Key: "extension", Value: at})
	}
	stripped := withoutMembers(members, func(key string) bool { return withheld(typ, key) })
	if !slices.ContainsFunc(members, func(m fhir.Member) bool { return m.Key == "meta" }) {
		// meta first, so that the members set below land after it as they will when a
		// withheld result is filtered again: the output is the same either way.
		var err error
		if stripped, err = fhir.SetMembers(stripped, fhir.Member{Key: "meta", Value: json.RawMessage(`{}`)}); err != nil {
			return nil, err
		}
	}
	return fhir.EditMeta(stripped, func(meta json.RawMessage) (json.RawMessage, error) {
		return markMeta(meta, release.State)
	}, set...)
}

type releaseAt struct {
	URL           string `json:"url"`
	ValueDateTime string `json:"valueDateTime"`
}

// narrative is the text a patient reads instead of the result. Its words are fixed, so it
// is written as JSON directly, markup unescaped.
func (f ReleaseFilter) narrative(release tenants.ResultRelease) json.RawMessage {
	when := "after your clinician has reviewed it"
	if release.State == tenants.ResultPending {
		loc := f.Location
		if loc == nil {
			loc = time.UTC
		}
		when = "on " + release.At.In(loc).Format("January 2, 2006 at 3:04 PM MST")
	}
	return json.RawMessage(`{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` +
		`<p>This result is not available yet. It will be released ` + when + `.</p></div>"}`)
}

// maskedReason is the dataAbsentReason of a withheld value.
var maskedReason = json.RawMessage(`{"coding":[{"system":"` + dataAbsentSystem +
	`","code":"masked","display":"Masked"}],"text":"Pending release"}`)

// maskComponents keeps each component's code and masks its value: a blood pressure's
// systolic and diastolic stay named, without numbers. It returns nil when no component is
// left, since FHIR arrays are never empty.
func maskComponents(components json.RawMessage) (json.RawMessage, error) {
	var masked []json.RawMessage
	for _, c := range arrayElements(components) {
		members, err := fhir.Members(c)
		if err != nil {
			continue // not an object: nothing of it is kept
		}
		kept := withoutMembers(members, func(key string) bool { return key != "id" && key != "code" })
		out, err := fhir.SetMembers(kept, fhir.Member{Key: "dataAbsentReason", Value: maskedReason})
		if err != nil {
			return nil, err
		}
		masked = append(masked, out)
	}
	if len(masked) == 0 {
		return nil, nil
	}
	return joinArray(masked), nil
}

// markMeta tags a withheld result's meta with its release state (replacing any earlier
// release tag) and labels it redacted (v3-ObservationValue REDACTED).
func markMeta(meta json.RawMessage, state tenants.ReleaseState) (json.RawMessage, error) {
	members, err := fhir.Members(meta)
	if err != nil {
		return nil, err
	}
	tag, err := json.Marshal(fhir.Coding{System: ReleaseStateSystem, Code: string(state), Display: stateDisplay[state]})
	if err != nil {
		return nil, err
	}
	tags := slices.DeleteFunc(arrayElements(lastMember(members, "tag")), func(e json.RawMessage) bool {
		return codingOf(e).System == ReleaseStateSystem
	})
	labels := arrayElements(lastMember(members, "security"))
	if !slices.ContainsFunc(labels, func(e json.RawMessage) bool { return codingOf(e) == redacted }) {
		labels = append(labels, redactedLabel)
	}
	return fhir.SetMembers(meta,
		fhir.Member{Key: "tag", Value: joinArray(append(tags, tag))},
		fhir.Member{Key: "security", Value: joinArray(labels)})
}

var stateDisplay = map[tenants.ReleaseState]string{
	tenants.ResultPending: "Pending release",
	tenants.ResultHeld:    "Pending release by a clinician",
}

var (
	redacted      = tenants.Coding{System: obsValueSystem, Code: "REDACTED"}
	redactedLabel = json.RawMessage(`{"system":"` + obsValueSystem + `","code":"REDACTED","display":"redacted"}`)
)

// codingOf reads a Coding's system and code; anything else reads as empty.
func codingOf(e json.RawMessage) tenants.Coding {
	var c struct{ System, Code string }
	_ = json.Unmarshal(e, &c)
	return tenants.Coding{System: c.System, Code: c.Code}
}
