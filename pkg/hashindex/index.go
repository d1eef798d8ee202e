package hashindex

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Options tune an index. The zero value is right for most uses.
type Options struct {
	// Substrings fixes the number of substrings m. Zero chooses, at every rebuild, the m that
	// makes a search at DesignRadius cheapest for the index's size.
	Substrings int
	// DesignRadius is the search radius the index is tuned for: zero means 8 for 64-bit
	// hashes and 31 (PDQ's match threshold) for 256-bit ones. Any radius can be searched.
	DesignRadius int
}

// Match is a stored hash within the search radius.
type Match[ID comparable] struct {
	ID       ID
	Distance int
}

// Stats describe an index's state.
type Stats struct {
	Len        int // live hashes
	Removed    int // removed hashes still taking space until the next compaction
	Unindexed  int // hashes added since the last rebuild, searched by a linear scan
	Substrings int // substrings of the current tables
}

// index is the shared implementation: hashes of w words (1 or 4) in slots, multi-index
// tables over slots [0, base.end), and a linear scan over the slots added since.
type index[ID comparable] struct {
	mu       sync.RWMutex
	hashBits int
	w        int
	opts     Options

	words  []uint64 // slot s holds words[s*w : s*w+w]; append-only between compactions
	ids    []ID
	slotOf map[ID]uint32
	dead   []uint64 // bitset of removed slots
	nDead  int

	base       *tables
	rebuilding bool

	// Test hooks: a smaller delta limit exercises rebuilds; forceIndex skips the choice of
	// a scan for small or wide searches.
	deltaLimit func(n int) int
	forceIndex bool
}

// maxSlots keeps slot numbers within uint32.
const maxSlots = 1<<32 - 1

func newIndex[ID comparable](hashBits, w int, n int, opts Options) (*index[ID], error) {
	if opts.Substrings < 0 || opts.Substrings > hashBits/4 || (opts.Substrings > 0 && (hashBits+opts.Substrings-1)/opts.Substrings > 32) {
		return nil, fmt.Errorf("hashindex: %d substrings of a %d-bit hash: want substrings of 4 to 32 bits", opts.Substrings, hashBits)
	}
	if opts.DesignRadius < 0 || opts.DesignRadius > hashBits {
		return nil, fmt.Errorf("hashindex: design radius %d outside 0..%d", opts.DesignRadius, hashBits)
	}
	if opts.DesignRadius == 0 {
		opts.DesignRadius = 8
		if hashBits == 256 {
			opts.DesignRadius = 31
		}
	}
	if n > maxSlots {
		return nil, fmt.Errorf("hashindex: %d hashes: at most %d", n, maxSlots)
	}
	return &index[ID]{
		hashBits: hashBits, w: w, opts: opts,
		words:      make([]uint64, 0, n*w),
		ids:        make([]ID, 0, n),
		slotOf:     make(map[ID]uint32, n),
		dead:       make([]uint64, 0, (n+63)/64),
		deltaLimit: defaultDeltaLimit,
	}, nil
}

// defaultDeltaLimit is how many hashes may wait in the linear-scan tail before the tables
// are rebuilt: small enough that scanning it costs a fraction of a probe (65536 64-bit
// hashes scan in ~30 µs), large enough that rebuilds (about a second at 1e7) stay rare.
func defaultDeltaLimit(n int) int { return min(max(n/256, 1024), 65536) }

// load appends the initial entries and builds the tables and the id map side by side; a
// repeated id is an error.
func (ix *index[ID]) load(n int, entry func(i int) (ID, []uint64)) error {
	for i := 0; i < n; i++ {
		id, h := entry(i)
		ix.words = append(ix.words, h...)
		ix.ids = append(ix.ids, id)
	}
	ix.dead = make([]uint64, (n+63)/64)
	mapped := make(chan error, 1)
	go func() { mapped <- ix.mapIDs() }()
	ix.base = buildTables(ix.words, ix.w, n, ix.layouts(n))
	return <-mapped
}

// mapIDs fills slotOf from ids, with one map operation per id: a repeated id leaves the map
// no larger.
func (ix *index[ID]) mapIDs() error {
	for i, id := range ix.ids {
		ix.slotOf[id] = uint32(i)
		if len(ix.slotOf) != i+1 {
			first := slices.Index(ix.ids, id)
			return fmt.Errorf("hashindex: entries %d and %d have the same id %v", first, i, id)
		}
	}
	return nil
}

func (ix *index[ID]) layouts(n int) []layout {
	m := ix.opts.Substrings
	if m == 0 {
		m = chooseSubstrings(ix.hashBits, n, ix.opts.DesignRadius, ix.w)
	}
	return layouts(ix.hashBits, m)
}

func (ix *index[ID]) appendSlot(id ID, h []uint64) {
	slot := len(ix.ids)
	ix.words = append(ix.words, h...)
	ix.ids = append(ix.ids, id)
	ix.slotOf[id] = uint32(slot)
	if slot/64 >= len(ix.dead) {
		ix.dead = append(ix.dead, 0)
	}
}

// rebuildJob is a snapshot of the slots to index, built without holding the lock.
type rebuildJob struct {
	words []uint64
	end   int
}

// add stores h under id, replacing the id's previous hash.
func (ix *index[ID]) add(id ID, h []uint64) error {
	ix.mu.Lock()
	if len(ix.ids) >= maxSlots {
		ix.mu.Unlock()
		return fmt.Errorf("hashindex: full (%d slots)", maxSlots)
	}
	if old, ok := ix.slotOf[id]; ok {
		ix.kill(old)
	}
	ix.appendSlot(id, h)
	job := ix.maintain()
	ix.mu.Unlock()
	ix.rebuild(job)
	return nil
}

// remove drops id's hash; it reports whether the id was present.
func (ix *index[ID]) remove(id ID) bool {
	ix.mu.Lock()
	slot, ok := ix.slotOf[id]
	if ok {
		ix.kill(slot)
	}
	job := ix.maintain()
	ix.mu.Unlock()
	ix.rebuild(job)
	return ok
}

func (ix *index[ID]) kill(slot uint32) {
	delete(ix.slotOf, ix.ids[slot])
	var zero ID
	ix.ids[slot] = zero // drop what the id references (strings)
	ix.dead[slot/64] |= 1 << (slot % 64)
	ix.nDead++
}

// maintain runs under the write lock after a change. When a quarter of the slots are
// removed it compacts and rebuilds in place (rare: removals are). When the unindexed tail
// outgrows the delta limit it hands back a snapshot to index after the lock is released, so
// searches go on meanwhile; the slots below the snapshot's end never change until the new
// tables are swapped in, because compaction waits while a rebuild runs.
func (ix *index[ID]) maintain() *rebuildJob {
	if ix.rebuilding {
		return nil
	}
	n := len(ix.ids)
	if ix.nDead > 1024 && ix.nDead > n/4 {
		ix.compact()
		return nil
	}
	if n-ix.base.end > ix.deltaLimit(n-ix.nDead) {
		ix.rebuilding = true
		return &rebuildJob{words: ix.words[:n*ix.w], end: n}
	}
	return nil
}

func (ix *index[ID]) rebuild(job *rebuildJob) {
	if job == nil {
		return
	}
	t := buildTables(job.words, ix.w, job.end, ix.layouts(job.end))
	ix.mu.Lock()
	ix.base = t
	ix.rebuilding = false
	ix.mu.Unlock()
}

func (ix *index[ID]) compact() {
	live := len(ix.ids) - ix.nDead
	words := make([]uint64, 0, live*ix.w)
	ids := make([]ID, 0, live)
	for s := range ix.ids {
		if !isDead(ix.dead, uint32(s)) {
			words = append(words, ix.words[s*ix.w:s*ix.w+ix.w]...)
			ids = append(ids, ix.ids[s])
		}
	}
	ix.words, ix.ids, ix.nDead = words, ids, 0
	ix.dead = make([]uint64, (live+63)/64)
	clear(ix.slotOf)
	_ = ix.mapIDs() // live ids are distinct
	ix.base = buildTables(ix.words, ix.w, live, ix.layouts(live))
}

// search returns the live slots within r of q (words w), nearest first. It scans linearly
// when the cost model says that is cheaper: small indexes, or radii so wide that enumerating
// neighbours would visit more buckets than there are hashes.
func (ix *index[ID]) search(q1 uint64, q4 *Hash256, r int) []Match[ID] {
	if r < 0 {
		return nil
	}
	r = min(r, ix.hashBits)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.ids)
	base := ix.base
	var hits []hit
	useIndex := ix.forceIndex || probeCost(base.lays, base.end, r, ix.w) < scanCost(base.end, ix.w)
	if useIndex {
		rs := radii(r, len(base.t), make([]int, 0, 64))
		if ix.w == 1 {
			hits = base.search1(q1, r, rs, ix.dead, hits)
		} else {
			hits = base.search4(q4, r, rs, ix.words, ix.dead, hits)
		}
	}
	from := base.end
	if !useIndex {
		from = 0
	}
	if ix.w == 1 {
		hits = scan1(ix.words, from, n, q1, r, ix.dead, hits)
	} else {
		hits = scan4(ix.words, from, n, q4, r, ix.dead, hits)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.slot, b.slot))
	})
	out := make([]Match[ID], len(hits))
	for i, h := range hits {
		out[i] = Match[ID]{ID: ix.ids[h.slot], Distance: h.dist}
	}
	return out
}

func (ix *index[ID]) stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return Stats{Len: len(ix.ids) - ix.nDead, Removed: ix.nDead, Unindexed: len(ix.ids) - ix.base.end, Substrings: len(ix.base.t)}
}
