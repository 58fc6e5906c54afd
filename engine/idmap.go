package engine

// idMap maps string ids to dense indexes. Ids shorter than 16 bytes are
// stored inline in the map's slots (with their length in the last byte), so
// a lookup compares keys without following a pointer to the key's bytes;
// longer ids use an ordinary string map. On large maps this saves a cache
// miss per lookup on the check path.
type idMap = idMapOf[int32]

// idMapOf is idMap with any value type, so a lookup can return what the
// caller needs next along with the index (saving another cache miss).
type idMapOf[V any] struct {
	short map[[16]byte]V
	long  map[string]V
}

func newIDMap(n int) idMap { return newIDMapOf[int32](n) }

func newIDMapOf[V any](n int) idMapOf[V] {
	return idMapOf[V]{short: make(map[[16]byte]V, n), long: map[string]V{}}
}

func shortKey(s string) (k [16]byte) {
	copy(k[:], s)
	k[15] = byte(len(s))
	return k
}

func (m *idMapOf[V]) get(s string) (V, bool) {
	if len(s) < 16 {
		v, ok := m.short[shortKey(s)]
		return v, ok
	}
	v, ok := m.long[s]
	return v, ok
}

func (m *idMapOf[V]) set(s string, v V) {
	if len(s) < 16 {
		m.short[shortKey(s)] = v
		return
	}
	m.long[s] = v
}

func (m *idMapOf[V]) del(s string) {
	if len(s) < 16 {
		delete(m.short, shortKey(s))
		return
	}
	delete(m.long, s)
}

func (m *idMapOf[V]) len() int { return len(m.short) + len(m.long) }

// each calls f for every id.
func (m *idMapOf[V]) each(f func(id string, v V)) {
	for k, v := range m.short {
		f(string(k[:k[15]]), v)
	}
	for k, v := range m.long {
		f(k, v)
	}
}
