package hashindex

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// Benchmarks compare the index with a linear scan over the same flat array, alternating the
// two on every query of one run, and report:
//
//	ns/scan, ns/index  mean time per query
//	speedup            ns/scan ÷ ns/index
//	matches/query      mean number of results (both find the same)
//	B/hash             heap held by the index per stored hash (ids are ints)
//	build-ms           time to build the index from the entry list
//
// Sizes: 1e6 by default; HASHINDEX_BENCH_LARGE=1 adds 1e7 (about 1 GB of heap for 64-bit
// hashes and 2 GB for PDQ, and a few seconds of building each):
//
//	HASHINDEX_BENCH_LARGE=1 go test ./pkg/hashindex -run '^$' -bench . -benchtime 2000x
func benchSizes() []int {
	if os.Getenv("HASHINDEX_BENCH_LARGE") != "" {
		return []int{1_000_000, 10_000_000}
	}
	return []int{1_000_000}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// queryMix returns queries of which half are stored hashes with a few bits flipped (a
// re-saved photo) and half unrelated hashes (most real lookups find nothing).
func queryMix[H any](rng *rand.Rand, stored func(i int) H, n int, random func() H, flip func(H, int) H) []H {
	qs := make([]H, 1000)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = flip(stored(rng.IntN(n)), rng.IntN(5))
		} else {
			qs[i] = random()
		}
	}
	return qs
}

func BenchmarkSearch64(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("n=%.0e", float64(n)), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			entries := make([]Entry64[int], n)
			for i := range entries {
				entries[i] = Entry64[int]{i, rng.Uint64()}
			}
			before := heapInUse()
			start := time.Now()
			ix, err := New64(entries, Options{})
			if err != nil {
				b.Fatal(err)
			}
			build := time.Since(start)
			perHash := float64(heapInUse()-before) / float64(n)
			queries := queryMix(rng, func(i int) uint64 { return entries[i].Hash }, n, rng.Uint64, func(h uint64, d int) uint64 { return flip64(rng, h, d) })
			b.Logf("n=%d: %d substrings, built in %v, %.1f B/hash", n, ix.Stats().Substrings, build, perHash)
			for _, r := range []int{4, 6, 8, 10, 12} {
				b.Run(fmt.Sprintf("r=%d", r), func(b *testing.B) {
					var scanTime, indexTime time.Duration
					matches := 0
					var hits []hit
					for i := 0; i < b.N; i++ {
						q := queries[i%len(queries)]
						t0 := time.Now()
						hits = scan1(ix.ix.words, 0, n, q, r, ix.ix.dead, hits[:0])
						t1 := time.Now()
						got := ix.Search(q, r)
						t2 := time.Now()
						scanTime += t1.Sub(t0)
						indexTime += t2.Sub(t1)
						if len(got) != len(hits) {
							b.Fatalf("index found %d, scan %d", len(got), len(hits))
						}
						matches += len(got)
					}
					reportSearch(b, scanTime, indexTime, matches, perHash, build)
				})
			}
			runtime.KeepAlive(entries)
		})
	}
}

func BenchmarkSearch256(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("n=%.0e", float64(n)), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, uint64(n)))
			random := func() Hash256 { return random256(rng) }
			entries := make([]Entry256[int], n)
			for i := range entries {
				entries[i] = Entry256[int]{i, random()}
			}
			before := heapInUse()
			start := time.Now()
			ix, err := New256(entries, Options{})
			if err != nil {
				b.Fatal(err)
			}
			build := time.Since(start)
			perHash := float64(heapInUse()-before) / float64(n)
			queries := queryMix(rng, func(i int) Hash256 { return entries[i].Hash }, n, random, func(h Hash256, d int) Hash256 { return flip256(rng, h, d*4) })
			b.Logf("n=%d: %d substrings, built in %v, %.1f B/hash", n, ix.Stats().Substrings, build, perHash)
			for _, r := range []int{16, 24, 31} {
				b.Run(fmt.Sprintf("r=%d", r), func(b *testing.B) {
					var scanTime, indexTime time.Duration
					matches := 0
					var hits []hit
					for i := 0; i < b.N; i++ {
						q := queries[i%len(queries)]
						t0 := time.Now()
						hits = scan4(ix.ix.words, 0, n, &q, r, ix.ix.dead, hits[:0])
						t1 := time.Now()
						got := ix.Search(q, r)
						t2 := time.Now()
						scanTime += t1.Sub(t0)
						indexTime += t2.Sub(t1)
						if len(got) != len(hits) {
							b.Fatalf("index found %d, scan %d", len(got), len(hits))
						}
						matches += len(got)
					}
					reportSearch(b, scanTime, indexTime, matches, perHash, build)
				})
			}
			runtime.KeepAlive(entries)
		})
	}
}

func reportSearch(b *testing.B, scanTime, indexTime time.Duration, matches int, perHash float64, build time.Duration) {
	b.ReportMetric(float64(scanTime.Nanoseconds())/float64(b.N), "ns/scan")
	b.ReportMetric(float64(indexTime.Nanoseconds())/float64(b.N), "ns/index")
	b.ReportMetric(float64(scanTime)/float64(indexTime), "speedup")
	b.ReportMetric(float64(matches)/float64(b.N), "matches/query")
	b.ReportMetric(perHash, "B/hash")
	b.ReportMetric(float64(build.Milliseconds()), "build-ms")
}
