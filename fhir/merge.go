package fhir

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// SourceOrgTagSystem is the system of the meta.tag naming an org that
// reported a resource; the tag's code is the org id.
const SourceOrgTagSystem = "urn:portalgate:source-org"

// ErrCannotMerge is wrapped by every Merge error about its input.
var ErrCannotMerge = errors.New("fhir: cannot merge")

// Sourced is a resource as one org returned it.
type Sourced struct {
	Org string
	// Resource must be valid JSON, as ParseBundle and Client deliver it:
	// Merge reads only what it needs and passes the rest on unchecked.
	Resource json.RawMessage
}

// SourceOrg is an org that resources come from.
type SourceOrg struct {
	ID   string // the code of the org's tag
	Name string // the display of the org's tag; optional
	// Source is the URI written to meta.source of what the org reported,
	// such as its FHIR base URL.
	Source string
}

// PatientRecord says that the Patient with id Patient at Org is Person.
type PatientRecord struct {
	Org     string
	Patient string
	Person  string
}

// MergeOptions says where resources come from and who they are about.
type MergeOptions struct {
	// Orgs lists every org the resources come from, most trusted first:
	// when two copies were updated at the same time, the first org's is
	// kept.
	Orgs []SourceOrg
	// Patients maps each org's Patient records to people. Only resources
	// about a listed patient are merged, and only with those about the
	// same person.
	Patients []PatientRecord
}

// Merged is one entry of a merged record.
type Merged struct {
	Type string
	// Resource is the copy kept, tagged. The resources of one result share
	// large buffers, so that keeping one keeps some of its neighbours.
	Resource json.RawMessage
	// Sources lists every copy, the kept one first and the others in the
	// order of MergeOptions.Orgs.
	Sources []Copy
}

// Copy names the copy of a resource an org holds.
type Copy struct {
	Org string
	ID  string
}

// Merge turns the resources that several orgs returned for a person into
// one list in which the same clinical fact reported by two orgs is one
// entry, and tags every entry with the orgs that reported it.
//
// Two resources are the same fact when they are of the same type, come
// from different orgs, are about the same person (their subject or patient
// names a Patient that MergeOptions.Patients maps to that person), and
// either share an identifier (the same system and value) or have the same
// clinical key: the elements below, all present and equal.
//
//	Immunization         vaccineCode, occurrenceDateTime (day), status
//	MedicationRequest    medicationCodeableConcept, authoredOn (day), status
//	MedicationStatement  medicationCodeableConcept, effectiveDateTime or
//	                     effectivePeriod.start (day), status
//	AllergyIntolerance   code, clinicalStatus
//	Condition            code, onsetDateTime or onsetPeriod.start (day), and
//	                     every category (none on both counts as equal)
//	Observation          code, effectiveDateTime, effectiveInstant or
//	                     effectivePeriod.start (minute), and value[x] and
//	                     components (their codes and values), at least one
//	DiagnosticReport     code, effectiveDateTime or effectivePeriod.start
//	                     (minute), issued (minute)
//	Procedure            code, performedDateTime or performedPeriod.start (day)
//
// A code is compared by one coding: the first of the type's preferred
// systems it has (CVX for vaccines, RxNorm for medications, LOINC then
// SNOMED CT for results, SNOMED CT then ICD-10 for conditions, SNOMED CT
// then CPT for procedures, SNOMED CT then RxNorm for allergies), or else its
// smallest system|code. A quantity is compared by its numeric value,
// comparator and unit (UCUM code, else unit text), a coded value by one
// coding (or its text), a string by its text, any other value by its JSON
// as written. Times with a zone are compared in UTC; a day may be written
// as a date.
//
// Never merged: two resources of one org (an org's own duplicates are its
// own), Patients, Encounters and resources of other types without a shared
// identifier, resources missing an element of their key, resources about
// nobody or about a patient that Patients does not list, and anything
// entered-in-error. Copies of one resource (same org, type and id, as
// overlapping searches return them) become one, the most recently updated.
// When an org reports one fact more than once, its copies pair with the
// other orgs' copies one to one.
//
// The copy kept is the most recently updated (meta.lastUpdated), ties going
// to the org listed first in MergeOptions.Orgs. It is passed on byte for
// byte except for its meta, edited as EditMeta edits: meta.source becomes
// its org's source URI, meta.tag gains one tag per org that reported it
// (SourceOrgTagSystem, the org id as code, in the order of Orgs) after
// losing any tag of that system it came with, and meta.security gains the
// labels of the other copies, so that merging never lowers a fact's
// confidentiality. The other copies' ids are in Merged.Sources only: the
// resource stays the org's own, valid R4.
//
// The result does not depend on the order of in: entries come by resource
// type, then id, then org of the copy kept. Merge reads each resource once,
// in time and memory linear in the input, on every CPU. Ids are the orgs'
// own, so two entries share Type/id when two orgs use the same id for
// different things, and references to a copy not kept still name it:
// callers that serve the result as one server rewrite ids and references,
// using Sources.
func Merge(in []Sourced, opts MergeOptions) ([]Merged, error) {
	m, err := newMerger(opts)
	if err != nil {
		return nil, err
	}
	// One pass over every resource reads its keys and tags a copy of it as
	// if its org alone reported it, which is what most entries turn out to
	// be; the few merged ones are tagged again below.
	items := make([]mergeItem, len(in))
	var (
		mu      sync.Mutex
		readers []*mergeReader
	)
	err = inParallel(len(in), func(lo, hi int) error {
		r := newMergeReader(m)
		mu.Lock()
		readers = append(readers, r)
		mu.Unlock()
		for i := lo; i < hi; i++ {
			if err := r.read(in[i], &items[i]); err != nil {
				return fmt.Errorf("%w: resource %d from org %q: %w", ErrCannotMerge, i, in[i].Org, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rankTypes(items, readers)
	nodes := distinctCopies(in, items)
	sets := m.match(items, nodes)
	out, merged := m.entries(in, items, nodes, sets)
	err = inParallel(len(merged), func(lo, hi int) error {
		for _, e := range merged[lo:hi] {
			if err := m.retag(in, items, &out[e.entry], e.copies); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// merger holds the options, checked and indexed.
type merger struct {
	orgs     []mergeOrg
	orgIndex map[string]int32
	// patients maps, per org index, a Patient id to 1 + the person's index.
	patients []map[string]int32
	// orgWords is the size in words of a set of orgs.
	orgWords int
}

type mergeOrg struct {
	id     string
	source json.RawMessage // the meta.source value
	tag    json.RawMessage // the meta.tag element
	alone  []int32         // the org alone, as a list of orgs
	// sourceAndTag are the members of meta that name the org alone.
	sourceAndTag []byte
}

func newMerger(opts MergeOptions) (*merger, error) {
	if len(opts.Orgs) == 0 {
		return nil, fmt.Errorf("%w: no orgs", ErrCannotMerge)
	}
	m := &merger{
		orgs:     make([]mergeOrg, len(opts.Orgs)),
		orgIndex: make(map[string]int32, len(opts.Orgs)),
		patients: make([]map[string]int32, len(opts.Orgs)),
		orgWords: (len(opts.Orgs) + 63) / 64,
	}
	for k, o := range opts.Orgs {
		switch {
		case o.ID == "" || strings.TrimSpace(o.ID) != o.ID:
			return nil, fmt.Errorf("%w: org id %q is not a code", ErrCannotMerge, o.ID)
		case o.Source == "" || strings.ContainsAny(o.Source, " \t\r\n"):
			return nil, fmt.Errorf("%w: org %q: source %q is not a URI", ErrCannotMerge, o.ID, o.Source)
		}
		if _, dup := m.orgIndex[o.ID]; dup {
			return nil, fmt.Errorf("%w: org %q is listed twice", ErrCannotMerge, o.ID)
		}
		tag, err := json.Marshal(Coding{System: SourceOrgTagSystem, Code: o.ID, Display: o.Name})
		if err != nil {
			return nil, fmt.Errorf("%w: org %q: %w", ErrCannotMerge, o.ID, err)
		}
		m.orgIndex[o.ID] = int32(k)
		source := appendQuoted(nil, o.Source)
		m.orgs[k] = mergeOrg{
			id: o.ID, source: source, tag: tag, alone: []int32{int32(k)},
			sourceAndTag: fmt.Appendf(nil, `"source":%s,"tag":[%s]`, source, tag),
		}
		m.patients[k] = map[string]int32{}
	}
	people := map[string]int32{}
	for _, p := range opts.Patients {
		org, ok := m.orgIndex[p.Org]
		if !ok {
			return nil, fmt.Errorf("%w: patient %q is at org %q, which Orgs does not list", ErrCannotMerge, p.Patient, p.Org)
		}
		if p.Patient == "" || p.Person == "" {
			return nil, fmt.Errorf("%w: a patient record at org %q lacks its patient id or person", ErrCannotMerge, p.Org)
		}
		person, ok := people[p.Person]
		if !ok {
			person = int32(len(people)) + 1
			people[p.Person] = person
		}
		if was, dup := m.patients[org][p.Patient]; dup && was != person {
			return nil, fmt.Errorf("%w: patient %q at org %q is given to two people", ErrCannotMerge, p.Patient, p.Org)
		}
		m.patients[org][p.Patient] = person
	}
	return m, nil
}

// rankTypes sets every item's typRank, so that sorting compares types as
// numbers.
func rankTypes(items []mergeItem, readers []*mergeReader) {
	rank := map[string]int32{}
	for _, r := range readers {
		for name := range r.types {
			rank[name] = 0
		}
	}
	for k, name := range slices.Sorted(maps.Keys(rank)) {
		rank[name] = int32(k)
	}
	for i := range items {
		items[i].typRank = rank[items[i].typ]
	}
}

// node is one org's copy of a resource, once exact copies are dropped: what
// matching and laying out the result work on, kept small so that sorting
// rarely has to look at the items.
type node struct {
	typRank, org int32
	idHead       idHead
	item         int32 // index in the input
}

// distinctCopies returns the nodes in the order of the result (by type, id,
// org), without the copies of one org's resource: of those it keeps the
// most recently updated.
func distinctCopies(in []Sourced, items []mergeItem) []node {
	nodes := make([]node, len(items))
	for i := range items {
		nodes[i] = node{typRank: items[i].typRank, org: items[i].org, idHead: items[i].idHead, item: int32(i)}
	}
	slices.SortFunc(nodes, func(a, b node) int {
		if c := cmp.Or(cmp.Compare(a.typRank, b.typRank), cmp.Compare(a.idHead[0], b.idHead[0]), cmp.Compare(a.idHead[1], b.idHead[1])); c != 0 {
			return c
		}
		x, y := &items[a.item], &items[b.item]
		if c := cmp.Or(strings.Compare(x.id, y.id), cmp.Compare(a.org, b.org)); c != 0 {
			return c
		}
		// Copies of one resource: the newest first, then any fixed order.
		if c := compareUpdated(y.updated, x.updated); c != 0 {
			return c
		}
		return bytes.Compare(in[a.item].Resource, in[b.item].Resource)
	})
	distinct := nodes[:0]
	for _, n := range nodes {
		if len(distinct) > 0 {
			prev := distinct[len(distinct)-1]
			if n.typRank == prev.typRank && n.org == prev.org && n.idHead == prev.idHead {
				if id := items[n.item].id; id != "" && id == items[prev.item].id {
					continue
				}
			}
		}
		distinct = append(distinct, n)
	}
	return distinct
}

// compareUpdated compares two meta.lastUpdated values by the instant they
// name; a missing or unreadable one is older than any other.
func compareUpdated(a, b []byte) int {
	ta, okA := parseInstant(a)
	tb, okB := parseInstant(b)
	switch {
	case okA && okB:
		return ta.Compare(tb)
	case okA:
		return 1
	case okB:
		return -1
	}
	return 0
}

// match unites the nodes that are the same fact: by identifier, then by
// clinical key.
func (m *merger) match(items []mergeItem, nodes []node) *orgSets {
	sets := newOrgSets(len(nodes), m.orgWords)
	byIdentifier, byKey := newKeyGroups(), newKeyGroups()
	for p, n := range nodes {
		sets.addOrg(int32(p), n.org)
		it := &items[n.item]
		for _, k := range it.idKeys {
			byIdentifier.add(k, int32(p))
		}
		if it.key != "" {
			byKey.add(it.key, int32(p))
		}
	}
	scratch := newUniteScratch(len(nodes), m.orgWords)
	byIdentifier.unite(sets, scratch)
	byKey.unite(sets, scratch)
	return sets
}

// mergedEntry is an entry of the result with more than one copy: the input
// indexes of its copies, the kept one first.
type mergedEntry struct {
	entry  int
	copies []int32
}

// entries lays out the result: one entry per set of nodes, at the place of
// the copy kept, with its Sources. Entries of one copy are complete; those
// of several are listed in merged, to be tagged with all their orgs.
func (m *merger) entries(in []Sourced, items []mergeItem, nodes []node, sets *orgSets) ([]Merged, []mergedEntry) {
	n := len(nodes)
	roots := make([]int32, n)
	best := make([]int32, n) // per root: the node kept
	for p := range best {
		best[p] = -1
	}
	count := 0
	for p := range n {
		r := sets.find(int32(p))
		roots[p] = r
		switch {
		case best[r] < 0:
			best[r] = int32(p)
			count++
		case m.keeps(items, nodes[p], nodes[best[r]]):
			best[r] = int32(p)
		}
	}

	// The members of each set, contiguous: a counting sort on their roots.
	start := make([]int32, n+1)
	for _, r := range roots {
		start[r+1]++
	}
	for r := range n {
		start[r+1] += start[r]
	}
	members := make([]int32, n)
	next := slices.Clone(start[:n])
	for p, r := range roots {
		members[next[r]] = int32(p)
		next[r]++
	}

	out := make([]Merged, 0, count)
	var merged []mergedEntry
	sources := make([]Copy, n)
	for p, r := range roots {
		if best[r] != int32(p) {
			continue
		}
		group := members[start[r]:start[r+1]]
		src := sources[start[r]:start[r+1]:start[r+1]]
		it := &items[nodes[p].item]
		if len(group) == 1 {
			src[0] = Copy{Org: m.orgs[it.org].id, ID: it.id}
			out = append(out, Merged{Type: it.typ, Resource: it.tagged, Sources: src})
			continue
		}
		// The kept copy first, then the others in org order.
		slices.SortFunc(group, func(a, b int32) int {
			switch {
			case a == best[r]:
				return -1
			case b == best[r]:
				return 1
			}
			return cmp.Compare(nodes[a].org, nodes[b].org)
		})
		copies := make([]int32, len(group))
		for k, q := range group {
			copies[k] = nodes[q].item
			src[k] = Copy{Org: m.orgs[nodes[q].org].id, ID: items[nodes[q].item].id}
		}
		merged = append(merged, mergedEntry{entry: len(out), copies: copies})
		out = append(out, Merged{Type: it.typ, Sources: src})
	}
	return out, merged
}

// keeps reports whether, of two copies of a fact, a is kept rather than b:
// the most recently updated, ties going to the org listed first.
func (m *merger) keeps(items []mergeItem, a, b node) bool {
	if c := compareUpdated(items[a.item].updated, items[b.item].updated); c != 0 {
		return c > 0
	}
	return a.org < b.org
}

// inParallel calls work on parts of [0, n) on every CPU and returns the
// error of the earliest part that failed.
func inParallel(n int, work func(lo, hi int) error) error {
	const minPart = 256
	parts := min(runtime.GOMAXPROCS(0), (n+minPart-1)/minPart)
	if parts <= 1 {
		return work(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() { errs[k] = work(k*n/parts, (k+1)*n/parts) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
