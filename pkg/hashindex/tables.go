package hashindex

import "math/bits"

// table is one substring's hash table in compressed-sparse-row form: the entries of bucket
// b are [offsets[b], offsets[b+1]) of slots (and of inline or keys). Built once, read-only.
type table struct {
	layout
	k       int  // bucket bits
	direct  bool // k == bits: the bucket is the substring itself
	offsets []uint32
	slots   []uint32
	inline  []uint64 // 64-bit hashes: each entry's whole hash, so a probe never leaves the bucket
	keys    []uint32 // 256-bit hashes with hashed buckets: each entry's substring
}

func (t *table) bucket(key uint32) uint32 {
	if t.direct {
		return key
	}
	return key * 0x9E3779B1 >> (32 - t.k) // Fibonacci hashing spreads clustered real hashes
}

// tables index the slots [0, end) of a store.
type tables struct {
	end  int
	t    []table
	lays []layout
}

// buildTables indexes the first end hashes of words (w words each) over the substrings
// lays. Removed slots are indexed too and filtered at search time.
func buildTables(words []uint64, w, end int, lays []layout) *tables {
	ts := &tables{end: end, t: make([]table, len(lays)), lays: lays}
	for i, l := range lays {
		t := table{layout: l, k: bucketBits(l.bits, end)}
		t.direct = t.k == l.bits
		nb := 1 << t.k
		t.offsets = make([]uint32, nb+1)
		t.slots = make([]uint32, end)
		if w == 1 {
			t.inline = make([]uint64, end)
		} else if !t.direct {
			t.keys = make([]uint32, end)
		}
		keyOf := func(s int) uint32 {
			if w == 1 {
				return t.key1(words[s])
			}
			return t.key(words[s*w : s*w+w])
		}
		// Counting sort: count, prefix sums (offsets[b] = start of b), place while advancing
		// offsets[b] to the end of b, then shift back so offsets[b] is the start again.
		for s := 0; s < end; s++ {
			t.offsets[t.bucket(keyOf(s))]++
		}
		sum := uint32(0)
		for b := 0; b < nb; b++ {
			c := t.offsets[b]
			t.offsets[b] = sum
			sum += c
		}
		t.offsets[nb] = sum
		for s := 0; s < end; s++ {
			key := keyOf(s)
			b := t.bucket(key)
			e := t.offsets[b]
			t.offsets[b]++
			t.slots[e] = uint32(s)
			switch {
			case w == 1:
				t.inline[e] = words[s]
			case !t.direct:
				t.keys[e] = key
			}
		}
		copy(t.offsets[1:nb+1], t.offsets[:nb])
		t.offsets[0] = 0
		ts.t[i] = t
	}
	return ts
}

// hit is one match: a slot and its distance.
type hit struct {
	slot uint32
	dist int
}

func isDead(dead []uint64, slot uint32) bool { return dead[slot/64]&(1<<(slot%64)) != 0 }

// nextCombination returns the next larger integer with the same number of set bits
// (Gosper's hack, with a shift in place of the division).
func nextCombination(x uint64) uint64 {
	c := x & -x
	r := x + c
	return r | (r^x)>>2>>bits.TrailingZeros64(x)
}

// search1 finds the indexed 64-bit hashes within r of q. Each substring's neighbours within
// its radius are enumerated by increasing weight; a candidate is reported only by the first
// substring that can find it, so no result set is needed to drop repeats.
func (ts *tables) search1(q uint64, r int, rs []int, dead []uint64, out []hit) []hit {
	for ti := range ts.t {
		t := &ts.t[ti]
		s := t.key1(q)
		for d := 0; d <= rs[ti]; d++ {
			if d == 0 {
				out = ts.probe1(ti, s, q, r, rs, dead, out)
				continue
			}
			limit := uint64(1) << t.bits
			for mask := uint64(1)<<d - 1; mask < limit; mask = nextCombination(mask) {
				out = ts.probe1(ti, s^uint32(mask), q, r, rs, dead, out)
			}
		}
	}
	return out
}

func (ts *tables) probe1(ti int, key uint32, q uint64, r int, rs []int, dead []uint64, out []hit) []hit {
	t := &ts.t[ti]
	b := t.bucket(key)
	lo, hi := t.offsets[b], t.offsets[b+1]
	for i, h := range t.inline[lo:hi] {
		x := h ^ q
		d := bits.OnesCount64(x)
		if d > r || (!t.direct && t.key1(h) != key) {
			continue
		}
		if ts.foundEarlier1(ti, x, rs) {
			continue
		}
		slot := t.slots[lo+uint32(i)]
		if isDead(dead, slot) {
			continue
		}
		out = append(out, hit{slot, d})
	}
	return out
}

// foundEarlier1 reports whether a substring before ti is within its radius, i.e. that
// substring's probes already reported the hash.
func (ts *tables) foundEarlier1(ti int, x uint64, rs []int) bool {
	for j := 0; j < ti; j++ {
		if bits.OnesCount64(x&ts.t[j].mask[0]) <= rs[j] {
			return true
		}
	}
	return false
}

// search4 is search1 for 256-bit hashes, whose candidates are checked against words.
func (ts *tables) search4(q *Hash256, r int, rs []int, words []uint64, dead []uint64, out []hit) []hit {
	for ti := range ts.t {
		t := &ts.t[ti]
		s := t.key(q[:])
		for d := 0; d <= rs[ti]; d++ {
			if d == 0 {
				out = ts.probe4(ti, s, q, r, rs, words, dead, out)
				continue
			}
			limit := uint64(1) << t.bits
			for mask := uint64(1)<<d - 1; mask < limit; mask = nextCombination(mask) {
				out = ts.probe4(ti, s^uint32(mask), q, r, rs, words, dead, out)
			}
		}
	}
	return out
}

func (ts *tables) probe4(ti int, key uint32, q *Hash256, r int, rs []int, words []uint64, dead []uint64, out []hit) []hit {
	t := &ts.t[ti]
	b := t.bucket(key)
	lo, hi := t.offsets[b], t.offsets[b+1]
	for e := lo; e < hi; e++ {
		if !t.direct && t.keys[e] != key {
			continue
		}
		slot := t.slots[e]
		h := words[slot*4 : slot*4+4 : slot*4+4]
		x0, x1, x2, x3 := h[0]^q[0], h[1]^q[1], h[2]^q[2], h[3]^q[3]
		d := bits.OnesCount64(x0) + bits.OnesCount64(x1) + bits.OnesCount64(x2) + bits.OnesCount64(x3)
		if d > r {
			continue
		}
		found := false
		for j := 0; j < ti && !found; j++ {
			m := &ts.t[j].mask
			found = bits.OnesCount64(x0&m[0])+bits.OnesCount64(x1&m[1])+bits.OnesCount64(x2&m[2])+bits.OnesCount64(x3&m[3]) <= rs[j]
		}
		if found || isDead(dead, slot) {
			continue
		}
		out = append(out, hit{slot, d})
	}
	return out
}

// scan1 checks the 64-bit hashes of slots [from, to) one by one.
func scan1(words []uint64, from, to int, q uint64, r int, dead []uint64, out []hit) []hit {
	for s, h := range words[from:to] {
		if d := bits.OnesCount64(h ^ q); d <= r {
			slot := uint32(from + s)
			if !isDead(dead, slot) {
				out = append(out, hit{slot, d})
			}
		}
	}
	return out
}

// scan4 checks the 256-bit hashes of slots [from, to) one by one.
func scan4(words []uint64, from, to int, q *Hash256, r int, dead []uint64, out []hit) []hit {
	ws := words[from*4 : to*4]
	for i := 0; i+4 <= len(ws); i += 4 {
		h := ws[i : i+4 : i+4]
		d := bits.OnesCount64(h[0]^q[0]) + bits.OnesCount64(h[1]^q[1]) + bits.OnesCount64(h[2]^q[2]) + bits.OnesCount64(h[3]^q[3])
		if d <= r {
			slot := uint32(from + i/4)
			if !isDead(dead, slot) {
				out = append(out, hit{slot, d})
			}
		}
	}
	return out
}
