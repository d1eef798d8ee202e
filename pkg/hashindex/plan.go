package hashindex

import "math"

// layout is one substring of the hash: bits [start, start+bits) counting from bit 0 of
// word 0, then word 1, ...
type layout struct {
	start, bits int
	word, off   int  // start/64, start%64
	span        bool // crosses into the next word
	keyMask     uint64
	mask        [4]uint64 // the substring's bits within the hash words
}

// layouts splits a hash of hashBits into m contiguous substrings, shortest first (the
// longer ones get the smaller search radius, see radii).
func layouts(hashBits, m int) []layout {
	out := make([]layout, m)
	base, extra := hashBits/m, hashBits%m
	start := 0
	for i := range out {
		b := base
		if i >= m-extra {
			b++
		}
		l := layout{start: start, bits: b, word: start / 64, off: start % 64, keyMask: 1<<b - 1}
		l.span = l.off+b > 64
		for p := start; p < start+b; p++ {
			l.mask[p/64] |= 1 << (p % 64)
		}
		out[i] = l
		start += b
	}
	return out
}

func (l *layout) key1(h uint64) uint32 { return uint32(h >> l.start & l.keyMask) }

func (l *layout) key(ws []uint64) uint32 {
	v := ws[l.word] >> l.off
	if l.span {
		v |= ws[l.word+1] << (64 - l.off)
	}
	return uint32(v & l.keyMask)
}

// radii returns each substring's search radius for a query radius r over m substrings. By
// the pigeonhole principle, a hash within r differs in at least one substring by at most
// floor(r/m). Sharper (Norouzi, Punjani and Fleet, "Fast exact search in Hamming space with
// multi-index hashing", 2014): with r = q*m + a, one of the first a+1 substrings is within q
// or one of the others within q-1, since otherwise the distance would be at least
// (a+1)(q+1) + (m-a-1)q = r+1. A radius of -1 means the substring need not be searched.
func radii(r, m int, dst []int) []int {
	q, a := r/m, r%m
	dst = dst[:0]
	for i := 0; i < m; i++ {
		if i <= a {
			dst = append(dst, q)
		} else {
			dst = append(dst, q-1)
		}
	}
	return dst
}

// Cost model, in units of about a nanosecond on a quiet machine, fitted to measurements on
// this project's 2-vCPU machine (thread CPU time; see the package doc). A probe costs a cache
// miss or two whatever the bucket holds, a 64-bit candidate is checked in place, a 256-bit
// one costs another miss. Only the ratios matter: they pick the number of substrings at
// build time and choose between probing and scanning for each query.
const (
	costProbe  = 50.0
	costCand1  = 1.5
	costCand4  = 40.0
	costScan1  = 0.5
	costScan4  = 1.5
	maxBuckets = 26 // never more than 2^26 buckets per substring (256 MiB of offsets)
)

// probeCost estimates the cost of a multi-index search of n indexed hashes.
func probeCost(lays []layout, n, r, words int) float64 {
	rs := radii(r, len(lays), make([]int, 0, len(lays)))
	cand := costCand1
	if words > 1 {
		cand = costCand4
	}
	total := 0.0
	for i, l := range lays {
		probes := 0.0
		for d := 0; d <= rs[i]; d++ {
			probes += binomial(l.bits, d)
		}
		total += probes * (costProbe + cand*float64(n)/math.Exp2(float64(l.bits)))
	}
	return total
}

func scanCost(n, words int) float64 {
	if words > 1 {
		return float64(n) * costScan4
	}
	return float64(n) * costScan1
}

func binomial(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 0; i < k; i++ {
		r = r * float64(n-i) / float64(i+1)
	}
	return r
}

// chooseSubstrings picks the number of substrings that makes a search at the design radius
// cheapest for n hashes. Substrings are at most 32 bits (uint32 keys).
func chooseSubstrings(hashBits, n, designRadius, words int) int {
	best, bestCost := 0, math.Inf(1)
	for m := (hashBits + 31) / 32; m <= hashBits/4; m++ {
		if c := probeCost(layouts(hashBits, m), n, designRadius, words); c < bestCost {
			best, bestCost = m, c
		}
	}
	return best
}

// bucketBits is how many bits of a substring address its bucket: the whole substring when
// that gives no more buckets than about 2n, otherwise a hash of it (entries then carry their
// key so a probe skips the strangers sharing its bucket).
func bucketBits(subBits, n int) int {
	k := 8
	for k < maxBuckets && 1<<k < 2*n {
		k++
	}
	return min(subBits, k)
}
