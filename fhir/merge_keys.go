package fhir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The light read of Merge: from each resource only the members that name it
// (type, id, meta.lastUpdated), the person it is about, its identifiers and
// its clinical key, scanned in place without decoding the rest.

// mergeItem is what Merge reads of one resource.
type mergeItem struct {
	typ, id string
	typRank int32 // the place of typ in the sorted types of the input
	idHead  idHead
	org     int32
	updated []byte // meta.lastUpdated as written; nil when absent
	// idKeys and key are the identifier keys and the clinical key, empty
	// when the resource is never merged that way.
	idKeys []string
	key    string
	meta   metaPlace
	// tagged is the resource tagged as reported by its org alone.
	tagged []byte
}

// idHead is the first 16 bytes of an id, zero-padded, as numbers: ids
// compare as their heads do unless the heads are equal, which sorting
// rarely needs to look past.
type idHead [2]uint64

// metaPlace says where the meta of a resource is, so that tagging needs no
// second scan of the resource: raw[start:end] is the value of its (last)
// meta; without meta, start == end is where one goes, as EditMeta inserts
// it.
type metaPlace struct {
	start, end int
	count      int  // members named meta
	afterComma bool // inserted after a header member: a comma before it
	needComma  bool // inserted before the first member: a comma after it
}

// Systems the clinical keys prefer to compare codes by.
const (
	systemLOINC   = "http://loinc.org"
	systemSNOMED  = "http://snomed.info/sct"
	systemCVX     = "http://hl7.org/fhir/sid/cvx"
	systemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
	systemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	systemICD10   = "http://hl7.org/fhir/sid/icd-10"
	systemCPT     = "http://www.ama-assn.org/go/cpt"
)

var (
	prefersVaccine    = []string{systemCVX}
	prefersMedication = []string{systemRxNorm}
	prefersResult     = []string{systemLOINC, systemSNOMED}
	prefersCondition  = []string{systemSNOMED, systemICD10CM, systemICD10}
	prefersProcedure  = []string{systemSNOMED, systemCPT}
	prefersAllergy    = []string{systemSNOMED, systemRxNorm}
)

// mergeFields are the top-level members a key may need, as raw values.
type mergeFields struct {
	resourceType, id, identifier, subject, patient []byte
	status, verificationStatus, clinicalStatus     []byte
	code, vaccineCode, medication, category        []byte
	occurrence, authoredOn, onset, onsetPeriod     []byte
	effective, effectivePeriod, issued             []byte
	performed, performedPeriod                     []byte
	valueName, value, component                    []byte
}

// set records a member; a repeated key keeps its last value, as decoders
// do, and null counts as absent.
func (f *mergeFields) set(key, v []byte) {
	if string(v) == "null" {
		v = nil
	}
	switch string(key) {
	case "resourceType":
		f.resourceType = v
	case "id":
		f.id = v
	case "identifier":
		f.identifier = v
	case "subject":
		f.subject = v
	case "patient":
		f.patient = v
	case "status":
		f.status = v
	case "verificationStatus":
		f.verificationStatus = v
	case "clinicalStatus":
		f.clinicalStatus = v
	case "code":
		f.code = v
	case "vaccineCode":
		f.vaccineCode = v
	case "medicationCodeableConcept":
		f.medication = v
	case "category":
		f.category = v
	case "occurrenceDateTime":
		f.occurrence = v
	case "authoredOn":
		f.authoredOn = v
	case "onsetDateTime":
		f.onset = v
	case "onsetPeriod":
		f.onsetPeriod = v
	case "effectiveDateTime", "effectiveInstant":
		f.effective = v
	case "effectivePeriod":
		f.effectivePeriod = v
	case "issued":
		f.issued = v
	case "performedDateTime":
		f.performed = v
	case "performedPeriod":
		f.performedPeriod = v
	case "component":
		f.component = v
	default:
		if bytes.HasPrefix(key, []byte("value")) && v != nil {
			f.valueName, f.value = key, v
		}
	}
}

// mergeReader reads resources for one goroutine of Merge.
type mergeReader struct {
	m     *merger
	types map[string]string // interned resource types
	out   arena             // room for the tagged copies
	key   []byte            // scratch
	parts [][]byte          // scratch: sorted parts of a key
}

func newMergeReader(m *merger) *mergeReader {
	return &mergeReader{m: m, types: map[string]string{}}
}

// read fills it from src: what names the resource, a copy tagged as
// reported by its org alone, and its keys. Only what names the resource and
// its meta are checked: a key element that cannot be read leaves the
// resource unmerged by that key.
func (r *mergeReader) read(src Sourced, it *mergeItem) error {
	org, ok := r.m.orgIndex[src.Org]
	if !ok {
		return errors.New("the org is not in MergeOptions.Orgs")
	}
	it.org = org
	f, err := r.scan(src.Resource, it)
	if err != nil {
		return err
	}
	if err := r.tagAlone(src.Resource, it); err != nil {
		return fmt.Errorf("%s/%s: %w", it.typ, it.id, err)
	}
	if it.typ == "Patient" || enteredInError(&f) {
		return nil
	}
	if person := r.person(org, &f); person != 0 {
		r.identifierKeys(it, person, f.identifier)
		if r.clinicalKey(it.typ, person, &f) {
			it.key = string(r.key)
		}
	}
	return nil
}

// scan reads the top level of raw: its type, id and where its meta is into
// it, and the members keys may need.
func (r *mergeReader) scan(raw []byte, it *mergeItem) (mergeFields, error) {
	var f mergeFields
	var buf [32]memberSpan
	spans, err := objectSpans(raw, buf[:0])
	if err != nil {
		return f, err
	}
	header := -1 // the last of the leading header members
	for k, s := range spans {
		key := keyText(raw[s.keyStart:s.keyEnd])
		if header == k-1 && isHeaderKey(key) {
			header = k
		}
		if string(key) == "meta" {
			it.meta.count++
			it.meta.start, it.meta.end = s.valStart, s.valEnd
		}
		f.set(key, raw[s.valStart:s.valEnd])
	}
	if it.meta.count == 0 { // where EditMeta would insert one
		it.meta.start = skipSpace(raw, 0) + 1
		if header >= 0 {
			it.meta.start, it.meta.afterComma = spans[header].valEnd, true
		} else {
			it.meta.needComma = len(spans) > 0
		}
		it.meta.end = it.meta.start
	}

	typ, ok := jsonString(f.resourceType)
	if !ok || len(typ) == 0 {
		return f, ErrNotResource
	}
	if it.typ, ok = r.types[string(typ)]; !ok {
		it.typ = string(typ)
		r.types[it.typ] = it.typ
	}
	if f.id != nil {
		id, ok := jsonString(f.id)
		if !ok {
			return f, fmt.Errorf("%s id is not a string", it.typ)
		}
		it.id = string(id)
		var head [16]byte
		copy(head[:], id)
		it.idHead = idHead{binary.BigEndian.Uint64(head[:8]), binary.BigEndian.Uint64(head[8:])}
	}
	return f, nil
}

// tagAlone reads meta.lastUpdated and sets it.tagged to the resource as
// reported by its org alone.
func (r *mergeReader) tagAlone(raw []byte, it *mergeItem) error {
	meta := it.meta.value(raw)
	if meta[0] != '{' {
		return errors.New("meta is not an object")
	}
	it.updated, _ = jsonString(objectMember(meta, "lastUpdated"))
	var err error
	it.tagged, err = r.m.tagCopy(raw, it.meta, sourceEdit{kept: it.org, orgs: r.m.orgs[it.org].alone}, &r.out)
	return err
}

// person returns 1 + the index of the person the resource is about, or 0
// when it names no patient that the options map.
func (r *mergeReader) person(org int32, f *mergeFields) int32 {
	ref := f.patient
	if ref == nil {
		ref = f.subject
	}
	s, ok := jsonString(objectMember(ref, "reference"))
	if !ok {
		return 0
	}
	id, ok := bytes.CutPrefix(s, []byte("Patient/"))
	if !ok || bytes.IndexByte(id, '/') >= 0 {
		// Absolute and versioned references are rare: parse them properly.
		parsed, err := ParseReference(string(s), "")
		if err != nil || parsed.Type != "Patient" {
			return 0
		}
		id = []byte(parsed.ID)
	}
	return r.m.patients[org][string(id)]
}

// enteredInError reports a resource its author withdrew: it is never the
// same fact as anything.
func enteredInError(f *mergeFields) bool {
	if status, _ := jsonString(f.status); string(status) == "entered-in-error" {
		return true
	}
	verification, ok := pickCoding(f.verificationStatus, nil)
	return ok && string(verification.code) == "entered-in-error"
}

// identifierKeys sets it.idKeys: type, person, system and value of every
// identifier that has both.
func (r *mergeReader) identifierKeys(it *mergeItem, person int32, identifiers []byte) {
	if identifiers == nil {
		return
	}
	_ = eachArrayElement(identifiers, func(id []byte) {
		v := objectMembers(id, "system", "value")
		system, ok1 := jsonString(v[0])
		value, ok2 := jsonString(v[1])
		if !ok1 || !ok2 || len(system) == 0 || len(value) == 0 {
			return
		}
		r.key = r.keyStart(it.typ, person)
		r.key = appendPart(r.key, system)
		r.key = appendPart(r.key, value)
		it.idKeys = append(it.idKeys, string(r.key))
	})
}

// keyStart begins a key in r.key's buffer with the type and the person.
func (r *mergeReader) keyStart(typ string, person int32) []byte {
	k := appendPart(r.key[:0], []byte(typ))
	return binary.AppendUvarint(k, uint64(person))
}

// appendPart appends one part of a key, length first, so that no two
// different lists of parts make the same key.
func appendPart(key, part []byte) []byte {
	key = binary.AppendUvarint(key, uint64(len(part)))
	return append(key, part...)
}

// clinicalKey builds the clinical key of the resource in r.key, and reports
// whether it has one (see Merge for the rules).
func (r *mergeReader) clinicalKey(typ string, person int32, f *mergeFields) bool {
	r.key = r.keyStart(typ, person)
	ok := true
	code := func(concept []byte, prefer []string) {
		c, found := pickCoding(concept, prefer)
		ok = ok && found
		r.key = appendPart(appendPart(r.key, c.system), c.code)
	}
	str := func(v []byte) {
		s, found := jsonString(v)
		ok = ok && found
		r.key = appendPart(r.key, s)
	}
	day := func(values ...[]byte) {
		d, found := dayOf(firstPresent(values...))
		ok = ok && found
		r.key = appendPart(r.key, d)
	}
	minute := func(values ...[]byte) {
		m, found := minuteOf(firstPresent(values...))
		ok = ok && found
		r.key = binary.AppendVarint(r.key, m)
	}
	switch typ {
	case "Immunization":
		code(f.vaccineCode, prefersVaccine)
		day(f.occurrence)
		str(f.status)
	case "MedicationRequest":
		code(f.medication, prefersMedication)
		day(f.authoredOn)
		str(f.status)
	case "MedicationStatement":
		code(f.medication, prefersMedication)
		day(f.effective, objectMember(f.effectivePeriod, "start"))
		str(f.status)
	case "AllergyIntolerance":
		code(f.code, prefersAllergy)
		code(f.clinicalStatus, nil)
	case "Condition":
		code(f.code, prefersCondition)
		day(f.onset, objectMember(f.onsetPeriod, "start"))
		ok = ok && r.appendCategories(f.category)
	case "Observation":
		code(f.code, prefersResult)
		minute(f.effective, objectMember(f.effectivePeriod, "start"))
		ok = ok && r.appendResultValues(f)
	case "DiagnosticReport":
		code(f.code, prefersResult)
		minute(f.effective, objectMember(f.effectivePeriod, "start"))
		minute(f.issued)
	case "Procedure":
		code(f.code, prefersProcedure)
		day(f.performed, objectMember(f.performedPeriod, "start"))
	default:
		return false
	}
	return ok
}

// appendCategories appends the set of categories (one coding each),
// which may be empty.
func (r *mergeReader) appendCategories(categories []byte) bool {
	r.parts = r.parts[:0]
	if categories != nil {
		err := eachArrayElement(categories, func(concept []byte) {
			if c, ok := pickCoding(concept, nil); ok {
				r.parts = append(r.parts, appendPart(appendPart(nil, c.system), c.code))
			}
		})
		if err != nil {
			return false
		}
	}
	r.appendSet()
	return true
}

// appendResultValues appends an Observation's value[x] and components; it
// reports false when the Observation has neither.
func (r *mergeReader) appendResultValues(f *mergeFields) bool {
	if f.value != nil {
		var ok bool
		r.key, ok = appendValue(appendPart(r.key, f.valueName), f.valueName, f.value)
		if !ok {
			return false
		}
	} else {
		r.key = appendPart(r.key, nil)
	}
	if f.component == nil {
		return f.value != nil
	}
	r.parts = r.parts[:0]
	complete := true
	err := eachArrayElement(f.component, func(component []byte) {
		var code, name, value []byte
		_ = eachObjectMember(component, func(key, v []byte) {
			switch {
			case string(key) == "code":
				code = v
			case bytes.HasPrefix(key, []byte("value")):
				name, value = key, v
			}
		})
		c, found := pickCoding(code, prefersResult)
		part := appendPart(appendPart(nil, c.system), c.code)
		part = appendPart(part, name)
		part, valueOK := appendValue(part, name, value)
		complete = complete && found && valueOK
		r.parts = append(r.parts, part)
	})
	if err != nil || !complete || len(r.parts) == 0 {
		return false
	}
	r.appendSet()
	return true
}

// appendSet appends r.parts as a set: sorted, so that the order two orgs
// list them in does not matter.
func (r *mergeReader) appendSet() {
	slices.SortFunc(r.parts, bytes.Compare)
	r.parts = slices.CompactFunc(r.parts, bytes.Equal)
	r.key = binary.AppendUvarint(r.key, uint64(len(r.parts)))
	for _, p := range r.parts {
		r.key = appendPart(r.key, p)
	}
}

// appendValue appends a value[x] named name: a quantity by number,
// comparator and unit, a CodeableConcept by one coding (or its text), a
// string by its text, anything else by its JSON as written. A missing value
// appends nothing and reports true.
func appendValue(key, name, v []byte) ([]byte, bool) {
	switch {
	case v == nil:
		return key, true
	case string(name) == "valueQuantity":
		q := objectMembers(v, "value", "comparator", "code", "unit")
		n, err := strconv.ParseFloat(string(q[0]), 64)
		if q[0] == nil || err != nil {
			return key, false
		}
		comparator, _ := jsonString(q[1])
		unit, ok := jsonString(q[2])
		if !ok {
			unit, _ = jsonString(q[3])
		}
		var number [32]byte
		key = appendPart(key, strconv.AppendFloat(number[:0], n, 'g', -1, 64))
		return appendPart(appendPart(key, comparator), unit), true
	case string(name) == "valueCodeableConcept":
		if c, ok := pickCoding(v, prefersResult); ok {
			return appendPart(appendPart(append(key, 'c'), c.system), c.code), true
		}
		text, ok := jsonString(objectMember(v, "text"))
		return appendPart(append(key, 't'), text), ok && len(text) > 0
	case v[0] == '"':
		s, _ := jsonString(v)
		return appendPart(key, s), true
	}
	return appendPart(key, v), true
}

// firstPresent returns the first value given that is present.
func firstPresent(values ...[]byte) []byte {
	for _, v := range values {
		if v != nil {
			return v
		}
	}
	return nil
}

// dayOf returns the UTC day (YYYY-MM-DD) of a date, dateTime or instant at
// least as precise as a day.
func dayOf(v []byte) ([]byte, bool) {
	start, ok := precise(v, 24*time.Hour)
	if !ok {
		return nil, false
	}
	return start.UTC().AppendFormat(nil, time.DateOnly), true
}

// minuteOf returns the minute (since the Unix epoch) of a dateTime or
// instant with a time.
func minuteOf(v []byte) (int64, bool) {
	start, ok := precise(v, time.Minute)
	if !ok {
		return 0, false
	}
	return start.Unix() / 60, true
}

// precise parses a date, dateTime or instant of at least the given
// precision.
func precise(v []byte, precision time.Duration) (time.Time, bool) {
	s, ok := jsonString(v)
	if !ok {
		return time.Time{}, false
	}
	start, end, err := ParseDateTime(string(s))
	if err != nil || end.Sub(start) > precision {
		return time.Time{}, false
	}
	return start, true
}

// parseInstant parses meta.lastUpdated as written (the text of the string).
func parseInstant(s []byte) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	start, _, err := ParseDateTime(string(s))
	return start, err == nil
}

// mergeCoding is a coding read in place.
type mergeCoding struct{ system, code []byte }

// pickCoding returns the coding of the CodeableConcept concept that keys
// compare it by: the first of the preferred systems it has, else its
// smallest system|code; ties between codings of one system go to the
// smallest code. Codings lacking a system or a code do not count.
func pickCoding(concept []byte, prefer []string) (mergeCoding, bool) {
	var best mergeCoding
	bestRank := -1
	codings := objectMember(concept, "coding")
	if codings == nil {
		return best, false
	}
	_ = eachArrayElement(codings, func(coding []byte) {
		v := objectMembers(coding, "system", "code")
		system, ok1 := jsonString(v[0])
		code, ok2 := jsonString(v[1])
		if !ok1 || !ok2 || len(system) == 0 || len(code) == 0 {
			return
		}
		rank := len(prefer)
		for k, p := range prefer {
			if string(system) == p {
				rank = k
				break
			}
		}
		c := mergeCoding{system, code}
		if bestRank < 0 || rank < bestRank || rank == bestRank && compareCodings(c, best) < 0 {
			best, bestRank = c, rank
		}
	})
	return best, bestRank >= 0
}

func compareCodings(a, b mergeCoding) int {
	if c := bytes.Compare(a.system, b.system); c != 0 {
		return c
	}
	return bytes.Compare(a.code, b.code)
}

// jsonString returns the text of the JSON string v, or false when v is not
// a string.
func jsonString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	return keyText(v), true
}

// memberValue returns the value of the last member named key among spans
// of obj, or nil.
func memberValue(obj []byte, spans []memberSpan, key string) []byte {
	var v []byte
	for _, s := range spans {
		if string(keyText(obj[s.keyStart:s.keyEnd])) == key {
			v = obj[s.valStart:s.valEnd]
		}
	}
	return v
}

// objectMember returns the value of the member named key of the JSON object
// v (the last, when repeated), or nil when v is not an object or lacks it.
func objectMember(v []byte, key string) []byte {
	var found []byte
	_ = eachObjectMember(v, func(k, val []byte) {
		if string(k) == key {
			found = val
		}
	})
	return found
}

var errNotObject = errors.New("not a JSON object")
var errNotArray = errors.New("not a JSON array")

// objectMembers returns the values of the members of the JSON object v
// named by keys (up to four; the last of each, when repeated), nil for those
// it lacks.
func objectMembers(v []byte, keys ...string) (values [4][]byte) {
	_ = eachObjectMember(v, func(k, val []byte) {
		for n, key := range keys[:min(len(keys), len(values))] {
			if string(k) == key {
				values[n] = val
			}
		}
	})
	return values
}

// eachObjectMember calls fn with the key and value of each member of the
// JSON object v.
func eachObjectMember(v []byte, fn func(key, value []byte)) error {
	if len(v) == 0 || v[0] != '{' {
		return errNotObject
	}
	_, err := eachMember(v, 0, func(keyStart, keyEnd, valStart int) (int, error) {
		valEnd, err := valueEnd(v, valStart)
		if err == nil {
			fn(keyText(v[keyStart:keyEnd]), v[valStart:valEnd])
		}
		return valEnd, err
	})
	return err
}

// eachArrayElement calls fn with each element of the JSON array v.
func eachArrayElement(v []byte, fn func(element []byte)) error {
	if len(v) == 0 || v[0] != '[' {
		return errNotArray
	}
	_, err := eachElement(v, 0, func(start int) (int, error) {
		start = skipSpace(v, start) // eachElement leaves the space after a comma
		end, err := valueEnd(v, start)
		if err == nil {
			fn(v[start:end])
		}
		return end, err
	})
	return err
}
