package records

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/store"
)

// Source is an org's FHIR endpoint as the record service uses it; *adapters.Adapter is one.
type Source interface {
	// Search runs a search and follows every page; on error it returns no partial result.
	Search(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error)
}

// Defaults for the Options left at zero.
const (
	DefaultCacheTTL = 5 * time.Minute
	DefaultDeadline = 10 * time.Second
)

// Options configure a Service.
type Options struct {
	// Sources finds the endpoint of an org. Required.
	Sources func(org string) (Source, bool)
	// Orgs lists every org records may come from, most trusted first: when two orgs report
	// one fact, updated at the same time, the first one's copy is kept. Required.
	Orgs []fhir.SourceOrg
	// Cache holds upstream answers; nil turns caching off.
	Cache store.KV
	// CacheKeys are the AES-256 keys (32 bytes each) of the cache's contents: the first
	// encrypts, every one decrypts. To rotate, put a new key first and drop the old one once
	// CacheTTL has passed. Required with Cache.
	CacheKeys [][]byte
	// CacheTTL is how long an upstream answer is served from the cache; DefaultCacheTTL when 0.
	CacheTTL time.Duration
	// Deadline bounds a whole search, every org included; DefaultDeadline when 0.
	Deadline time.Duration
	// Now is the clock of cache expiry; time.Now when nil.
	Now func() time.Time
	// Logger receives cache failures, which only slow searches down (no clinical data is
	// logged); nothing is logged when nil.
	Logger *slog.Logger
}

// Service reads a person's records across orgs. It is safe for concurrent use.
type Service struct {
	sources  func(string) (Source, bool)
	orgs     []fhir.SourceOrg
	orgIndex map[string]int
	cache    *cache // nil when caching is off
	deadline time.Duration
	log      *slog.Logger
	flights  singleflight.Group
}

// NewService checks the options and returns a Service.
func NewService(opts Options) (*Service, error) {
	if opts.Sources == nil {
		return nil, errors.New("records: Options.Sources is required")
	}
	if len(opts.Orgs) == 0 {
		return nil, errors.New("records: Options.Orgs is empty")
	}
	orgIndex := make(map[string]int, len(opts.Orgs))
	for i, o := range opts.Orgs {
		// Org ids go into cache keys between slashes: a FHIR id has none.
		if !fhir.ValidID(o.ID) {
			return nil, fmt.Errorf("records: org id %q is not a FHIR id", o.ID)
		}
		orgIndex[o.ID] = i
	}
	// Merging nothing checks the orgs as every search will use them.
	if _, err := fhir.Merge(nil, fhir.MergeOptions{Orgs: opts.Orgs}); err != nil {
		return nil, fmt.Errorf("records: Options.Orgs: %w", err)
	}
	if opts.Deadline < 0 || opts.CacheTTL < 0 {
		return nil, errors.New("records: Options.Deadline and Options.CacheTTL cannot be negative")
	}
	s := &Service{
		sources:  opts.Sources,
		orgs:     slices.Clone(opts.Orgs),
		orgIndex: orgIndex,
		deadline: cmp.Or(opts.Deadline, DefaultDeadline),
		log:      opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Cache != nil {
		sealer, err := newSealer(opts.CacheKeys)
		if err != nil {
			return nil, err
		}
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		s.cache = newCache(opts.Cache, sealer, cmp.Or(opts.CacheTTL, DefaultCacheTTL), s.deadline, now, s.log)
	}
	return s, nil
}

// Close waits for the cache writes under way. Call it when shutting down, after the last
// search.
func (s *Service) Close() {
	if s.cache != nil {
		s.cache.writes.Wait()
	}
}

// Query is one search of a person's records.
type Query struct {
	// Decision is the access decision for this search: its records are searched, its
	// AddParams narrow every upstream search and its PostProcess filters what comes back.
	Decision access.Decision
	// Person is the person the decision's records belong to.
	Person string
	// Type is the resource type searched, such as "Observation".
	Type string
	// Params are the search parameters, without patient or subject: the service adds
	// each record's patient itself.
	Params url.Values
}

// Result is a person's records as the decision lets the actor see them.
type Result struct {
	// Entries are the matches, merged across orgs, tagged with their sources and
	// post-processed, by type then id.
	Entries []fhir.Merged
	// Includes are the resources _include and _revinclude brought in, treated alike.
	Includes []fhir.Merged
	// Outcomes name the orgs whose records are missing in part or in whole, in the order of
	// the decision's records.
	Outcomes []OrgOutcome
}

// Errors of Search.
var (
	// ErrNotAllowed: the decision does not allow the search.
	ErrNotAllowed = errors.New("records: not allowed")
	// ErrInvalidQuery: the query is one no caller should build.
	ErrInvalidQuery = errors.New("records: invalid query")
)

// Search reads the records of the query's decision at every org at once and merges them. An
// org that fails or runs out of time adds an OrgOutcome; Search itself fails only for a
// query it cannot run, a decision that does not allow it, or a caller that gave up.
func (s *Service) Search(ctx context.Context, q Query) (*Result, error) {
	if err := s.check(q); err != nil {
		return nil, err
	}
	fanOut, cancel := context.WithTimeout(ctx, s.deadline)
	defer cancel()

	records := q.Decision.Records
	answers := make([]answer, len(records))
	var wg sync.WaitGroup
	for i, rec := range records {
		wg.Go(func() { answers[i] = s.searchRecord(fanOut, q, rec) })
	}
	wg.Wait()
	if err := ctx.Err(); errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("records: search %s: %w", q.Type, err)
	}

	var (
		res      Result
		matches  []fhir.Sourced
		includes []fhir.Sourced
		patients []fhir.PatientRecord
		failures = outcomeList{names: s.orgName}
	)
	for i, a := range answers {
		org := records[i].Org
		if a.err != nil {
			failures.add(org, classify(a.err))
			continue
		}
		if a.found.incomplete {
			failures.addPartial(org, CodeRefused)
		}
		patients = append(patients, fhir.PatientRecord{Org: org, Patient: records[i].Patient, Person: q.Person})
		for _, r := range a.found.matches {
			matches = append(matches, fhir.Sourced{Org: org, Resource: r})
		}
		for _, r := range a.found.includes {
			includes = append(includes, fhir.Sourced{Org: org, Resource: r})
		}
	}
	opts := fhir.MergeOptions{Orgs: s.orgs, Patients: patients}
	var err error
	if res.Entries, err = s.merge(matches, opts, &failures); err != nil {
		return nil, fmt.Errorf("records: search %s: %w", q.Type, err)
	}
	if res.Includes, err = s.merge(includes, opts, &failures); err != nil {
		return nil, fmt.Errorf("records: search %s: %w", q.Type, err)
	}
	res.Entries = postProcess(q.Decision, res.Entries, &failures)
	res.Includes = postProcess(q.Decision, res.Includes, &failures)
	res.Outcomes = failures.sorted(records)
	return &res, nil
}

// reservedParams name whose records are searched: the service sets them, never the caller.
var reservedParams = []string{"patient", "subject"}

func (s *Service) check(q Query) error {
	switch {
	case !q.Decision.Allowed:
		return fmt.Errorf("%w: %s", ErrNotAllowed, q.Decision.Reason)
	case !isTypeName(q.Type):
		return fmt.Errorf("%w: %q is not a resource type", ErrInvalidQuery, q.Type)
	case !q.Decision.Permits(q.Type):
		return fmt.Errorf("%w: the decision does not cover %s", ErrNotAllowed, q.Type)
	case q.Person == "":
		return fmt.Errorf("%w: no person", ErrInvalidQuery)
	}
	for key := range q.Params {
		name, _ := fhir.ParamName(key)
		name, _, _ = strings.Cut(name, ".") // a chain, such as subject.name
		if slices.Contains(reservedParams, name) || (q.Type == "Patient" && name == "_id") {
			return fmt.Errorf("%w: parameter %s is set by the record service", ErrInvalidQuery, name)
		}
	}
	for _, rec := range q.Decision.Records {
		if rec.Patient == "" {
			return fmt.Errorf("%w: a record at org %q has no patient id", ErrInvalidQuery, rec.Org)
		}
	}
	return nil
}

// isTypeName reports whether s can be a resource type name: a capital letter, then letters.
func isTypeName(s string) bool {
	if len(s) == 0 || len(s) > fhir.MaxIDLen || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// answer is what one record's search came to.
type answer struct {
	found *found
	err   error
}

// found is an org's answer to one search, as it came: shared by every caller of a flight
// and by cached reads, so it is never modified.
type found struct {
	matches  []json.RawMessage
	includes []json.RawMessage
	// incomplete says the org reported leaving part of the answer out.
	incomplete bool
}

// errNotConnected reports a record at an org the service has no endpoint for.
var errNotConnected = errors.New("records: no endpoint for the org")

// searchRecord searches one record, from the cache when it can. Concurrent identical
// searches share one flight; the flight runs on its own deadline, so that a caller leaving
// does not fail the others, and each caller waits only as long as its own deadline.
func (s *Service) searchRecord(ctx context.Context, q Query, rec access.Record) answer {
	src, ok := s.sources(rec.Org)
	if _, known := s.orgIndex[rec.Org]; !ok || !known {
		return answer{err: fmt.Errorf("%w: %s", errNotConnected, rec.Org)}
	}
	params := upstreamQuery(q, rec.Patient)
	key := entryKey(rec.Org, rec.Patient, q.Type, params)
	flight := s.flights.DoChan(key, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.deadline)
		defer cancel()
		return s.lookup(ctx, key, rec, func(ctx context.Context) (*fhir.SearchResult, error) {
			return src.Search(ctx, q.Type, params)
		})
	})
	select {
	case r := <-flight:
		if r.Err != nil {
			return answer{err: r.Err}
		}
		return answer{found: r.Val.(*found)}
	case <-ctx.Done():
		return answer{err: fmt.Errorf("records: %s: %w", rec.Org, ctx.Err())}
	}
}

// upstreamQuery is the query sent for one record: the caller's parameters, the record's
// patient, and the decision's AddParams ANDed in (a repeated parameter is an AND).
func upstreamQuery(q Query, patient string) url.Values {
	params := make(url.Values, len(q.Params)+len(q.Decision.AddParams)+1)
	for k, vs := range q.Params {
		params[k] = slices.Clone(vs)
	}
	for k, vs := range q.Decision.AddParams {
		params[k] = append(params[k], vs...)
	}
	if q.Type == "Patient" {
		params.Set("_id", patient)
	} else {
		params.Set("patient", patient)
	}
	return params
}

// lookup answers from the cache, or else searches upstream.
func (s *Service) lookup(ctx context.Context, key string, rec access.Record, search func(context.Context) (*fhir.SearchResult, error)) (*found, error) {
	if s.cache == nil {
		return fetch(ctx, rec.Org, search)
	}
	return s.cache.lookup(ctx, key, rec, search)
}

func fetch(ctx context.Context, org string, search func(context.Context) (*fhir.SearchResult, error)) (*found, error) {
	res, err := search(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: %s: %w", org, err)
	}
	f := &found{matches: make([]json.RawMessage, len(res.Matches)), includes: make([]json.RawMessage, len(res.Includes))}
	for i, e := range res.Matches {
		f.matches[i] = e.Resource
	}
	for i, e := range res.Includes {
		f.includes[i] = e.Resource
	}
	f.incomplete = slices.ContainsFunc(res.Outcomes, leftSomethingOut)
	return f, nil
}

// leftSomethingOut reports an outcome inside a searchset that says part of the answer is
// missing, such as the adapter's note that the server refused one search of a fan-out,
// rather than a notice such as those Epic adds to every searchset.
func leftSomethingOut(o fhir.OperationOutcome) bool {
	return slices.ContainsFunc(o.Issue, func(i fhir.OutcomeIssue) bool {
		return i.Code == "incomplete" || i.Severity == fhir.SeverityError || i.Severity == fhir.SeverityFatal
	})
}

// merge merges resources across orgs. When some cannot be merged (fhir.Merge reads every
// one and refuses what is not a resource), the orgs that sent them are left out with a
// malformed outcome and the rest merged: one org's bad answer never hides the others.
func (s *Service) merge(in []fhir.Sourced, opts fhir.MergeOptions, failures *outcomeList) ([]fhir.Merged, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out, err := fhir.Merge(in, opts)
	if err == nil || !errors.Is(err, fhir.ErrCannotMerge) {
		return out, err
	}
	var kept []fhir.Sourced
	for _, part := range byOrg(in) {
		if _, err := fhir.Merge(part, opts); err != nil {
			failures.add(part[0].Org, CodeMalformed)
			continue
		}
		kept = append(kept, part...)
	}
	if len(kept) == 0 {
		return nil, nil
	}
	return fhir.Merge(kept, opts)
}

// byOrg splits resources by org, keeping their order.
func byOrg(in []fhir.Sourced) [][]fhir.Sourced {
	var parts [][]fhir.Sourced
	index := map[string]int{}
	for _, r := range in {
		i, ok := index[r.Org]
		if !ok {
			i = len(parts)
			index[r.Org] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], r)
	}
	return parts
}

// postProcess runs every entry through the decision's filters, on every CPU, dropping those
// the actor may not see. An entry the filters cannot read is left out and its org named, as
// the decision requires.
func postProcess(d access.Decision, entries []fhir.Merged, failures *outcomeList) []fhir.Merged {
	unreadable := make([]bool, len(entries))
	inParallel(len(entries), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out, err := d.PostProcess(entries[i].Resource)
			entries[i].Resource, unreadable[i] = out, err != nil
		}
	})
	kept := entries[:0]
	for i, e := range entries {
		switch {
		case unreadable[i]:
			failures.addPartial(e.Sources[0].Org, CodeMalformed)
		case e.Resource != nil:
			kept = append(kept, e)
		}
	}
	return kept
}

// inParallel calls work on parts of [0, n), one per CPU; inputs too small to be worth a
// goroutine stay in one part.
func inParallel(n int, work func(lo, hi int)) {
	const minPart = 32
	parts := min(runtime.GOMAXPROCS(0), n/minPart)
	if parts <= 1 {
		work(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() { work(k*n/parts, (k+1)*n/parts) })
	}
	wg.Wait()
}

// orgName returns the name a patient knows an org by, "" when the options give none.
func (s *Service) orgName(org string) string {
	if i, ok := s.orgIndex[org]; ok {
		return s.orgs[i].Name
	}
	return ""
}
