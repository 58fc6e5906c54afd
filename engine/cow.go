package engine

import "maps"

// The engine is immutable: Apply makes a new engine that shares everything
// it did not change with the old one. Two structures make that cheap: vec,
// a chunked array whose changed chunks are copied, and ids, an id map made
// of a large immutable base and a small copied delta.

// A vec is a small tree: a top slice of mids, each pointing to midLen
// chunks of chunkLen elements. Changing one element copies its chunk, its
// mid and the top, a few kilobytes whatever the vec's size.
const (
	chunkBits = 5
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
	midBits   = 6
	midLen    = 1 << midBits
	midMask   = midLen - 1
	leafBits  = chunkBits + midBits
)

type chunk[T any] [chunkLen]T

type mid[T any] [midLen]*chunk[T]

// vec is an array readers index with at; a writer (one Apply) copies a
// chunk, its mid and the top the first time it changes any of them.
type vec[T any] struct {
	top []*mid[T]
	n   int32
	// own is non-nil while an Apply writes this copy: the parts it made
	// (and so may change in place).
	own *owned[T]
}

type owned[T any] struct {
	top    bool
	mids   map[*mid[T]]bool
	chunks map[*chunk[T]]bool
}

func (o *owned[T]) ownMid(m *mid[T]) {
	if o.mids == nil {
		o.mids = map[*mid[T]]bool{}
	}
	o.mids[m] = true
}

func (o *owned[T]) ownChunk(c *chunk[T]) {
	if o.chunks == nil {
		o.chunks = map[*chunk[T]]bool{}
	}
	o.chunks[c] = true
}

// at returns element i. Callers outside a writer must not change it.
func (v *vec[T]) at(i int32) *T { return &v.top[i>>leafBits][(i>>chunkBits)&midMask][i&chunkMask] }

// len returns the number of elements.
func (v *vec[T]) len() int { return int(v.n) }

// push appends x and returns its index.
func (v *vec[T]) push(x T) int32 {
	i := v.n
	if i&(1<<leafBits-1) == 0 {
		v.ownTop()
		m := new(mid[T])
		v.top = append(v.top, m)
		if v.own != nil {
			v.own.ownMid(m)
		}
	}
	if i&chunkMask == 0 {
		m := v.ownMid(i)
		c := new(chunk[T])
		m[(i>>chunkBits)&midMask] = c
		if v.own != nil {
			v.own.ownChunk(c)
		}
	}
	v.n++
	*v.mut(i) = x
	return i
}

// mut returns element i for writing, copying what is shared with another
// engine first.
func (v *vec[T]) mut(i int32) *T {
	if v.own != nil {
		m := v.ownMid(i)
		k := (i >> chunkBits) & midMask
		if c := m[k]; !v.own.chunks[c] {
			nc := new(chunk[T])
			*nc = *c
			m[k] = nc
			v.own.ownChunk(nc)
		}
	}
	return v.at(i)
}

func (v *vec[T]) ownTop() {
	if v.own != nil && !v.own.top {
		v.top = append(make([]*mid[T], 0, len(v.top)+1), v.top...)
		v.own.top = true
	}
}

func (v *vec[T]) ownMid(i int32) *mid[T] {
	m := v.top[i>>leafBits]
	if v.own != nil && !v.own.mids[m] {
		v.ownTop()
		nm := new(mid[T])
		*nm = *m
		v.top[i>>leafBits] = nm
		v.own.ownMid(nm)
		m = nm
	}
	return m
}

// write starts an Apply on this copy: nothing is owned yet.
func (v *vec[T]) write() { v.own = &owned[T]{} }

// done ends an Apply: the copy is now shared like any other.
func (v *vec[T]) done() { v.own = nil }

// ids maps ids to values: an immutable base, an older delta of the ids
// created, changed or removed since, and a small recent delta on top that
// each Apply copies when it changes it. Every few Applies the recent delta
// merges into a copy of the older one, and every few thousand the older one
// into a copy of the base, so an Apply copies little however large the map.
// A lookup reads the deltas first only when they override some base id, so
// on the check path an unchanged id costs one map lookup.
type ids[V any] struct {
	base   idMapOf[V]
	older  map[string]slot[V]
	recent map[string]slot[V]
	// over is set when a delta holds an id of the base (changed or
	// removed).
	over bool
	// ownRecent is set while an Apply owns the recent delta.
	ownRecent bool
}

type slot[V any] struct {
	v  V
	ok bool // false: removed
}

// Sizes at which a delta merges down.
const (
	recentMax = 64
	olderMax  = 4096
)

func newIDs[V any](n int) ids[V] { return ids[V]{base: newIDMapOf[V](n)} }

func (m *ids[V]) delta(s string) (V, bool, bool) {
	if d, ok := m.recent[s]; ok {
		return d.v, d.ok, true
	}
	if d, ok := m.older[s]; ok {
		return d.v, d.ok, true
	}
	var zero V
	return zero, false, false
}

func (m *ids[V]) get(s string) (V, bool) {
	if m.over {
		if v, ok, found := m.delta(s); found {
			return v, ok
		}
	}
	if v, ok := m.base.get(s); ok {
		return v, true
	}
	if !m.over && len(m.recent)+len(m.older) > 0 {
		v, ok, _ := m.delta(s)
		return v, ok
	}
	var zero V
	return zero, false
}

// set records v for s in the base, while New builds.
func (m *ids[V]) set(s string, v V) { m.base.set(s, v) }

// put records v for s: in the recent delta while applying, else in the
// base.
func (m *ids[V]) put(s string, v V, applying bool) {
	if !applying {
		m.base.set(s, v)
		return
	}
	m.writeRecent()
	m.recent[s] = slot[V]{v: v, ok: true}
	if _, inBase := m.base.get(s); inBase {
		m.over = true
	}
}

// del removes s.
func (m *ids[V]) del(s string) {
	m.writeRecent()
	_, inBase := m.base.get(s)
	_, inOlder := m.older[s]
	if inBase || inOlder {
		m.recent[s] = slot[V]{}
		m.over = m.over || inBase
		return
	}
	delete(m.recent, s)
}

func (m *ids[V]) writeRecent() {
	if !m.ownRecent {
		m.recent = maps.Clone(m.recent)
		if m.recent == nil {
			m.recent = map[string]slot[V]{}
		}
		m.ownRecent = true
	}
}

// done ends an Apply, merging full deltas down.
func (m *ids[V]) done() {
	m.ownRecent = false
	if len(m.recent) < recentMax {
		return
	}
	older := maps.Clone(m.older)
	if older == nil {
		older = map[string]slot[V]{}
	}
	for s, d := range m.recent {
		if _, inBase := m.base.get(s); !d.ok && !inBase {
			delete(older, s)
		} else {
			older[s] = d
		}
	}
	m.older, m.recent = older, nil
	if len(m.older) < olderMax {
		return
	}
	base := idMapOf[V]{short: maps.Clone(m.base.short), long: maps.Clone(m.base.long)}
	for s, d := range m.older {
		if d.ok {
			base.set(s, d.v)
		} else {
			base.del(s)
		}
	}
	*m = ids[V]{base: base}
}

// pvec is a vec of pointers to large elements: changing one copies the
// element and a chunk of pointers, not a chunk of elements.
type pvec[T any] struct {
	v vec[*T]
	// mine holds the elements the running Apply made.
	mine map[*T]bool
}

// at returns element i. Callers outside a writer must not change it.
func (p *pvec[T]) at(i int32) *T { return *p.v.at(i) }

func (p *pvec[T]) len() int { return p.v.len() }

// push appends x and returns its index.
func (p *pvec[T]) push(x T) int32 {
	e := &x
	if p.v.own != nil {
		p.own(e)
	}
	return p.v.push(e)
}

// mut returns element i for writing, copying it first when it is shared
// with another engine.
func (p *pvec[T]) mut(i int32) *T {
	if p.v.own == nil {
		return p.at(i)
	}
	slot := p.v.mut(i)
	if !p.mine[*slot] {
		e := new(T)
		*e = **slot
		*slot = e
		p.own(e)
	}
	return *slot
}

func (p *pvec[T]) own(e *T) {
	if p.mine == nil {
		p.mine = map[*T]bool{}
	}
	p.mine[e] = true
}

func (p *pvec[T]) write() { p.v.write(); p.mine = nil }

func (p *pvec[T]) done() { p.v.done(); p.mine = nil }
