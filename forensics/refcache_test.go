package forensics

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// fakeDecode is a decode whose work raster is w×h with chroma: 12·w·h bytes of planes.
func fakeDecode(w, h int) *Decoded {
	return &Decoded{Format: "jpeg", Width: w, Height: h, Orientation: 1, Work: NewRaster(w, h, true), Backend: BackendGo}
}

// countingLoader hands out fakeDecodes of a fixed size per key and counts the loads.
type countingLoader struct {
	mu    sync.Mutex
	loads map[string]int
	sides map[string]int // key → raster side (square)
	err   map[string]error
}

func (l *countingLoader) load(key string) func(context.Context) (*Decoded, error) {
	return func(context.Context) (*Decoded, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.loads == nil {
			l.loads = map[string]int{}
		}
		l.loads[key]++
		if err := l.err[key]; err != nil {
			return nil, err
		}
		return fakeDecode(l.sides[key], l.sides[key]), nil
	}
}

func (l *countingLoader) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loads[key]
}

func TestDecodedBytesIsTheRastersRealSize(t *testing.T) {
	decoded, raster := int64(unsafe.Sizeof(Decoded{})), int64(unsafe.Sizeof(Raster{}))
	for _, tc := range []struct {
		name string
		dec  *Decoded
		want int64
	}{
		// A 12 MP photo's work raster (decoded at 1/4): three float32 planes, 9 MB.
		{"12 MP work raster", fakeDecode(1000, 750), 3*4*1000*750 + raster + decoded + int64(len("jpeg")+len(BackendGo))},
		{"luma only", &Decoded{Format: "png", Work: NewRaster(640, 480, false)}, 4*640*480 + raster + decoded + 3},
		{"no raster", &Decoded{Format: "gif"}, decoded + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodedBytes(tc.dec); got != tc.want {
				t.Fatalf("decodedBytes = %d, want %d", got, tc.want)
			}
		})
	}
	// Capacity counts, not length: a plane sliced shorter still holds its whole array.
	d := fakeDecode(100, 100)
	full := decodedBytes(d)
	d.Work.Y = d.Work.Y[:10]
	if got := decodedBytes(d); got != full {
		t.Fatalf("a shortened plane changed the size from %d to %d", full, got)
	}
}

func TestReferenceCacheEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	one := decodedBytes(fakeDecode(100, 100)) // every entry below has this size
	for _, tc := range []struct {
		name     string
		budget   int64
		gets     []string
		loads    map[string]int // loads per key after the gets
		kept     []string       // keys still cached, checked by one more get each without a load
		evicted  int64
		wantHits int64
	}{
		{"everything fits", 3 * one, []string{"a", "b", "c", "a", "b", "c"},
			map[string]int{"a": 1, "b": 1, "c": 1}, []string{"a", "b", "c"}, 0, 3},
		{"the least recently used goes", 2 * one, []string{"a", "b", "c"},
			map[string]int{"a": 1, "b": 1, "c": 1}, []string{"b", "c"}, 1, 0},
		{"a hit refreshes an entry", 2 * one, []string{"a", "b", "a", "c"},
			map[string]int{"a": 1, "b": 1, "c": 1}, []string{"a", "c"}, 1, 1},
		{"an evicted entry loads again", 2*one + one/2, []string{"a", "b", "c", "a"},
			map[string]int{"a": 2, "b": 1, "c": 1}, []string{"c", "a"}, 2, 0},
		{"room for one", one, []string{"a", "b", "a"},
			map[string]int{"a": 2, "b": 1}, []string{"a"}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewReferenceCache(tc.budget)
			l := &countingLoader{sides: map[string]int{"a": 100, "b": 100, "c": 100}}
			for _, k := range tc.gets {
				if d, err := c.get(context.Background(), k, l.load(k)); err != nil || d == nil {
					t.Fatalf("get %s: %v", k, err)
				}
			}
			for k, n := range tc.loads {
				if got := l.count(k); got != n {
					t.Errorf("%s loaded %d times, want %d", k, got, n)
				}
			}
			st := c.Stats()
			if st.Hits != tc.wantHits || st.Evictions != tc.evicted || st.Entries != len(tc.kept) ||
				st.Bytes != int64(len(tc.kept))*one || st.MaxBytes != tc.budget || st.Misses != int64(len(tc.gets))-tc.wantHits {
				t.Errorf("stats %+v, want %d hits, %d evictions, %d entries of %d bytes", st, tc.wantHits, tc.evicted, len(tc.kept), one)
			}
			if st.Bytes > tc.budget {
				t.Errorf("%d bytes kept over a budget of %d", st.Bytes, tc.budget)
			}
			for _, k := range tc.kept {
				before := l.count(k)
				c.get(context.Background(), k, l.load(k))
				if l.count(k) != before {
					t.Errorf("%s was not kept", k)
				}
			}
		})
	}
}

func TestReferenceCacheKeys(t *testing.T) {
	c := NewReferenceCache(1 << 30)
	l := &countingLoader{sides: map[string]int{"": 50, "a": 50, "b": 60}}
	ctx := context.Background()
	for range 3 {
		for _, k := range []string{"", "a", "b"} {
			c.get(ctx, k, l.load(k))
		}
	}
	for _, tc := range []struct {
		key   string
		loads int
	}{
		{"", 3}, // no key: never cached
		{"a", 1},
		{"b", 1},
	} {
		if got := l.count(tc.key); got != tc.loads {
			t.Errorf("key %q loaded %d times, want %d", tc.key, got, tc.loads)
		}
	}
	if st := c.Stats(); st.Entries != 2 || st.Hits != 4 || st.Misses != 2 {
		t.Errorf("stats %+v: the keyless loads must not count", st)
	}
	// Distinct keys keep distinct decodes.
	a, _ := c.get(ctx, "a", l.load("a"))
	b, _ := c.get(ctx, "b", l.load("b"))
	if a == b || a.Width != 50 || b.Width != 60 {
		t.Errorf("a %dpx and b %dpx share an entry", a.Width, b.Width)
	}

	// A nil cache (NewReferenceCache(0), --reference-cache 0) loads every time.
	var none *ReferenceCache = NewReferenceCache(0)
	if none != nil {
		t.Fatal("NewReferenceCache(0) is not the disabled cache")
	}
	for range 2 {
		none.get(ctx, "a", l.load("a"))
	}
	if got := l.count("a"); got != 3 {
		t.Errorf("the disabled cache loaded a %d times in all, want 1 + 2", got)
	}
	if st := none.Stats(); st != (ReferenceCacheStats{}) {
		t.Errorf("nil cache stats %+v", st)
	}
}

func TestReferenceCacheBiggerThanTheBudget(t *testing.T) {
	small := decodedBytes(fakeDecode(10, 10))
	c := NewReferenceCache(small * 2)
	l := &countingLoader{sides: map[string]int{"big": 1000, "small": 10}}
	ctx := context.Background()
	c.get(ctx, "small", l.load("small"))
	for i := range 2 {
		d, err := c.get(ctx, "big", l.load("big"))
		if err != nil || d == nil || d.Work.W != 1000 {
			t.Fatalf("get %d of a reference over the budget: %v %v", i, d, err)
		}
	}
	if got := l.count("big"); got != 2 {
		t.Errorf("the oversized reference loaded %d times, want every time (2)", got)
	}
	// It did not push out what fits.
	if st := c.Stats(); st.Entries != 1 || st.Bytes != small || st.Evictions != 0 {
		t.Errorf("stats %+v after an oversized reference", st)
	}
	c.get(ctx, "small", l.load("small"))
	if got := l.count("small"); got != 1 {
		t.Errorf("small loaded %d times", got)
	}
}

func TestReferenceCacheErrorsAreNotCached(t *testing.T) {
	broken := &Error{Code: ErrCodeCorrupt, Message: "broken"}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"undecodable", broken},
		{"unreadable", fmt.Errorf("reading blob: %w", errors.New("disk gone"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewReferenceCache(1 << 30)
			l := &countingLoader{sides: map[string]int{"a": 20}, err: map[string]error{"a": tc.err}}
			ctx := context.Background()
			for range 2 {
				if _, err := c.get(ctx, "a", l.load("a")); !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
			}
			if got := l.count("a"); got != 2 {
				t.Errorf("a failing reference loaded %d times, want every time (2)", got)
			}
			// Once the store is back, the reference is decoded and kept.
			l.mu.Lock()
			delete(l.err, "a")
			l.mu.Unlock()
			for range 2 {
				if d, err := c.get(ctx, "a", l.load("a")); err != nil || d == nil {
					t.Fatalf("after recovery: %v", err)
				}
			}
			if got, st := l.count("a"), c.Stats(); got != 3 || st.Entries != 1 || st.Misses != 3 || st.Hits != 1 {
				t.Errorf("%d loads, stats %+v", got, st)
			}
		})
	}
}

// blockedLoad is a load that waits until released, counting its calls.
type blockedLoad struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
	dec     *Decoded
	err     error
}

func newBlockedLoad(dec *Decoded, err error) *blockedLoad {
	return &blockedLoad{started: make(chan struct{}, 16), release: make(chan struct{}), dec: dec, err: err}
}

func (b *blockedLoad) load(ctx context.Context) (*Decoded, error) {
	b.calls.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
		return b.dec, b.err
	case <-ctx.Done():
		return nil, canceledError(ctx.Err())
	}
}

// waitHits waits (without a deadline: the test binary's timeout is the limit) until n
// callers have found the entry, i.e. joined the load in flight.
func waitHits(c *ReferenceCache, n int64) {
	for c.Stats().Hits < n {
		runtime.Gosched()
	}
}

func TestReferenceCacheSingleFlight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		waiters int
	}{
		{"a decode is shared", nil, 7},
		{"a failure is shared, then forgotten", &Error{Code: ErrCodeCorrupt, Message: "broken"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewReferenceCache(1 << 30)
			want := fakeDecode(30, 20)
			bl := newBlockedLoad(want, tc.err)
			ctx := context.Background()
			type result struct {
				dec *Decoded
				err error
			}
			results := make(chan result, tc.waiters+1)
			get := func() {
				d, err := c.get(ctx, "k", bl.load)
				results <- result{d, err}
			}
			go get()
			<-bl.started
			for range tc.waiters {
				go get()
			}
			waitHits(c, int64(tc.waiters))
			close(bl.release)
			for range tc.waiters + 1 {
				r := <-results
				if tc.err != nil {
					if !errors.Is(r.err, tc.err) {
						t.Errorf("got %v, want the loader's %v", r.err, tc.err)
					}
				} else if r.err != nil || r.dec != want {
					t.Errorf("got %p %v, want the one decode %p", r.dec, r.err, want)
				}
			}
			if n := bl.calls.Load(); n != 1 {
				t.Fatalf("%d callers decoded %d times", tc.waiters+1, n)
			}
			if st := c.Stats(); st.Misses != 1 || st.Hits != int64(tc.waiters) {
				t.Errorf("stats %+v", st)
			}
			if tc.err != nil {
				if st := c.Stats(); st.Entries != 0 {
					t.Errorf("the failure was kept: %+v", st)
				}
				ok := newBlockedLoad(want, nil)
				close(ok.release)
				if d, err := c.get(ctx, "k", ok.load); err != nil || d != want || ok.calls.Load() != 1 {
					t.Errorf("after a shared failure: %v %v, %d loads", d, err, ok.calls.Load())
				}
			}
		})
	}
}

func TestReferenceCacheCancellation(t *testing.T) {
	t.Run("the loader's analysis ends: a waiter loads itself", func(t *testing.T) {
		c := NewReferenceCache(1 << 30)
		want := fakeDecode(30, 20)
		bl := newBlockedLoad(want, nil)
		loaderCtx, cancelLoader := context.WithCancel(context.Background())
		loaderErr := make(chan error, 1)
		go func() {
			_, err := c.get(loaderCtx, "k", bl.load)
			loaderErr <- err
		}()
		<-bl.started
		waiter := make(chan *Decoded, 1)
		go func() {
			d, err := c.get(context.Background(), "k", bl.load)
			if err != nil {
				t.Errorf("waiter: %v", err)
			}
			waiter <- d
		}()
		waitHits(c, 1)
		cancelLoader()
		if err := <-loaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("loader: %v", err)
		}
		<-bl.started // the waiter's own load
		close(bl.release)
		if d := <-waiter; d != want {
			t.Fatalf("waiter got %v", d)
		}
		if n := bl.calls.Load(); n != 2 {
			t.Fatalf("%d loads, want the cancelled one and the waiter's", n)
		}
		if st := c.Stats(); st.Entries != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("a waiter's analysis ends: it stops waiting, the load goes on", func(t *testing.T) {
		c := NewReferenceCache(1 << 30)
		want := fakeDecode(30, 20)
		bl := newBlockedLoad(want, nil)
		loader := make(chan *Decoded, 1)
		go func() {
			d, _ := c.get(context.Background(), "k", bl.load)
			loader <- d
		}()
		<-bl.started
		waiterCtx, cancelWaiter := context.WithCancel(context.Background())
		waiterErr := make(chan error, 1)
		go func() {
			_, err := c.get(waiterCtx, "k", bl.load)
			waiterErr <- err
		}()
		waitHits(c, 1)
		cancelWaiter()
		if err := <-waiterErr; !errors.Is(err, context.Canceled) || AsError(err).Code != ErrCodeCanceled {
			t.Fatalf("waiter: %v", err)
		}
		close(bl.release)
		if d := <-loader; d != want {
			t.Fatalf("loader got %v", d)
		}
		if n := bl.calls.Load(); n != 1 {
			t.Fatalf("%d loads", n)
		}
	})
}

func TestReferenceCacheSurvivesAPanickingLoad(t *testing.T) {
	c := NewReferenceCache(1 << 30)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		c.get(context.Background(), "k", func(context.Context) (*Decoded, error) { panic("decoder bug") })
	}()
	// The key is not stuck in flight: the next caller loads.
	l := &countingLoader{sides: map[string]int{"k": 10}}
	if d, err := c.get(context.Background(), "k", l.load("k")); err != nil || d == nil || l.count("k") != 1 {
		t.Fatalf("after a panic: %v %v", d, err)
	}
}
