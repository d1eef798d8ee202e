package hashindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// reference is the obviously correct answer: every live hash, checked one by one.
type reference[H any] struct {
	order []int     // ids in insertion order (a replaced id moves to the end)
	hash  map[int]H // live ids
	dist  func(a, b H) int
}

func newReference[H any](dist func(a, b H) int) *reference[H] {
	return &reference[H]{hash: map[int]H{}, dist: dist}
}

func (r *reference[H]) add(id int, h H) {
	if _, ok := r.hash[id]; ok {
		r.order = slices.DeleteFunc(r.order, func(x int) bool { return x == id })
	}
	r.order = append(r.order, id)
	r.hash[id] = h
}

func (r *reference[H]) remove(id int) {
	delete(r.hash, id)
	r.order = slices.DeleteFunc(r.order, func(x int) bool { return x == id })
}

func (r *reference[H]) search(q H, radius int) []Match[int] {
	out := []Match[int]{}
	for _, id := range r.order {
		if d := r.dist(r.hash[id], q); d <= radius {
			out = append(out, Match[int]{id, d})
		}
	}
	slices.SortStableFunc(out, func(a, b Match[int]) int { return a.Distance - b.Distance })
	return out
}

// flip64 flips d distinct random bits of h.
func flip64(rng *rand.Rand, h uint64, d int) uint64 {
	var flipped uint64
	for bits := 0; bits < d; {
		b := uint64(1) << rng.IntN(64)
		if flipped&b == 0 {
			flipped |= b
			bits++
		}
	}
	return h ^ flipped
}

// flip256 flips d distinct random bits of h.
func flip256(rng *rand.Rand, h Hash256, d int) Hash256 {
	var flipped Hash256
	for bits := 0; bits < d; {
		i := rng.IntN(256)
		if b := uint64(1) << (i % 64); flipped[i/64]&b == 0 {
			flipped[i/64] |= b
			bits++
		}
	}
	for i := range h {
		h[i] ^= flipped[i]
	}
	return h
}

func random256(rng *rand.Rand) Hash256 {
	return Hash256{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
}

// plantedData returns n random hashes in which some "anchors" have neighbours planted at
// every distance 0..maxPlant, so every search radius has matches at its very edge.
func plantedData[H any](rng *rand.Rand, n, anchors, maxPlant int, random func() H, flip func(H, int) H) (hashes []H, anchorHashes []H) {
	for a := 0; a < anchors; a++ {
		h := random()
		anchorHashes = append(anchorHashes, h)
		hashes = append(hashes, h)
		for d := 0; d <= maxPlant; d++ {
			hashes = append(hashes, flip(h, d))
		}
	}
	for len(hashes) < n {
		hashes = append(hashes, random())
	}
	rng.Shuffle(len(hashes), func(i, j int) { hashes[i], hashes[j] = hashes[j], hashes[i] })
	return hashes, anchorHashes
}

// within keeps the matches of a full search that are within radius (they are sorted by
// distance), so one reference scan serves every radius.
func within(all []Match[int], radius int) []Match[int] {
	i := 0
	for i < len(all) && all[i].Distance <= radius {
		i++
	}
	return all[:i]
}

func sameMatches(t *testing.T, what string, got, want []Match[int]) {
	t.Helper()
	if got == nil {
		got = []Match[int]{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: index found %d, scan %d\n index: %v\n scan:  %v", what, len(got), len(want), clipMatches(got), clipMatches(want))
	}
}

func clipMatches(m []Match[int]) string {
	if len(m) > 12 {
		return fmt.Sprint(m[:12]) + "..."
	}
	return fmt.Sprint(m)
}

func TestSearch64MatchesScan(t *testing.T) {
	for _, tt := range []struct {
		n, m int
	}{{5000, 0}, {5000, 2}, {5000, 3}, {5000, 4}, {5000, 5}, {5000, 7}, {5000, 16}, {30000, 0}} {
		if raceEnabled && tt.m != 0 {
			continue
		}
		t.Run(fmt.Sprintf("n=%d/substrings=%d", tt.n, tt.m), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.n), uint64(tt.m)))
			hashes, anchors := plantedData(rng, tt.n, 12, 64, rng.Uint64, func(h uint64, d int) uint64 { return flip64(rng, h, d) })
			ref := newReference(Distance64)
			entries := make([]Entry64[int], len(hashes))
			for i, h := range hashes {
				entries[i] = Entry64[int]{i, h}
				ref.add(i, h)
			}
			ix, err := New64(entries, Options{Substrings: tt.m})
			if err != nil {
				t.Fatal(err)
			}
			queries := append([]uint64{}, anchors...)
			for range 6 {
				queries = append(queries, rng.Uint64(), flip64(rng, hashes[rng.IntN(len(hashes))], rng.IntN(6)))
			}
			for _, forceIndex := range []bool{true, false} {
				ix.ix.forceIndex = forceIndex
				for qi, q := range queries {
					all := ref.search(q, 64)
					for _, r := range []int{-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 20, 24, 32, 64, 70} {
						if forceIndex && probes(ix.ix.base.lays, r) > 50000 || tt.n > 10000 && r > 24 && r != 64 {
							continue // enumerating millions of neighbours, or sorting the whole set, proves nothing new
						}
						sameMatches(t, fmt.Sprintf("query %d radius %d forceIndex %v", qi, r, forceIndex), ix.Search(q, r), within(all, r))
					}
				}
			}
		})
	}
}

func TestSearch256MatchesScan(t *testing.T) {
	for _, tt := range []struct {
		n, m int
	}{{3000, 0}, {3000, 8}, {3000, 11}, {3000, 13}, {3000, 16}, {3000, 37}, {20000, 0}} {
		if raceEnabled && tt.m != 0 {
			continue
		}
		t.Run(fmt.Sprintf("n=%d/substrings=%d", tt.n, tt.m), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.n), uint64(tt.m)))
			hashes, anchors := plantedData(rng, tt.n, 10, 48, func() Hash256 { return random256(rng) }, func(h Hash256, d int) Hash256 { return flip256(rng, h, d) })
			ref := newReference(Hash256.Distance)
			entries := make([]Entry256[int], len(hashes))
			for i, h := range hashes {
				entries[i] = Entry256[int]{i, h}
				ref.add(i, h)
			}
			ix, err := New256(entries, Options{Substrings: tt.m})
			if err != nil {
				t.Fatal(err)
			}
			queries := append([]Hash256{}, anchors...)
			for range 5 {
				queries = append(queries, random256(rng), flip256(rng, hashes[rng.IntN(len(hashes))], rng.IntN(32)))
			}
			for _, forceIndex := range []bool{true, false} {
				ix.ix.forceIndex = forceIndex
				for qi, q := range queries {
					all := ref.search(q, 256)
					for _, r := range []int{0, 1, 2, 7, 8, 10, 11, 12, 15, 16, 20, 22, 24, 30, 31, 32, 33, 40, 47, 48, 96, 256} {
						if forceIndex && probes(ix.ix.base.lays, r) > 50000 {
							continue
						}
						sameMatches(t, fmt.Sprintf("query %d radius %d forceIndex %v", qi, r, forceIndex), ix.Search(q, r), within(all, r))
					}
				}
			}
		})
	}
}

// TestMutations interleaves adds, replacements and removals with searches, with a tiny
// rebuild threshold so the tables are rebuilt and compacted many times along the way.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ref := newReference(Distance64)
	ix, err := New64[int](nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.ix.deltaLimit = func(int) int { return 50 }
	ix.ix.forceIndex = true
	anchors := []uint64{rng.Uint64(), rng.Uint64(), rng.Uint64()}
	nextID := 0
	for step := 0; step < 6000; step++ {
		switch op := rng.IntN(10); {
		case op < 5: // add, near an anchor half the time
			h := rng.Uint64()
			if rng.IntN(2) == 0 {
				h = flip64(rng, anchors[rng.IntN(len(anchors))], rng.IntN(12))
			}
			if err := ix.Add(nextID, h); err != nil {
				t.Fatal(err)
			}
			ref.add(nextID, h)
			nextID++
		case op < 7 && nextID > 0: // replace an id's hash (or add it back)
			id := rng.IntN(nextID)
			h := flip64(rng, anchors[0], rng.IntN(10))
			if err := ix.Add(id, h); err != nil {
				t.Fatal(err)
			}
			ref.add(id, h)
		case op < 10 && nextID > 0:
			id := rng.IntN(nextID)
			_, had := ref.hash[id]
			if got := ix.Remove(id); got != had {
				t.Fatalf("step %d: Remove(%d) = %v, want %v", step, id, got, had)
			}
			ref.remove(id)
		}
		if step%25 == 0 {
			for _, a := range anchors {
				r := rng.IntN(14)
				sameMatches(t, fmt.Sprintf("step %d radius %d", step, r), ix.Search(a, r), ref.search(a, r))
			}
			if ix.Len() != len(ref.hash) {
				t.Fatalf("step %d: Len %d, want %d", step, ix.Len(), len(ref.hash))
			}
		}
	}
	st := ix.Stats()
	if st.Unindexed > 50 || st.Removed > st.Len/4+1024 {
		t.Errorf("stats %+v: rebuilds or compaction did not happen", st)
	}
}

func TestMutations256(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ref := newReference(Hash256.Distance)
	ix, err := New256[int](nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.ix.deltaLimit = func(int) int { return 40 }
	ix.ix.forceIndex = true
	anchor := random256(rng)
	for id := 0; id < 3000; id++ {
		h := random256(rng)
		if id%2 == 0 {
			h = flip256(rng, anchor, rng.IntN(40))
		}
		if err := ix.Add(id, h); err != nil {
			t.Fatal(err)
		}
		ref.add(id, h)
		if id%3 == 0 {
			victim := rng.IntN(id + 1)
			ix.Remove(victim)
			ref.remove(victim)
		}
		if id%50 == 0 {
			sameMatches(t, fmt.Sprintf("after %d", id), ix.Search(anchor, 31), ref.search(anchor, 31))
		}
	}
}

// TestConcurrentUse runs searches alongside adds and removes (meaningful under -race), then
// checks the final state against a scan.
func TestConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	entries := make([]Entry64[int], 20000)
	for i := range entries {
		entries[i] = Entry64[int]{i, rng.Uint64()}
	}
	ix, err := New64(entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.ix.deltaLimit = func(int) int { return 300 }
	anchor := rng.Uint64()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				for _, m := range ix.Search(anchor, 10) {
					if m.ID >= 100000 && Distance64(anchor, near(m.ID, anchor)) != m.Distance {
						t.Errorf("match %v has the wrong distance", m)
					}
				}
			}
		}()
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1500; i++ {
				id := 100000 + w*10000 + i
				_ = ix.Add(id, near(id, anchor))
				if i%3 == 0 {
					ix.Remove(id - 1)
				}
			}
		}()
	}
	wg.Wait()
	ref := newReference(Distance64)
	for _, e := range entries {
		ref.add(e.ID, e.Hash)
	}
	for w := 0; w < 2; w++ {
		for i := 0; i < 1500; i++ {
			id := 100000 + w*10000 + i
			ref.add(id, near(id, anchor))
			if i%3 == 0 {
				ref.remove(id - 1)
			}
		}
	}
	// Insertion order between the two writers is not deterministic; compare as sets.
	got, want := ix.Search(anchor, 10), ref.search(anchor, 10)
	sortByID := func(m []Match[int]) {
		slices.SortFunc(m, func(a, b Match[int]) int { return a.ID - b.ID })
	}
	sortByID(got)
	sortByID(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after concurrent use: index %d matches, scan %d", len(got), len(want))
	}
}

// near derives a hash within 10 bits of anchor from an id, so concurrent writers and the
// final check agree on it.
func near(id int, anchor uint64) uint64 {
	rng := rand.New(rand.NewPCG(uint64(id), 1))
	return flip64(rng, anchor, rng.IntN(11))
}

// probes counts the buckets a multi-index search at radius r visits.
func probes(lays []layout, r int) float64 {
	total := 0.0
	for i, rad := range radii(r, len(lays), nil) {
		for d := 0; d <= rad; d++ {
			total += binomial(lays[i].bits, d)
		}
	}
	return total
}

func TestNewRefuses(t *testing.T) {
	if _, err := New64([]Entry64[string]{{"a", 1}, {"b", 2}, {"a", 3}}, Options{}); err == nil || !strings.Contains(err.Error(), "entries 0 and 2 have the same id a") {
		t.Errorf("duplicate ids: err = %v", err)
	}
	for _, opts := range []Options{{Substrings: 1}, {Substrings: 17}, {Substrings: -1}, {DesignRadius: 65}, {DesignRadius: -2}} {
		if _, err := New64[int](nil, opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
	if _, err := New256[int](nil, Options{Substrings: 7}); err == nil {
		t.Error("7 substrings of 256 bits (37 bits each) accepted")
	}
}

func TestIDsAreReleased(t *testing.T) {
	ix, err := New64([]Entry64[string]{{"photo-1", 0xff}, {"photo-2", 0xff00}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Remove("photo-1") || ix.Remove("photo-1") {
		t.Error("Remove should report presence once")
	}
	if err := ix.Add("photo-2", 0xfe); err != nil {
		t.Fatal(err)
	}
	got := ix.Search(0xff, 3)
	want := []Match[string]{{"photo-2", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("Search = %v, want %v (replaced hash, removed id gone)", got, want)
	}
	if ix.Len() != 1 {
		t.Errorf("Len = %d", ix.Len())
	}
}

func TestRadiiCoverEveryNeighbour(t *testing.T) {
	// The pigeonhole claim behind radii, checked directly: for every split and radius, any
	// difference pattern of weight <= r has some substring within its radius.
	rng := rand.New(rand.NewPCG(3, 3))
	for m := 2; m <= 16; m++ {
		lays := layouts(64, m)
		for r := 0; r <= 40; r++ {
			rs := radii(r, m, nil)
			for trial := 0; trial < 200; trial++ {
				x := flip64(rng, 0, rng.IntN(r+1))
				ok := false
				for i, l := range lays {
					if Distance64(x&l.mask[0], 0) <= rs[i] {
						ok = true
					}
				}
				if !ok {
					t.Fatalf("m=%d r=%d: %064b escapes every substring", m, r, x)
				}
			}
		}
	}
}
