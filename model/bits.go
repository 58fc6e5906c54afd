package model

import "math/bits"

// Bits is a set of permission indexes. All sets of one model have the same
// length (Model.Words), so they combine without bounds checks on the hot
// path.
type Bits []uint64

// NewBits returns an empty set for n permissions.
func NewBits(n int) Bits { return make(Bits, (n+63)/64) }

// Has reports whether i is in the set.
func (b Bits) Has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// Set adds i.
func (b Bits) Set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

// Or adds every member of o.
func (b Bits) Or(o Bits) {
	for i := range b {
		b[i] |= o[i]
	}
}

// ContainsAll reports whether every member of o is in b.
func (b Bits) ContainsAll(o Bits) bool {
	for i := range o {
		if o[i]&^b[i] != 0 {
			return false
		}
	}
	return true
}

// Intersects reports whether b and o share a member.
func (b Bits) Intersects(o Bits) bool {
	for i := range o {
		if o[i]&b[i] != 0 {
			return true
		}
	}
	return false
}

// IsEmpty reports whether the set has no member.
func (b Bits) IsEmpty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// Clone returns a copy.
func (b Bits) Clone() Bits { return append(Bits(nil), b...) }

// Each calls f for each member in increasing order.
func (b Bits) Each(f func(i int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi*64 + t)
			w &= w - 1
		}
	}
}

// Count returns the number of members.
func (b Bits) Count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}
