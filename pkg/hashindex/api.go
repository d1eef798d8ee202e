package hashindex

// Entry64 is a 64-bit hash (pHash, dHash) and the id it is stored under.
type Entry64[ID comparable] struct {
	ID   ID
	Hash uint64
}

// Entry256 is a 256-bit hash (PDQ) and the id it is stored under.
type Entry256[ID comparable] struct {
	ID   ID
	Hash Hash256
}

// Index64 finds the stored 64-bit hashes within a Hamming radius of a query, exactly. It is
// safe for concurrent use: searches run in parallel; Add and Remove take a write lock.
type Index64[ID comparable] struct{ ix *index[ID] }

// New64 builds an index from entries (e.g. every evidence photo's hash, read from the
// database at start). Ids must be distinct.
func New64[ID comparable](entries []Entry64[ID], opts Options) (*Index64[ID], error) {
	ix, err := newIndex[ID](64, 1, len(entries), opts)
	if err != nil {
		return nil, err
	}
	var buf [1]uint64
	if err := ix.load(len(entries), func(i int) (ID, []uint64) {
		buf[0] = entries[i].Hash
		return entries[i].ID, buf[:]
	}); err != nil {
		return nil, err
	}
	return &Index64[ID]{ix}, nil
}

// Add stores h under id, replacing the hash id had. Now and then an Add rebuilds the tables
// (about a second at 1e7 hashes, off the lock: searches continue meanwhile).
func (x *Index64[ID]) Add(id ID, h uint64) error {
	return x.ix.add(id, []uint64{h})
}

// Remove drops id's hash and reports whether it was there.
func (x *Index64[ID]) Remove(id ID) bool { return x.ix.remove(id) }

// Search returns every stored hash within radius of q (Hamming distance <= radius), nearest
// first and, at equal distance, in the order they were added: the same set a linear scan
// finds. A negative radius finds nothing.
func (x *Index64[ID]) Search(q uint64, radius int) []Match[ID] {
	return x.ix.search(q, nil, radius)
}

// Len is the number of stored hashes.
func (x *Index64[ID]) Len() int { return x.ix.stats().Len }

// Stats describe the index, e.g. for metrics.
func (x *Index64[ID]) Stats() Stats { return x.ix.stats() }

// Index256 is Index64 for 256-bit hashes (PDQ).
type Index256[ID comparable] struct{ ix *index[ID] }

// New256 builds an index of 256-bit hashes from entries. Ids must be distinct.
func New256[ID comparable](entries []Entry256[ID], opts Options) (*Index256[ID], error) {
	ix, err := newIndex[ID](256, 4, len(entries), opts)
	if err != nil {
		return nil, err
	}
	if err := ix.load(len(entries), func(i int) (ID, []uint64) {
		return entries[i].ID, entries[i].Hash[:]
	}); err != nil {
		return nil, err
	}
	return &Index256[ID]{ix}, nil
}

// Add stores h under id, replacing the hash id had.
func (x *Index256[ID]) Add(id ID, h Hash256) error { return x.ix.add(id, h[:]) }

// Remove drops id's hash and reports whether it was there.
func (x *Index256[ID]) Remove(id ID) bool { return x.ix.remove(id) }

// Search returns every stored hash within radius of q, nearest first.
func (x *Index256[ID]) Search(q Hash256, radius int) []Match[ID] {
	return x.ix.search(0, &q, radius)
}

// Len is the number of stored hashes.
func (x *Index256[ID]) Len() int { return x.ix.stats().Len }

// Stats describe the index.
func (x *Index256[ID]) Stats() Stats { return x.ix.stats() }
