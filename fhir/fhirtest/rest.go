package fhirtest

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portalgate/portalgate/fhir"
)

// maxResourceBody caps the body of a create or update.
const maxResourceBody = 8 << 20

// errBadResource is wrapped by every reason a body is not a storable resource.
var errBadResource = errors.New("not a valid resource")

// knownType reports whether the server searches typ: a type it has
// parameters for, or one it holds.
func (s *Server) knownType(typ string) bool {
	_, ok := typeParams[typ]
	return ok || s.store.hasType(typ)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, typ string, params url.Values, g *grant) {
	if !s.knownType(typ) {
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-supported", "unknown resource type "+typ)
		return
	}
	q, err := parseQuery(typ, params, s.now(), preferLenient(r))
	if err != nil {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", err.Error())
		return
	}
	if err := s.platform.CheckSearch(typ, q.names); err != nil {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", err.Error())
		return
	}
	rule := g.rule(typ, opSearch)
	if !rule.allowed {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow searching "+typ)
		return
	}
	if g.patient != "" && hasCompartment(typ) {
		if ids := q.patientIDs(); slices.ContainsFunc(ids, func(id string) bool { return id != g.patient }) {
			fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow another patient's records")
			return
		}
	}
	set := &resultSet{
		matches: s.find(q, g.patient, rule),
		query:   q,
		patient: g.patient,
		self:    BaseURL(r) + "/" + typ + queryString(q.canonical),
	}
	s.respond(w, r, set, q.count, q.summaryCount, g)
}

// find returns the records matching a query that a grant may see, in order.
func (s *Server) find(q *searchQuery, patient string, rule typeRule) []*record {
	s.store.mu.RLock()
	candidates := q.candidates(s.store.types[q.typ], patient)
	s.store.mu.RUnlock()
	matches := candidates[:0]
	for _, rec := range candidates {
		if q.matches(rec) && rule.permits(rec) && (patient == "" || !hasCompartment(rec.typ) || rec.inCompartment(patient)) {
			matches = append(matches, rec)
		}
	}
	q.sortRecords(matches)
	return matches
}

func queryString(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// preferLenient reports whether the client asked that unknown parameters be ignored.
func preferLenient(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		if strings.Contains(v, "handling=lenient") {
			return true
		}
	}
	return false
}

// read answers a read, or a vread when version is set (only the current
// version is kept).
func (s *Server) read(w http.ResponseWriter, r *http.Request, typ, id, version string, g *grant) {
	rec := s.store.get(typ, id)
	if rec == nil || (version != "" && version != strconv.Itoa(rec.version)) {
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-found", typ+"/"+id+" is not known")
		return
	}
	if !g.canRead(rec) {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow reading "+typ+"/"+id)
		return
	}
	setVersionHeaders(w, rec)
	if etagListed(r.Header.Get("If-None-Match"), rec.version) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeFHIR(w, http.StatusOK, rec.raw)
}

func setVersionHeaders(w http.ResponseWriter, rec *record) {
	w.Header().Set("ETag", rec.etag())
	w.Header().Set("Last-Modified", rec.lastUpdated.UTC().Format(http.TimeFormat))
}

// etagListed reports whether an If-None-Match or If-Match header names the
// version ("*" names any).
func etagListed(header string, version int) bool {
	want := strconv.Itoa(version)
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.Trim(strings.TrimPrefix(tag, "W/"), `"`) == want {
			return true
		}
	}
	return false
}

// readBody reads a create or update body. A failure has been answered.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxResourceBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fhir.WriteOutcome(w, http.StatusRequestEntityTooLarge, fhir.SeverityError, "too-costly", "the resource is too large")
		} else {
			fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "the body could not be read")
		}
		return nil, false
	}
	return body, true
}

// checkBody checks that a body is a resource of typ; a failure has been answered.
func checkBody(w http.ResponseWriter, body []byte, typ string) (fhir.Header, bool) {
	h, err := fhir.ReadHeader(body)
	if err != nil {
		fhir.WriteOutcome(w, http.StatusUnprocessableEntity, fhir.SeverityError, "structure", "the body is not a FHIR resource: "+err.Error())
		return h, false
	}
	if h.ResourceType != typ {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid",
			fmt.Sprintf("the body is a %s, not a %s", h.ResourceType, typ))
		return h, false
	}
	return h, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, typ string, g *grant) {
	if !g.rule(typ, opCreate).allowed {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow creating "+typ)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if _, ok := checkBody(w, body, typ); !ok {
		return
	}
	if cond := r.Header.Get("If-None-Exist"); cond != "" {
		if s.existing(w, r, typ, cond, g) {
			return
		}
	}
	rec, err := buildRecord(body, s.newID(), stamp{version: 1, lastUpdated: s.now()})
	if err != nil {
		fhir.WriteOutcome(w, http.StatusUnprocessableEntity, fhir.SeverityError, "structure", err.Error())
		return
	}
	if !g.sees(rec) || !g.rule(typ, opCreate).permits(rec) {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow this resource")
		return
	}
	s.store.mu.Lock()
	for s.store.getLocked(typ, rec.id) != nil { // a clash of random ids: draw again
		if rec, err = rec.restamp(s.newID(), rec.version); err != nil {
			break
		}
	}
	if err == nil {
		s.store.putLocked(rec)
	}
	s.store.mu.Unlock()
	if err != nil {
		fhir.WriteOutcome(w, http.StatusInternalServerError, fhir.SeverityError, "exception", err.Error())
		return
	}
	s.written(w, r, rec, http.StatusCreated)
}

// existing answers a conditional create whose condition matches: 200 with
// the one match, 412 when several match. It reports whether it answered.
func (s *Server) existing(w http.ResponseWriter, r *http.Request, typ, cond string, g *grant) bool {
	params, err := url.ParseQuery(strings.TrimPrefix(cond, typ+"?"))
	if err != nil {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "If-None-Exist is not a query: "+err.Error())
		return true
	}
	q, err := parseFilter(typ, params)
	if err != nil {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "If-None-Exist: "+err.Error())
		return true
	}
	matches := s.find(q, g.patient, g.rule(typ, opSearch))
	switch len(matches) {
	case 0:
		return false
	case 1:
		s.written(w, r, matches[0], http.StatusOK)
	default:
		fhir.WriteOutcome(w, http.StatusPreconditionFailed, fhir.SeverityError, "duplicate",
			fmt.Sprintf("If-None-Exist matches %d resources", len(matches)))
	}
	return true
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, typ, id string, g *grant) {
	if !g.rule(typ, opUpdate).allowed {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow updating "+typ)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	h, ok := checkBody(w, body, typ)
	if !ok {
		return
	}
	if h.ID != id {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid",
			fmt.Sprintf("the body's id %q is not the id %q of the URL", h.ID, id))
		return
	}
	rec, err := buildRecord(body, id, stamp{version: 1, lastUpdated: s.now()})
	if err != nil {
		fhir.WriteOutcome(w, http.StatusUnprocessableEntity, fhir.SeverityError, "structure", err.Error())
		return
	}
	if !g.sees(rec) || !g.rule(typ, opUpdate).permits(rec) {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow this resource")
		return
	}
	ifMatch := r.Header.Get("If-Match")

	s.store.mu.Lock()
	old := s.store.getLocked(typ, id)
	status, problem := http.StatusCreated, ""
	switch {
	case ifMatch != "" && (old == nil || !etagListed(ifMatch, old.version)):
		status, problem = http.StatusPreconditionFailed, "If-Match does not name the current version"
	case old != nil && (!g.sees(old) || !g.rule(typ, opUpdate).permits(old)):
		status, problem = http.StatusForbidden, "the token does not allow updating "+typ+"/"+id
	case old != nil:
		status = http.StatusOK
		rec, err = rec.restamp(id, old.version+1)
		if err != nil {
			status, problem = http.StatusInternalServerError, err.Error()
		}
	}
	if problem == "" {
		s.store.putLocked(rec)
	}
	s.store.mu.Unlock()

	if problem != "" {
		code := map[int]string{http.StatusPreconditionFailed: "conflict", http.StatusForbidden: "forbidden"}[status]
		fhir.WriteOutcome(w, status, fhir.SeverityError, cmp.Or(code, "exception"), problem)
		return
	}
	s.written(w, r, rec, status)
}

// written answers a create or update with the stored version.
func (s *Server) written(w http.ResponseWriter, r *http.Request, rec *record, status int) {
	setVersionHeaders(w, rec)
	w.Header().Set("Location", BaseURL(r)+"/"+rec.ref()+"/_history/"+strconv.Itoa(rec.version))
	if slices.ContainsFunc(r.Header.Values("Prefer"), func(v string) bool { return strings.Contains(v, "return=minimal") }) {
		w.WriteHeader(status)
		return
	}
	writeFHIR(w, status, rec.raw)
}

// everything answers Patient/{id}/$everything: the patient and every
// resource in their compartment, paged like a search.
func (s *Server) everything(w http.ResponseWriter, r *http.Request, id string, g *grant) {
	if !s.platform.Everything {
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-supported", "this server does not support Patient/$everything")
		return
	}
	if g.patient != "" && g.patient != id {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "the token does not allow another patient's records")
		return
	}
	query := r.URL.Query()
	count := -1
	var types []string
	for key, values := range query {
		switch {
		case key == "_count":
			n, err := strconv.Atoi(values[0])
			if err != nil || n < 0 {
				fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "_count is not a whole number")
				return
			}
			count = n
		case key == "_type":
			for _, v := range values {
				types = append(types, strings.Split(v, ",")...)
			}
		case !ignoredResultParams[key]:
			fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "$everything does not support "+key)
			return
		}
	}
	var matches []*record
	s.store.mu.RLock()
	if s.store.getLocked("Patient", id) == nil {
		s.store.mu.RUnlock()
		fhir.WriteOutcome(w, http.StatusNotFound, fhir.SeverityError, "not-found", "Patient/"+id+" is not known")
		return
	}
	for typ, ts := range s.store.types {
		if len(types) > 0 && typ != "Patient" && !slices.Contains(types, typ) {
			continue
		}
		rule := g.rule(typ, opSearch)
		for _, rec := range ts.byPatient[id] {
			if rule.permits(rec) {
				matches = append(matches, rec)
			}
		}
	}
	s.store.mu.RUnlock()
	slices.SortFunc(matches, func(a, b *record) int {
		if pa, pb := a.typ == "Patient", b.typ == "Patient"; pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		return bySeq(a, b)
	})
	set := &resultSet{
		matches: matches,
		patient: g.patient,
		self:    BaseURL(r) + "/Patient/" + id + "/$everything" + queryString(query),
	}
	s.respond(w, r, set, count, false, g)
}
