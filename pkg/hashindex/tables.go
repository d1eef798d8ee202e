package hashindex

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

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
// lays, one table per substring, GOMAXPROCS tables at a time. Removed slots are indexed too
// and filtered at search time.
func buildTables(words []uint64, w, end int, lays []layout) *tables {
	ts := &tables{end: end, t: make([]table, len(lays)), lays: lays}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(max(1, runtime.GOMAXPROCS(0)), len(lays)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Scratch is reused from table to table: fresh memory costs a page fault per 4 KiB,
			// which at 1e7 hashes took as long as the sorting.
			var sc scratch
			for i := int(next.Add(1)) - 1; i < len(lays); i = int(next.Add(1)) - 1 {
				ts.t[i] = buildTable(words, w, end, lays[i], &sc)
			}
		}()
	}
	wg.Wait()
	return ts
}

// entry1 is a slot of a 64-bit index being placed in its bucket, with the whole hash the
// table stores next to it; entry4 is a slot of a 256-bit index with its substring (half the
// size: the sort moves every entry twice).
type (
	entry1 struct {
		h    uint64
		slot uint32
	}
	entry4 struct{ key, slot uint32 }
)

// scratch holds a worker's sort buffers, reused from table to table.
type scratch struct {
	a1, tmp1 []entry1
	a4, tmp4 []entry4
}

func grow[E any](a, tmp *[]E, n int) ([]E, []E) {
	if cap(*a) < n {
		*a, *tmp = make([]E, n), make([]E, n)
	}
	return (*a)[:n], (*tmp)[:n]
}

// buildTable sorts the slots by bucket with a least-significant-digit radix sort: a pass
// reads one array in order and appends to a few thousand runs, which the caches follow,
// where placing each slot straight into its bucket misses the cache on every hash.
func buildTable(words []uint64, w, end int, l layout, sc *scratch) table {
	t := table{layout: l, k: bucketBits(l.bits, end)}
	t.direct = t.k == l.bits
	nb := 1 << t.k
	t.offsets = make([]uint32, nb+1)
	t.slots = make([]uint32, end)
	if w == 1 {
		a, tmp := grow(&sc.a1, &sc.tmp1, end)
		for s := range a {
			a[s] = entry1{h: words[s], slot: uint32(s)}
		}
		bucketOf := func(x entry1) uint32 { return t.bucket(t.key1(x.h)) }
		a = radixSort(a, tmp, t.k, bucketOf)
		t.inline = make([]uint64, end)
		for e, x := range a {
			t.offsets[bucketOf(x)+1]++
			t.slots[e], t.inline[e] = x.slot, x.h
		}
	} else {
		a, tmp := grow(&sc.a4, &sc.tmp4, end)
		for s := range a {
			a[s] = entry4{key: t.key(words[s*w : s*w+w]), slot: uint32(s)}
		}
		bucketOf := func(x entry4) uint32 { return t.bucket(x.key) }
		a = radixSort(a, tmp, t.k, bucketOf)
		if !t.direct {
			t.keys = make([]uint32, end)
		}
		for e, x := range a {
			t.offsets[bucketOf(x)+1]++
			t.slots[e] = x.slot
			if !t.direct {
				t.keys[e] = x.key
			}
		}
	}
	for b := 1; b <= nb; b++ {
		t.offsets[b] += t.offsets[b-1]
	}
	return t
}

// radixSort sorts a by bucket (k bits), stably so each bucket keeps slot order, using tmp
// of the same length; it returns whichever of the two holds the result. Digits are at most
// 12 bits, so 24-bit buckets take two passes (8-bit digits, three passes, measured slower);
// one reading pass counts every digit first.
func radixSort[E any](a, tmp []E, k int, bucketOf func(E) uint32) []E {
	passes := (k + 11) / 12
	if passes == 0 {
		return a
	}
	digit := (k + passes - 1) / passes
	mask := uint32(1)<<digit - 1
	counts := make([][]int, passes)
	for p := range counts {
		counts[p] = make([]int, 1<<digit)
	}
	for _, x := range a {
		b := bucketOf(x)
		for p, c := range counts {
			c[b>>(p*digit)&mask]++
		}
	}
	for p, count := range counts {
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		shift := p * digit
		for _, x := range a {
			d := bucketOf(x) >> shift & mask
			tmp[count[d]] = x
			count[d]++
		}
		a, tmp = tmp, a
	}
	return a
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
