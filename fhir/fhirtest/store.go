package fhirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// record is one stored resource version. Records are immutable once built,
// so searches hand them around without holding the store's lock.
type record struct {
	typ, id     string
	version     int
	lastUpdated time.Time
	seq         uint64 // insertion order, the default order of results
	raw         []byte // compact JSON with id and meta set
	// patients are the ids of the Patients whose compartment holds the record.
	patients []string
	// values holds each search parameter's values, extracted once at store time.
	values map[string]*paramValues
}

func (r *record) ref() string { return r.typ + "/" + r.id }

func (r *record) etag() string { return `W/"` + strconv.Itoa(r.version) + `"` }

// inCompartment reports whether the record belongs to the patient's compartment.
func (r *record) inCompartment(patient string) bool { return slices.Contains(r.patients, patient) }

// paramValues are the values of one search parameter in one resource.
type paramValues struct {
	codes []coding   // token and uri
	strs  []string   // string, as written
	lower []string   // string, lower-cased for the default and :contains matches
	spans []timeSpan // date
	refs  []refValue // reference
}

func (v *paramValues) empty() bool {
	return v == nil || len(v.codes)+len(v.strs)+len(v.spans)+len(v.refs) == 0
}

type coding struct{ system, code string }

// timeSpan is a date value as fhir.DateParam.Matches reads it: a zero start
// or end is an open bound.
type timeSpan struct{ start, end time.Time }

// refValue is a reference split into its type and id; external references
// (urn:uuid that no entry resolved, contained "#x") keep their text in id.
type refValue struct{ typ, id string }

// extractValues reads the values of every parameter of a decoded resource.
func extractValues(typ, id string, lastUpdated time.Time, doc map[string]any) map[string]*paramValues {
	ps := paramsOf(typ)
	values := make(map[string]*paramValues, len(ps.list))
	for i := range ps.list {
		def := &ps.list[i]
		v := &paramValues{}
		switch def.name {
		case "_id":
			v.codes = []coding{{code: id}}
		case "_lastUpdated":
			v.spans = []timeSpan{{lastUpdated, lastUpdated.Add(time.Millisecond)}}
		default:
			var found []any
			for _, p := range def.paths {
				found = lookupPath(doc, p, found)
			}
			for _, elem := range found {
				v.add(def, elem)
			}
		}
		if !v.empty() {
			values[def.name] = v
		}
	}
	return values
}

// add adds one element's values, read according to the parameter type.
func (v *paramValues) add(def *paramDef, elem any) {
	switch def.typ {
	case tokenParam, uriParam:
		v.addToken(elem)
	case stringParam:
		v.addString(elem)
	case dateParam:
		if s, ok := dateSpan(elem); ok {
			v.spans = append(v.spans, s)
		}
	case referenceParam:
		m, ok := elem.(map[string]any)
		if !ok {
			return
		}
		text, _ := m["reference"].(string)
		r, ok := parseRefValue(text)
		if ok && (def.target == "" || r.typ == def.target) {
			v.refs = append(v.refs, r)
		}
	}
}

// addToken reads a code, boolean, Coding, CodeableConcept or Identifier.
func (v *paramValues) addToken(elem any) {
	switch e := elem.(type) {
	case string:
		v.codes = append(v.codes, coding{code: e})
	case bool:
		v.codes = append(v.codes, coding{code: strconv.FormatBool(e)})
	case map[string]any:
		system, _ := e["system"].(string)
		if code, ok := e["code"].(string); ok {
			v.codes = append(v.codes, coding{system, code})
		}
		if value, ok := e["value"].(string); ok { // Identifier
			v.codes = append(v.codes, coding{system, value})
		}
		if codings, ok := e["coding"].([]any); ok { // CodeableConcept
			for _, c := range codings {
				v.addToken(c)
			}
		}
	}
}

// stringParts are the elements of HumanName and Address a string search reads.
var stringParts = []string{"text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode", "country"}

func (v *paramValues) addString(elem any) {
	switch e := elem.(type) {
	case string:
		v.strs = append(v.strs, e)
		v.lower = append(v.lower, foldString(e))
	case []any:
		for _, item := range e {
			v.addString(item)
		}
	case map[string]any:
		for _, part := range stringParts {
			if p, ok := e[part]; ok {
				v.addString(p)
			}
		}
	}
}

// foldString lower-cases s and strips the accents of Latin letters, since
// FHIR string search ignores case and accents ("nunez" finds "Núñez").
func foldString(s string) string {
	s = strings.ToLower(s)
	for _, r := range s {
		if r >= 0xC0 {
			return strings.Map(func(r rune) rune {
				if plain, ok := unaccented[r]; ok {
					return plain
				}
				return r
			}, s)
		}
	}
	return s
}

// unaccented maps lower-case accented Latin letters to their base letter.
var unaccented = func() map[rune]rune {
	m := map[rune]rune{}
	for base, accented := range map[rune]string{
		'a': "àáâãäåāăą", 'c': "çćĉċč", 'd': "ďđ", 'e': "èéêëēĕėęě", 'g': "ĝğġģ", 'h': "ĥħ",
		'i': "ìíîïĩīĭįı", 'j': "ĵ", 'k': "ķ", 'l': "ĺļľŀł", 'n': "ñńņňŉ", 'o': "òóôõöøōŏő",
		'r': "ŕŗř", 's': "śŝşš", 't': "ţťŧ", 'u': "ùúûüũūŭůűų", 'w': "ŵ", 'y': "ýÿŷ", 'z': "źżž",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()

// dateSpan reads a date, dateTime, instant or Period. Values that do not
// parse are left out, as a server ignores what it cannot index.
func dateSpan(elem any) (timeSpan, bool) {
	switch e := elem.(type) {
	case string:
		start, end, err := fhir.ParseDateTime(e)
		return timeSpan{start, end}, err == nil
	case map[string]any:
		var s timeSpan
		if text, ok := e["start"].(string); ok {
			start, _, err := fhir.ParseDateTime(text)
			if err != nil {
				return timeSpan{}, false
			}
			s.start = start
		}
		if text, ok := e["end"].(string); ok {
			_, end, err := fhir.ParseDateTime(text)
			if err != nil {
				return timeSpan{}, false
			}
			s.end = end
		}
		if s.start.IsZero() && s.end.IsZero() {
			return timeSpan{}, false // a Timing, Age or Range: not a date
		}
		return s, true
	}
	return timeSpan{}, false
}

// parseRefValue splits "Type/id", an absolute URL ending in Type/id (with or
// without _history) or keeps any other reference text as it is.
func parseRefValue(text string) (refValue, bool) {
	if text == "" {
		return refValue{}, false
	}
	if strings.HasPrefix(text, "#") || strings.HasPrefix(text, "urn:") {
		return refValue{id: text}, true
	}
	parts := strings.Split(text, "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || !isTypeName(parts[n-2]) {
		return refValue{id: text}, true
	}
	return refValue{typ: parts[n-2], id: parts[n-1]}, true
}

// isTypeName reports whether s has the shape of a resource type name.
func isTypeName(s string) bool {
	if s == "" || !isUpper(s[0]) || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || isUpper(c)) {
			return false
		}
	}
	return true
}

// isID reports whether s is a valid FHIR id: 1 to 64 of [A-Za-z0-9-.].
func isID(s string) bool { return fhir.ValidID(s) }

// compartmentOf returns the patients whose compartment holds the resource.
func compartmentOf(typ, id string, values map[string]*paramValues) []string {
	if typ == "Patient" {
		return []string{id}
	}
	v := values["patient"]
	if v == nil {
		return nil
	}
	var patients []string
	for _, r := range v.refs {
		if r.typ == "Patient" && !slices.Contains(patients, r.id) {
			patients = append(patients, r.id)
		}
	}
	return patients
}

// stamp tells buildRecord how to set meta: loaded resources keep a version
// and lastUpdated they already carry, written ones always get new ones.
type stamp struct {
	version     int
	lastUpdated time.Time
	keepMeta    bool
	// assignID names a resource that has no id; without it one is required.
	assignID func() string
}

// buildRecord decodes raw once, sets its id and meta, and extracts what
// searches need. It fails with errBadResource for anything that is not a
// resource object.
func buildRecord(raw []byte, id string, st stamp) (*record, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadResource, err)
	}
	typ, _ := doc["resourceType"].(string)
	if !isTypeName(typ) {
		return nil, fmt.Errorf("%w: resourceType %q is not a resource type", errBadResource, typ)
	}
	if id == "" {
		id, _ = doc["id"].(string)
	}
	if id == "" && st.assignID != nil {
		id = st.assignID()
	}
	if !isID(id) {
		return nil, fmt.Errorf("%w: %s id %q is not a valid id", errBadResource, typ, id)
	}
	meta, _ := doc["meta"].(map[string]any)
	if meta == nil && doc["meta"] != nil {
		return nil, fmt.Errorf("%w: %s/%s meta is not an object", errBadResource, typ, id)
	}
	version, lastUpdated := st.version, st.lastUpdated
	if st.keepMeta {
		// Versions the server cannot count from (non-numeric) start again at 1.
		if text, ok := meta["versionId"].(string); ok {
			if n, err := strconv.Atoi(text); err == nil && n > version {
				version = n
			}
		}
		// lastUpdated is an instant: a bare date does not say when.
		if text, ok := meta["lastUpdated"].(string); ok && strings.Contains(text, "T") {
			if t, _, err := fhir.ParseDateTime(text); err == nil {
				lastUpdated = t
			}
		}
	}
	lastUpdated = lastUpdated.UTC().Truncate(time.Millisecond)

	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadResource, err)
	}
	edited, err := setIDAndMeta(compact.Bytes(), id, strconv.Itoa(version), formatInstant(lastUpdated))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadResource, err)
	}
	values := extractValues(typ, id, lastUpdated, doc)
	return &record{
		typ:         typ,
		id:          id,
		version:     version,
		lastUpdated: lastUpdated,
		raw:         edited,
		patients:    compartmentOf(typ, id, values),
		values:      values,
	}, nil
}

// restamp returns a copy of the record under another id or version.
func (r *record) restamp(id string, version int) (*record, error) {
	raw, err := setIDAndMeta(r.raw, id, strconv.Itoa(version), formatInstant(r.lastUpdated))
	if err != nil {
		return nil, fmt.Errorf("stamping %s/%s: %w", r.typ, id, err)
	}
	c := *r
	c.id, c.version, c.raw = id, version, raw
	if id != r.id {
		c.values = maps.Clone(r.values)
		c.values["_id"] = &paramValues{codes: []coding{{code: id}}}
		c.patients = compartmentOf(c.typ, id, c.values)
	}
	return &c, nil
}

// setIDAndMeta sets a resource's id, meta.versionId and meta.lastUpdated,
// leaving every other byte as it was (the rest of meta included: profile,
// tag, source). raw is compact, and so is the result.
func setIDAndMeta(raw []byte, id, versionID, lastUpdated string) ([]byte, error) {
	return fhir.EditMeta(raw, func(meta json.RawMessage) (json.RawMessage, error) {
		return fhir.SetMembers(meta,
			fhir.Member{Key: "versionId", Value: quoteJSON(versionID)},
			fhir.Member{Key: "lastUpdated", Value: quoteJSON(lastUpdated)})
	}, fhir.Member{Key: "id", Value: quoteJSON(id)})
}

// formatInstant writes a FHIR instant with millisecond precision.
func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// store holds the current version of every resource, with the patient
// compartment index that keeps patient searches from scanning a whole type.
type store struct {
	mu    sync.RWMutex
	seq   uint64
	types map[string]*typeStore
}

type typeStore struct {
	byID      map[string]*record
	byPatient map[string]map[string]*record // patient id → resource id → record
}

func newStore() *store { return &store{types: make(map[string]*typeStore)} }

func (s *store) get(typ, id string) *record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.getLocked(typ, id)
}

func (s *store) getLocked(typ, id string) *record {
	if ts := s.types[typ]; ts != nil {
		return ts.byID[id]
	}
	return nil
}

// putLocked stores rec as the current version of its resource, keeping the
// insertion position of the version it replaces.
func (s *store) putLocked(rec *record) {
	ts := s.types[rec.typ]
	if ts == nil {
		ts = &typeStore{byID: make(map[string]*record), byPatient: make(map[string]map[string]*record)}
		s.types[rec.typ] = ts
	}
	if old := ts.byID[rec.id]; old != nil {
		rec.seq = old.seq
		for _, p := range old.patients {
			delete(ts.byPatient[p], old.id)
		}
	} else {
		s.seq++
		rec.seq = s.seq
	}
	ts.byID[rec.id] = rec
	for _, p := range rec.patients {
		if ts.byPatient[p] == nil {
			ts.byPatient[p] = make(map[string]*record)
		}
		ts.byPatient[p][rec.id] = rec
	}
}

// typeNames returns the stored types.
func (s *store) typeNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.types))
	for t := range s.types {
		names = append(names, t)
	}
	return names
}

func (s *store) hasType(typ string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.types[typ] != nil
}

// bySeq orders records by insertion.
func bySeq(a, b *record) int {
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}
