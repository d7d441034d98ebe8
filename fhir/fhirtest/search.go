package fhirtest

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// searchQuery is a parsed search of one type.
type searchQuery struct {
	typ     string
	params  *paramSet
	clauses []clause // all must match
	sorts   []sortKey
	include []includeSpec
	revinc  []includeSpec
	// count is the _count asked for, -1 when none; summaryCount asks for the total only.
	count        int
	summaryCount bool
	// names are the parameter names given, modifiers stripped, for platform rules.
	names []string
	// canonical is the query as the self link writes it.
	canonical url.Values
}

// clause is one parameter occurrence: its values are alternatives (comma OR).
type clause struct {
	def      *paramDef
	modifier string
	missing  *bool
	tokens   []fhir.Token
	texts    []string
	dates    []fhir.DateParam
	refs     []fhir.Reference
}

type sortKey struct {
	def  *paramDef
	desc bool
}

// includeSpec is one _include or _revinclude: the source type's reference
// parameter, and for _include an optional target type.
type includeSpec struct {
	source string
	param  *paramDef
	target string
}

// ignoredResultParams are accepted and ignored: the server always answers
// JSON with whole resources and an exact total.
var ignoredResultParams = map[string]bool{"_format": true, "_pretty": true, "_total": true, "_elements": true}

// parseQuery parses the search parameters of a search of typ. Errors wrap
// fhir.ErrBadParam. With lenient, unknown parameters are ignored as
// "Prefer: handling=lenient" asks.
func parseQuery(typ string, params url.Values, now time.Time, lenient bool) (*searchQuery, error) {
	q := &searchQuery{typ: typ, params: paramsOf(typ), count: -1, canonical: url.Values{}}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		name, modifier := fhir.ParamName(key)
		if err := q.addParam(key, name, modifier, params[key], now, lenient); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// parseFilter parses a scope's query, which may only hold search parameters.
func parseFilter(typ string, params url.Values) (*searchQuery, error) {
	q, err := parseQuery(typ, params, time.Time{}, false)
	if err != nil {
		return nil, err
	}
	if q.count >= 0 || q.summaryCount || len(q.sorts)+len(q.include)+len(q.revinc) > 0 {
		return nil, badParam("a scope filter holds search parameters only")
	}
	return q, nil
}

func badParam(format string, args ...any) error {
	return fmt.Errorf("%w: %s", fhir.ErrBadParam, fmt.Sprintf(format, args...))
}

func (q *searchQuery) addParam(key, name, modifier string, values []string, now time.Time, lenient bool) error {
	keep := func() {
		q.names = append(q.names, name)
		q.canonical[key] = values
	}
	switch {
	case ignoredResultParams[name]:
		return nil
	case name == "_count":
		if len(values) != 1 {
			return badParam("_count must be given once")
		}
		n, err := strconv.Atoi(values[0])
		if err != nil || n < 0 {
			return badParam("_count %q is not a whole number", values[0])
		}
		q.count = n
	case name == "_summary":
		if len(values) == 1 && values[0] == "count" {
			q.summaryCount = true
			break
		}
		for _, v := range values {
			if v != "true" && v != "false" && v != "data" && v != "text" {
				return badParam("_summary %q is not supported", v)
			}
		}
		return nil // the server always returns whole resources
	case name == "_sort":
		for _, v := range values {
			if err := q.addSort(v); err != nil {
				return err
			}
		}
	case name == "_include" || name == "_revinclude":
		if modifier != "" && modifier != "iterate" {
			return badParam("%s:%s is not supported", name, modifier)
		}
		for _, v := range values {
			spec, err := parseInclude(v, name == "_revinclude", q.typ)
			if err != nil {
				return err
			}
			if name == "_include" {
				q.include = append(q.include, spec)
			} else {
				q.revinc = append(q.revinc, spec)
			}
		}
	case strings.Contains(name, "."):
		if lenient {
			return nil
		}
		return badParam("chained parameter %q is not supported", key)
	default:
		def := q.params.byName[name]
		if def == nil {
			if lenient {
				return nil
			}
			return badParam("%s has no search parameter %q", q.typ, name)
		}
		for _, v := range values {
			c, err := parseClause(def, modifier, v, now)
			if err != nil {
				return err
			}
			q.clauses = append(q.clauses, c)
		}
	}
	keep()
	return nil
}

func (q *searchQuery) addSort(v string) error {
	for _, part := range strings.Split(v, ",") {
		desc := strings.HasPrefix(part, "-")
		name := strings.TrimPrefix(part, "-")
		def := q.params.byName[name]
		if def == nil {
			return badParam("cannot sort %s by %q", q.typ, name)
		}
		q.sorts = append(q.sorts, sortKey{def: def, desc: desc})
	}
	return nil
}

// parseInclude reads "Source:param[:Target]".
func parseInclude(v string, rev bool, typ string) (includeSpec, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || !isTypeName(parts[0]) {
		return includeSpec{}, badParam("include %q is not Type:parameter[:Target]", v)
	}
	if !rev && parts[0] != typ {
		return includeSpec{}, badParam("_include %q does not start from %s", v, typ)
	}
	def := paramsOf(parts[0]).byName[parts[1]]
	if def == nil || def.typ != referenceParam {
		return includeSpec{}, badParam("%s has no reference parameter %q", parts[0], parts[1])
	}
	spec := includeSpec{source: parts[0], param: def}
	if len(parts) == 3 {
		if !isTypeName(parts[2]) {
			return includeSpec{}, badParam("include %q names an invalid target type", v)
		}
		spec.target = parts[2]
	}
	return spec, nil
}

// parseClause parses one occurrence of a parameter.
func parseClause(def *paramDef, modifier, value string, now time.Time) (clause, error) {
	c := clause{def: def, modifier: modifier}
	if modifier == "missing" {
		switch value {
		case "true", "false":
			missing := value == "true"
			c.missing = &missing
			return c, nil
		}
		return c, badParam("%s:missing must be true or false", def.name)
	}
	if err := checkModifier(def, modifier); err != nil {
		return c, err
	}
	for _, part := range fhir.SplitOR(value) {
		if part == "" {
			return c, badParam("%s has an empty value", def.name)
		}
		switch def.typ {
		case tokenParam:
			t, err := fhir.ParseToken(part)
			if err != nil {
				return c, fmt.Errorf("%s: %w", def.name, err)
			}
			c.tokens = append(c.tokens, t)
		case uriParam:
			c.tokens = append(c.tokens, fhir.Token{Code: part})
		case stringParam:
			if modifier != "exact" {
				part = foldString(part)
			}
			c.texts = append(c.texts, part)
		case dateParam:
			d, err := fhir.ParseDate(part)
			if err != nil {
				return c, fmt.Errorf("%s: %w", def.name, err)
			}
			if d.Prefix == fhir.PrefixAp {
				d = d.Approximate(now)
			}
			c.dates = append(c.dates, d)
		case referenceParam:
			defaultType := def.target
			if modifier != "" {
				defaultType = modifier
			}
			r, err := fhir.ParseReference(part, defaultType)
			if err != nil {
				return c, fmt.Errorf("%s: %w", def.name, err)
			}
			if def.target != "" && r.Type != def.target {
				return c, badParam("%s points at %s, not %s", def.name, def.target, r.Type)
			}
			if modifier != "" && r.Type != modifier {
				return c, badParam("%s:%s value %q names another type", def.name, modifier, part)
			}
			c.refs = append(c.refs, r)
		}
	}
	return c, nil
}

func checkModifier(def *paramDef, modifier string) error {
	if modifier == "" {
		return nil
	}
	ok := false
	switch def.typ {
	case tokenParam:
		ok = modifier == "not"
	case stringParam:
		ok = modifier == "exact" || modifier == "contains"
	case referenceParam:
		ok = isTypeName(modifier) && (def.target == "" || def.target == modifier)
	}
	if !ok {
		return badParam("modifier :%s is not supported on %s", modifier, def.name)
	}
	return nil
}

// matches reports whether the record satisfies every clause.
func (q *searchQuery) matches(rec *record) bool {
	for i := range q.clauses {
		if !q.clauses[i].matches(rec) {
			return false
		}
	}
	return true
}

func (c *clause) matches(rec *record) bool {
	v := rec.values[c.def.name]
	if c.missing != nil {
		return v.empty() == *c.missing
	}
	if v == nil {
		return c.modifier == "not"
	}
	switch c.def.typ {
	case tokenParam, uriParam:
		hit := slices.ContainsFunc(c.tokens, func(t fhir.Token) bool {
			return slices.ContainsFunc(v.codes, func(cd coding) bool { return t.Matches(cd.system, cd.code) })
		})
		return hit != (c.modifier == "not")
	case stringParam:
		return slices.ContainsFunc(c.texts, func(want string) bool { return c.matchString(v, want) })
	case dateParam:
		return slices.ContainsFunc(c.dates, func(d fhir.DateParam) bool {
			return slices.ContainsFunc(v.spans, func(s timeSpan) bool { return d.Matches(s.start, s.end) })
		})
	case referenceParam:
		return slices.ContainsFunc(c.refs, func(r fhir.Reference) bool {
			return slices.ContainsFunc(v.refs, func(rv refValue) bool {
				return rv.id == r.ID && (r.Type == "" || rv.typ == r.Type)
			})
		})
	}
	return false
}

// matchString applies FHIR string matching: case-insensitive prefix by
// default, exact with :exact, substring with :contains.
func (c *clause) matchString(v *paramValues, want string) bool {
	switch c.modifier {
	case "exact":
		return slices.Contains(v.strs, want)
	case "contains":
		return slices.ContainsFunc(v.lower, func(s string) bool { return strings.Contains(s, want) })
	}
	return slices.ContainsFunc(v.lower, func(s string) bool { return strings.HasPrefix(s, want) })
}

// patientIDs returns the patients a query names through its "patient" or
// "subject" parameter (and for Patient, _id).
func (q *searchQuery) patientIDs() []string {
	var ids []string
	for _, c := range q.clauses {
		switch {
		case c.missing != nil || c.modifier == "not":
			continue
		case c.def.name == "patient", c.def.name == "subject":
			for _, r := range c.refs {
				if r.Type == "Patient" || (c.def.name == "patient" && r.Type == "") {
					ids = append(ids, r.ID)
				}
			}
		case c.def.name == "_id" && q.typ == "Patient":
			for _, t := range c.tokens {
				ids = append(ids, t.Code)
			}
		}
	}
	return ids
}

// candidates returns the records a query can match, narrowed by the patient
// compartment index or by _id when the query or the grant allows it.
// The caller holds the store's read lock.
func (q *searchQuery) candidates(ts *typeStore, patient string) []*record {
	if ts == nil {
		return nil
	}
	if patient != "" && hasCompartment(q.typ) {
		if q.typ == "Patient" {
			return nonNil(ts.byID[patient])
		}
		return mapValues(ts.byPatient[patient])
	}
	for _, c := range q.clauses {
		if c.missing != nil || c.modifier != "" {
			continue
		}
		switch {
		case c.def.name == "patient" && q.typ != "Patient":
			var out []*record
			for _, r := range uniqueIDs(c.refs) {
				out = append(out, mapValues(ts.byPatient[r])...)
			}
			return out
		case c.def.name == "_id":
			var out []*record
			for _, t := range c.tokens {
				if rec := ts.byID[t.Code]; rec != nil && !slices.Contains(out, rec) {
					out = append(out, rec)
				}
			}
			return out
		}
	}
	return mapValues(ts.byID)
}

func uniqueIDs(refs []fhir.Reference) []string {
	var ids []string
	for _, r := range refs {
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func nonNil(rec *record) []*record {
	if rec == nil {
		return nil
	}
	return []*record{rec}
}

func mapValues(m map[string]*record) []*record {
	out := make([]*record, 0, len(m))
	for _, rec := range m {
		out = append(out, rec)
	}
	return out
}

// sortRecords orders matches by the query's _sort keys, then by insertion.
func (q *searchQuery) sortRecords(recs []*record) {
	slices.SortFunc(recs, func(a, b *record) int {
		for _, k := range q.sorts {
			if c := compareBy(k, a, b); c != 0 {
				return c
			}
		}
		return bySeq(a, b)
	})
}

// compareBy compares two records on one sort key; records without a value
// come last whichever the direction.
func compareBy(k sortKey, a, b *record) int {
	va, oka := sortValue(k.def, a)
	vb, okb := sortValue(k.def, b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return 1
	case !okb:
		return -1
	}
	c := cmp.Compare(va, vb)
	if k.desc {
		return -c
	}
	return c
}

// sortValue returns a comparable text for a record's first value of a
// parameter: dates as sortable instants, others as written.
func sortValue(def *paramDef, rec *record) (string, bool) {
	v := rec.values[def.name]
	if v.empty() {
		return "", false
	}
	switch def.typ {
	case dateParam:
		if len(v.spans) == 0 {
			return "", false
		}
		t := v.spans[0].start
		if t.IsZero() {
			t = v.spans[0].end
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000000"), true
	case stringParam:
		if len(v.lower) > 0 {
			return v.lower[0], true
		}
	case tokenParam, uriParam:
		if len(v.codes) > 0 {
			return v.codes[0].code, true
		}
	case referenceParam:
		if len(v.refs) > 0 {
			return v.refs[0].typ + "/" + v.refs[0].id, true
		}
	}
	return "", false
}
