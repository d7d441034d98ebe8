package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Tagging: the meta edits Merge makes to the copy it keeps of each entry.

// sourceEdit is what an entry's meta gains.
type sourceEdit struct {
	kept int32   // the org of the copy kept: meta.source
	orgs []int32 // every org that reported it, in order: meta.tag
	// security holds the labels to add to meta.security (a JSON array), or
	// is nil.
	security []byte
}

// tagCopy returns raw, whose meta is at place, with its meta edited, in
// room taken from a.
func (m *merger) tagCopy(raw []byte, place metaPlace, edit sourceEdit, a *arena) ([]byte, error) {
	if place.count > 1 {
		// Several metas, which EditMeta sorts out: rare enough to scan the
		// resource again.
		return EditMeta(raw, func(meta json.RawMessage) (json.RawMessage, error) {
			var buf [16]memberSpan
			spans, err := objectSpans(meta, buf[:0])
			if err != nil {
				return nil, err
			}
			return m.editMeta(meta, spans, edit)
		})
	}
	meta := place.value(raw)
	var buf [16]memberSpan
	spans, err := objectSpans(meta, buf[:0])
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if len(edit.orgs) == 1 && edit.security == nil && !hasSourceMembers(meta, spans) {
		return m.insertSource(raw, place, meta, spans, edit.kept, a), nil
	}
	edited, err := m.editMeta(meta, spans, edit)
	if err != nil {
		return nil, err
	}
	return spliceMeta(a.take(place.spliceSize(raw, edited)), raw, place, edited), nil
}

// hasSourceMembers reports whether meta has a member that editMeta edits.
func hasSourceMembers(meta []byte, spans []memberSpan) bool {
	for _, s := range spans {
		switch string(keyText(meta[s.keyStart:s.keyEnd])) {
		case "source", "tag", "security":
			return true
		}
	}
	return false
}

// insertSource is tagCopy for the usual resource: one org, and a meta with
// no source, tag or security of its own. Its edit is an insertion of the
// org's source and tag where SetMembers inserts members (after the leading
// header members of meta, or first), made straight into the copy rather
// than through an edited meta.
func (m *merger) insertSource(raw []byte, place metaPlace, meta []byte, spans []memberSpan, org int32, a *arena) []byte {
	members := m.orgs[org].sourceAndTag
	at, before, after := skipSpace(meta, 0)+1, false, len(spans) > 0
	for _, s := range spans {
		if !isHeaderKey(keyText(meta[s.keyStart:s.keyEnd])) {
			break
		}
		at, before, after = s.valEnd, true, false
	}
	size := place.spliceSize(raw, meta) + len(members) + 1
	dst := append(a.take(size), raw[:place.start]...)
	if place.count == 0 {
		if place.afterComma {
			dst = append(dst, ',')
		}
		dst = append(dst, `"meta":`...)
	}
	dst = append(dst, meta[:at]...)
	if before {
		dst = append(dst, ',')
	}
	dst = append(dst, members...)
	if after {
		dst = append(dst, ',')
	}
	dst = append(dst, meta[at:]...)
	if place.needComma {
		dst = append(dst, ',')
	}
	return append(dst, raw[place.end:]...)
}

// editMeta returns meta (whose members are at spans) with its source, tags
// and security labels edited.
func (m *merger) editMeta(meta []byte, spans []memberSpan, edit sourceEdit) ([]byte, error) {
	tags, err := m.sourceTags(memberValue(meta, spans, "tag"), edit.orgs)
	if err != nil {
		return nil, err
	}
	set := [3]Member{{Key: "source", Value: m.orgs[edit.kept].source}, {Key: "tag", Value: tags}}
	n := 2
	if edit.security != nil {
		set[n] = Member{Key: "security", Value: edit.security}
		n++
	}
	// SetMembers without its checks: the values are ours, or parts of the
	// resource's own meta.
	return spliceMembers(meta, spans, set[:n]), nil
}

// sourceTags returns meta.tag with the source tags of orgs: the tags it had,
// less any of SourceOrgTagSystem (no upstream names its own source), then
// one per org.
func (m *merger) sourceTags(existing []byte, orgs []int32) ([]byte, error) {
	out := []byte{'['}
	if existing != nil && string(existing) != "null" {
		err := eachArrayElement(existing, func(tag []byte) {
			if system, _ := jsonString(objectMember(tag, "system")); string(system) == SourceOrgTagSystem {
				return
			}
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, tag...)
		})
		if err != nil {
			return nil, fmt.Errorf("meta.tag: %w", err)
		}
	}
	for _, o := range orgs {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, m.orgs[o].tag...)
	}
	return append(out, ']'), nil
}

// retag tags an entry of several copies (the kept one first) with all its
// orgs, and with the security labels of every copy.
func (m *merger) retag(in []Sourced, items []mergeItem, e *Merged, copies []int32) error {
	kept := &items[copies[0]]
	edit := sourceEdit{kept: kept.org}
	for _, i := range copies {
		edit.orgs = append(edit.orgs, items[i].org)
	}
	slices.Sort(edit.orgs)
	security, err := extraSecurity(in, items, copies)
	if err != nil {
		return fmt.Errorf("%w: %s/%s from org %q: %w", ErrCannotMerge, kept.typ, kept.id, m.orgs[kept.org].id, err)
	}
	edit.security = security
	if e.Resource, err = m.tagCopy(in[copies[0]].Resource, kept.meta, edit, nil); err != nil {
		return fmt.Errorf("%w: tagging %s/%s from org %q: %w", ErrCannotMerge, kept.typ, kept.id, m.orgs[kept.org].id, err)
	}
	return nil
}

// extraSecurity returns the kept copy's meta.security with the labels of the
// other copies it lacks (by system and code), or nil when it lacks none:
// merging never lowers a fact's confidentiality.
func extraSecurity(in []Sourced, items []mergeItem, copies []int32) ([]byte, error) {
	have := map[string]bool{}
	var out []byte
	add := func(label []byte) {
		v := objectMembers(label, "system", "code")
		system, _ := jsonString(v[0])
		code, _ := jsonString(v[1])
		key := string(system) + "|" + string(code)
		if have[key] {
			return
		}
		have[key] = true
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, label...)
	}
	var before int
	for k, i := range copies {
		labels := objectMember(items[i].meta.value(in[i].Resource), "security")
		if labels != nil && string(labels) != "null" {
			if err := eachArrayElement(labels, add); err != nil {
				return nil, fmt.Errorf("meta.security of the copy at resource %d: %w", i, err)
			}
		}
		if k == 0 {
			before = len(have)
		}
	}
	if len(have) == before {
		return nil, nil
	}
	return append(append([]byte{'['}, out...), ']'), nil
}

// value returns the meta at place in raw: {} when there is none or it is
// null, as EditMeta hands it to its edit.
func (p metaPlace) value(raw []byte) []byte {
	if p.count == 0 || string(raw[p.start:p.end]) == "null" {
		return []byte(`{}`)
	}
	return raw[p.start:p.end]
}

// spliceSize is the size of raw with meta spliced in at p.
func (p metaPlace) spliceSize(raw, meta []byte) int {
	n := len(raw) - (p.end - p.start) + len(meta)
	if p.count == 0 {
		n += len(`"meta":`)
	}
	if p.afterComma {
		n++
	}
	if p.needComma {
		n++
	}
	return n
}

// spliceMeta appends to dst raw with meta in place of its meta, or inserted
// where p says: what EditMeta makes of a resource with at most one meta.
func spliceMeta(dst, raw []byte, p metaPlace, meta []byte) []byte {
	dst = append(dst, raw[:p.start]...)
	if p.count == 0 {
		if p.afterComma {
			dst = append(dst, ',')
		}
		dst = append(dst, `"meta":`...)
	}
	dst = append(dst, meta...)
	if p.needComma {
		dst = append(dst, ',')
	}
	return append(dst, raw[p.end:]...)
}

// arena hands out room for the tagged copies from large blocks: a hundred
// thousand resources make a hundred allocations rather than as many as
// resources. Blocks start small and double up to arenaBlock, so that a
// page of twenty results does not pay for a megabyte. A block is only
// freed with the last copy in it.
type arena struct {
	block []byte
	next  int // size of the next block
}

const (
	arenaFirstBlock = 64 << 10
	arenaBlock      = 1 << 20
)

// take returns an empty slice with room for n bytes. A nil arena allocates
// it alone.
func (a *arena) take(n int) []byte {
	if a == nil {
		return make([]byte, 0, n)
	}
	if cap(a.block)-len(a.block) < n {
		if n > arenaBlock/4 {
			return make([]byte, 0, n)
		}
		size := max(a.next, arenaFirstBlock)
		for size < n {
			size *= 2
		}
		a.next = min(size*2, arenaBlock)
		a.block = make([]byte, 0, size)
	}
	start := len(a.block)
	a.block = a.block[:start+n]
	return a.block[start : start : start+n]
}
