package fhir

import (
	"math/bits"
	"slices"
)

// Matching: sets of copies that never hold two of one org, and the groups
// of copies that share a key.

// orgSets is a union-find over nodes in which every set records its orgs,
// so that two sets holding the same org are never united.
type orgSets struct {
	parent []int32
	size   []int32
	orgs   []uint64 // words per node: the orgs of the set it roots
	words  int
}

func newOrgSets(n, words int) *orgSets {
	s := &orgSets{parent: make([]int32, n), size: make([]int32, n), orgs: make([]uint64, n*words), words: words}
	for p := range s.parent {
		s.parent[p] = int32(p)
		s.size[p] = 1
	}
	return s
}

func (s *orgSets) addOrg(p, org int32) { s.orgs[int(p)*s.words+int(org/64)] |= 1 << (org % 64) }

func (s *orgSets) hasOrg(r, org int32) bool {
	return s.orgs[int(r)*s.words+int(org/64)]&(1<<(org%64)) != 0
}

func (s *orgSets) find(p int32) int32 {
	for s.parent[p] != p {
		s.parent[p] = s.parent[s.parent[p]]
		p = s.parent[p]
	}
	return p
}

// disjoint reports whether the sets rooted at a and b share no org.
func (s *orgSets) disjoint(a, b int32) bool {
	x, y := s.orgs[int(a)*s.words:][:s.words], s.orgs[int(b)*s.words:][:s.words]
	for k := range x {
		if x[k]&y[k] != 0 {
			return false
		}
	}
	return true
}

// union unites the sets rooted at a and b and returns the new root.
func (s *orgSets) union(a, b int32) int32 {
	if s.size[a] < s.size[b] {
		a, b = b, a
	}
	s.parent[b] = a
	s.size[a] += s.size[b]
	x, y := s.orgs[int(a)*s.words:][:s.words], s.orgs[int(b)*s.words:][:s.words]
	for k := range x {
		x[k] |= y[k]
	}
	return a
}

// eachOrg calls fn with each org of the set rooted at r.
func (s *orgSets) eachOrg(r int32, fn func(org int32)) {
	for k, w := range s.orgs[int(r)*s.words:][:s.words] {
		for w != 0 {
			fn(int32(k*64 + bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}

// keyGroups gathers the nodes that share a key.
type keyGroups struct {
	index map[string]int32
	pairs []keyPair
}

type keyPair struct{ group, node int32 }

func newKeyGroups() *keyGroups { return &keyGroups{index: make(map[string]int32)} }

func (g *keyGroups) add(key string, node int32) {
	id, ok := g.index[key]
	if !ok {
		id = int32(len(g.index))
		g.index[key] = id
	}
	g.pairs = append(g.pairs, keyPair{id, node})
}

// uniteScratch is what unite needs per node and per org. Every group gets a
// mark, unique across calls: stamp marks the roots of a group's sets, seen
// the orgs whose cursor belongs to the group.
type uniteScratch struct {
	marked int32
	stamp  []int32
	seen   []int32
	cursor []int32
}

func newUniteScratch(nodes, orgWords int) *uniteScratch {
	u := &uniteScratch{stamp: make([]int32, nodes), seen: make([]int32, orgWords*64), cursor: make([]int32, orgWords*64)}
	for p := range u.stamp {
		u.stamp[p] = -1
	}
	for o := range u.seen {
		u.seen[o] = -1
	}
	return u
}

// maxScan bounds the sets a node tries within one group: it only ever
// leaves a pathological org's extra duplicates unpaired, and keeps the
// merge linear.
const maxScan = 16

// unite merges, within each group, nodes of different orgs, pairing one
// org's copies with the others' in node order. A group's sets (after any
// earlier unions) are tried in turn, and a node joins the first that holds
// none of its set's orgs. cursor[o] is where that search starts for a node
// of org o: every set before it already holds o.
func (g *keyGroups) unite(s *orgSets, u *uniteScratch) {
	groups := int32(len(g.index))
	start := make([]int32, groups+1)
	for _, kp := range g.pairs {
		start[kp.group+1]++
	}
	for k := range groups {
		start[k+1] += start[k]
	}
	members := make([]int32, len(g.pairs))
	next := slices.Clone(start[:groups])
	for _, kp := range g.pairs { // stable: members stay in node order
		members[next[kp.group]] = kp.node
		next[kp.group]++
	}
	var sets []int32
	for group := range groups {
		list := members[start[group]:start[group+1]]
		if len(list) < 2 {
			continue
		}
		mark := u.marked + group
		sets = sets[:0]
		cursorOf := func(o int32) int32 {
			if u.seen[o] != mark {
				u.seen[o], u.cursor[o] = mark, 0
			}
			return u.cursor[o]
		}
		advance := func(r int32) {
			s.eachOrg(r, func(o int32) {
				c := cursorOf(o)
				for c < int32(len(sets)) && s.hasOrg(sets[c], o) {
					c++
				}
				u.cursor[o] = c
			})
		}
		for _, p := range list {
			r := s.find(p)
			if u.stamp[r] == mark {
				continue // already one of this group's sets
			}
			from := int32(0)
			s.eachOrg(r, func(o int32) { from = max(from, cursorOf(o)) })
			joined := int32(-1)
			for k := from; k < int32(len(sets)) && k < from+maxScan; k++ {
				if s.disjoint(sets[k], r) {
					joined = k
					break
				}
			}
			if joined < 0 {
				sets = append(sets, r)
				u.stamp[r] = mark
				advance(r)
				continue
			}
			root := s.union(sets[joined], r)
			sets[joined] = root
			u.stamp[root] = mark
			advance(root)
		}
	}
	u.marked += groups
}
