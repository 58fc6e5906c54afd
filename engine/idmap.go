package engine

// idMap maps string ids to dense indexes. Ids shorter than 16 bytes are
// stored inline in the map's slots (with their length in the last byte), so
// a lookup compares keys without following a pointer to the key's bytes;
// longer ids use an ordinary string map. On large maps this saves a cache
// miss per lookup on the check path.
type idMap struct {
	short map[[16]byte]int32
	long  map[string]int32
}

func newIDMap(n int) idMap {
	return idMap{short: make(map[[16]byte]int32, n), long: map[string]int32{}}
}

func shortKey(s string) (k [16]byte) {
	copy(k[:], s)
	k[15] = byte(len(s))
	return k
}

func (m *idMap) get(s string) (int32, bool) {
	if len(s) < 16 {
		v, ok := m.short[shortKey(s)]
		return v, ok
	}
	v, ok := m.long[s]
	return v, ok
}

func (m *idMap) set(s string, v int32) {
	if len(s) < 16 {
		m.short[shortKey(s)] = v
		return
	}
	m.long[s] = v
}

func (m *idMap) len() int { return len(m.short) + len(m.long) }

// each calls f for every id.
func (m *idMap) each(f func(id string, v int32)) {
	for k, v := range m.short {
		f(string(k[:k[15]]), v)
	}
	for k, v := range m.long {
		f(k, v)
	}
}
