package forensics

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"unsafe"
)

// ReferenceCache keeps decoded reference photos between analyses, so that a product's
// catalog photos, compared with the evidence of every claim on it, are read and decoded
// once rather than once per analysis. It is bounded by the bytes of the decoded work
// rasters (luma and chroma, float32: about 9 MB for a 12 MP photo), evicting the least
// recently used; a reference larger than the whole budget is decoded and used but not
// kept. Concurrent requests for one reference share a single load and decode.
//
// Failed loads and decodes are not kept: the next analysis tries again (a blob store that
// was briefly unreachable must not hide a reference for long, and references were decoded
// once already when they were stored, so a failure is rare). Callers waiting on a load
// that another analysis's cancellation cut short load it themselves.
//
// Entries are only ever read: matching, local edits and the heatmap treat the reference's
// raster as immutable, so one *Decoded serves any number of concurrent analyses.
//
// Give it to analyzers through AnalyzerOptions.ReferenceCache; only references with a Key
// are cached. A nil *ReferenceCache caches nothing. It is safe for concurrent use.
type ReferenceCache struct {
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*refEntry // kept entries and loads in flight
	lru     list.List            // kept entries, most recently used first
	bytes   int64
	stats   ReferenceCacheStats
}

// refEntry is one reference's decode, kept or being loaded.
type refEntry struct {
	key  string
	done chan struct{} // closed when the load has ended; dec and err are set by then
	dec  *Decoded
	err  error
	size int64
	elem *list.Element // in lru while kept
}

// ReferenceCacheStats are a cache's counters since it was made and its contents now.
type ReferenceCacheStats struct {
	// Hits are decodes served from the cache, including those that joined a load another
	// analysis had started.
	Hits int64
	// Misses are loads and decodes the cache ran (failed ones included).
	Misses int64
	// Evictions are entries dropped to make room.
	Evictions int64
	Entries   int   // references kept
	Bytes     int64 // their decoded size
	MaxBytes  int64 // the budget
}

// NewReferenceCache returns a cache of at most maxBytes of decoded references, or nil (no
// caching) when maxBytes <= 0.
func NewReferenceCache(maxBytes int64) *ReferenceCache {
	if maxBytes <= 0 {
		return nil
	}
	return &ReferenceCache{maxBytes: maxBytes, entries: make(map[string]*refEntry)}
}

// Stats returns the cache's counters; zero for a nil cache.
func (c *ReferenceCache) Stats() ReferenceCacheStats {
	if c == nil {
		return ReferenceCacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Entries, st.Bytes, st.MaxBytes = c.lru.Len(), c.bytes, c.maxBytes
	return st
}

// get returns the decode kept under key, or runs load once for all callers asking for key
// meanwhile and keeps its result when it succeeds and fits.
func (c *ReferenceCache) get(ctx context.Context, key string, load func(context.Context) (*Decoded, error)) (*Decoded, error) {
	if c == nil || key == "" {
		return load(ctx)
	}
	for {
		c.mu.Lock()
		e, ok := c.entries[key]
		if !ok {
			break // c.mu stays locked for the load's set-up below
		}
		c.stats.Hits++
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			return e.dec, nil
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, canceledError(ctx.Err())
		}
		if e.err != nil && isCancellation(e.err) && ctx.Err() == nil {
			continue // the loader's analysis was cut short, not ours: try again
		}
		return e.dec, e.err
	}
	e := &refEntry{key: key, done: make(chan struct{})}
	c.entries[key] = e
	c.stats.Misses++
	c.mu.Unlock()

	finished := false
	defer func() {
		if !finished { // load panicked: release the waiters, keep nothing
			e.err = errors.New("reference load panicked")
			c.finish(e)
		}
	}()
	e.dec, e.err = load(ctx)
	finished = true
	c.finish(e)
	return e.dec, e.err
}

// finish keeps a loaded entry if it succeeded and fits, evicting the least recently used,
// and wakes the callers waiting for it.
func (c *ReferenceCache) finish(e *refEntry) {
	c.mu.Lock()
	if e.err == nil && e.dec != nil {
		e.size = decodedBytes(e.dec)
	}
	if e.err != nil || e.dec == nil || e.size > c.maxBytes {
		delete(c.entries, e.key)
	} else {
		e.elem = c.lru.PushFront(e)
		c.bytes += e.size
		for c.bytes > c.maxBytes {
			old := c.lru.Remove(c.lru.Back()).(*refEntry)
			delete(c.entries, old.key)
			c.bytes -= old.size
			c.stats.Evictions++
		}
	}
	c.mu.Unlock()
	close(e.done)
}

// decodedBytes is the memory a kept decode holds: its work raster's planes (their capacity,
// which is what stays allocated) and the structs around them.
func decodedBytes(d *Decoded) int64 {
	n := int64(unsafe.Sizeof(*d)) + int64(len(d.Format)+len(d.Backend))
	if r := d.Work; r != nil {
		n += int64(unsafe.Sizeof(*r))
		n += int64(cap(r.Y)+cap(r.Cb)+cap(r.Cr)) * int64(unsafe.Sizeof(float32(0)))
	}
	return n
}

// isCancellation reports whether err is a context's end rather than a fault of the reference.
func isCancellation(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		AsError(err).Code == ErrCodeCanceled
}
