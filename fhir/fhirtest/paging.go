package fhirtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

const (
	// defaultPageSize is the page size when neither the request nor the platform names one.
	defaultPageSize = 50
	// maxPageSize caps _count on platforms without a cap of their own.
	maxPageSize = 1000
	// snapshotTTL is how long the next pages of a search stay available.
	snapshotTTL = 10 * time.Minute
	// maxSnapshots bounds the searches kept for paging; the oldest go first.
	maxSnapshots = 1000

	pageTokenParam  = "_getpages"
	pageOffsetParam = "_getpagesoffset"
)

// resultSet is the outcome of one search, kept under a token so that paging
// through it lists every match exactly once even while resources change.
type resultSet struct {
	matches []*record
	query   *searchQuery // for _include and _revinclude; nil for $everything
	patient string       // the patient the searching grant was limited to
	self    string       // the self link of the first page
	expires time.Time
}

// pageCache holds result sets until they expire.
type pageCache struct {
	mu    sync.Mutex
	max   int
	sets  map[string]*resultSet
	order []string // tokens, oldest first
}

func newPageCache(max int) *pageCache {
	return &pageCache{max: max, sets: make(map[string]*resultSet)}
}

func (c *pageCache) put(token string, set *resultSet, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.order) > 0 {
		oldest := c.sets[c.order[0]]
		if oldest != nil && len(c.sets) < c.max && now.Before(oldest.expires) {
			break
		}
		delete(c.sets, c.order[0])
		c.order = c.order[1:]
	}
	c.sets[token] = set
	c.order = append(c.order, token)
}

// get returns the set under token unless it is unknown or expired.
func (c *pageCache) get(token string, now time.Time) (*resultSet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set, ok := c.sets[token]
	if !ok || !now.Before(set.expires) {
		return nil, false
	}
	return set, true
}

// pageSize returns the page size for a requested _count (-1 = none given).
func (s *Server) pageSize(requested int) int {
	n := s.platform.PageSize(max(requested, 0))
	switch {
	case n <= 0:
		n = defaultPageSize
	case s.platform.Search.MaxCount == 0 && n > maxPageSize:
		n = maxPageSize
	}
	return n
}

// respond writes the first page of a result set, keeping the set for the
// pages after it.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, set *resultSet, count int, countOnly bool, g *grant) {
	if countOnly || count == 0 {
		s.writePage(w, r, set, "", 0, 0, g)
		return
	}
	size := s.pageSize(count)
	token := ""
	if len(set.matches) > size {
		now := s.now()
		set.expires = now.Add(snapshotTTL)
		token = s.randomHex(16)
		s.pages.put(token, set, now)
	}
	s.writePage(w, r, set, token, 0, size, g)
}

// servePage answers a request for a later page of a kept result set.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, g *grant) {
	q := r.URL.Query()
	set, ok := s.pages.get(q.Get(pageTokenParam), s.now())
	if !ok {
		fhir.WriteOutcome(w, http.StatusGone, fhir.SeverityError, "not-found", "this search has expired or never existed; search again")
		return
	}
	if g.patient != "" && g.patient != set.patient {
		fhir.WriteOutcome(w, http.StatusForbidden, fhir.SeverityError, "forbidden", "this search belongs to another patient")
		return
	}
	offset, err := strconv.Atoi(q.Get(pageOffsetParam))
	if err != nil || offset < 0 || offset > len(set.matches) {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "the page offset is out of range")
		return
	}
	count, err := strconv.Atoi(q.Get("_count"))
	if err != nil || count < 1 {
		fhir.WriteOutcome(w, http.StatusBadRequest, fhir.SeverityError, "invalid", "the page _count must be a positive number")
		return
	}
	s.writePage(w, r, set, q.Get(pageTokenParam), offset, s.pageSize(count), g)
}

// writePage writes matches[offset:offset+size] of a set as a searchset.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, set *resultSet, token string, offset, size int, g *grant) {
	base := BaseURL(r)
	total := len(set.matches)
	end := min(offset+size, total)
	page := set.matches[offset:end]

	pageURL := func(from int) string {
		return base + "?" + url.Values{
			pageTokenParam:  {token},
			pageOffsetParam: {strconv.Itoa(from)},
			"_count":        {strconv.Itoa(size)},
		}.Encode()
	}
	links := []fhir.BundleLink{{Relation: fhir.RelSelf, URL: set.self}}
	if offset > 0 {
		links[0].URL = pageURL(offset)
	}
	if token != "" && end < total {
		links = append(links, fhir.BundleLink{Relation: fhir.RelNext, URL: pageURL(end)})
	}
	if token != "" && offset > 0 {
		links = append(links, fhir.BundleLink{Relation: s.previousRelation(), URL: pageURL(max(offset-size, 0))})
	}

	included := s.includes(set.query, page, g)
	bytesNeeded := 1024 + len(outcomeWarning)
	for _, recs := range [][]*record{page, included} {
		for _, rec := range recs {
			bytesNeeded += len(rec.raw) + len(base) + 128
		}
	}
	b := newBundleWriter(bytesNeeded, s.randomHex(16), formatInstant(s.now()), total, links)
	for _, rec := range page {
		b.entry(base+"/"+rec.ref(), rec.raw, "match")
	}
	for _, rec := range included {
		b.entry(base+"/"+rec.ref(), rec.raw, "include")
	}
	if s.platform.Search.OutcomeWarnings {
		b.entry("urn:uuid:"+s.uuid(), outcomeWarning, "outcome")
	}
	writeFHIR(w, http.StatusOK, b.finish())
}

// outcomeWarning is the OperationOutcome Epic-like platforms put in searchsets.
var outcomeWarning = fhir.NewOutcome(fhir.SeverityWarning, "informational",
	"Some information may not have been returned due to business rules, data availability, or configuration.")

func (s *Server) previousRelation() string {
	if s.platform.PreviousRelation != "" {
		return s.platform.PreviousRelation
	}
	return fhir.RelPrevious
}

// uuid returns a random version 4 UUID.
func (s *Server) uuid() string {
	h := []byte(s.randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return string(h[0:8]) + "-" + string(h[8:12]) + "-" + string(h[12:16]) + "-" + string(h[16:20]) + "-" + string(h[20:32])
}

// includes returns the resources that the query's _include and _revinclude
// add to a page, each once and none that is already a match. Forward
// includes must be readable by the grant; reverse includes (Provenance…)
// belong with the matches they point at, so only scopes limit them.
func (s *Server) includes(q *searchQuery, page []*record, g *grant) []*record {
	if q == nil || len(q.include)+len(q.revinc) == 0 || len(page) == 0 {
		return nil
	}
	seen := make(map[*record]bool, len(page))
	targets := make(map[refValue]bool, len(page))
	for _, rec := range page {
		seen[rec] = true
		targets[refValue{rec.typ, rec.id}] = true
	}
	rules := map[string]typeRule{}
	readable := func(rec *record) bool {
		rule, ok := rules[rec.typ]
		if !ok {
			rule = g.rule(rec.typ, opRead)
			if !rule.allowed {
				rule = g.rule(rec.typ, opSearch)
			}
			rules[rec.typ] = rule
		}
		return rule.permits(rec)
	}
	var out []*record
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	for _, spec := range q.include {
		for _, rec := range page {
			for _, ref := range rec.values[spec.param.name].refsOrNil() {
				if spec.target != "" && ref.typ != spec.target {
					continue
				}
				inc := s.store.getLocked(ref.typ, ref.id)
				if inc != nil && !seen[inc] && g.sees(inc) && readable(inc) {
					seen[inc] = true
					out = append(out, inc)
				}
			}
		}
	}
	for _, spec := range q.revinc {
		ts := s.store.types[spec.source]
		if ts == nil {
			continue
		}
		var found []*record
		for _, rec := range ts.byID {
			if seen[rec] || !slices.ContainsFunc(rec.values[spec.param.name].refsOrNil(), func(r refValue) bool { return targets[r] }) {
				continue
			}
			if readable(rec) {
				seen[rec] = true
				found = append(found, rec)
			}
		}
		slices.SortFunc(found, bySeq)
		out = append(out, found...)
	}
	return out
}

func (v *paramValues) refsOrNil() []refValue {
	if v == nil {
		return nil
	}
	return v.refs
}

func writeFHIR(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", fhir.ContentType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing else to do
}
