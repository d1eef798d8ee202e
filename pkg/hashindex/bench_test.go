package hashindex

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// Benchmarks compare the index with a linear scan over the same flat array of hashes. Each
// b.N iteration is one query; queries run in batches of 10, alternating a batch of scans
// with the same batch through the index, and both are timed with the thread's CPU clock
// (so time spent waiting for a CPU on a shared machine is not counted). Reported:
//
//	ns/scan, ns/index  mean time per query
//	speedup            ns/scan ÷ ns/index
//	matches/query      mean results per query (both must find the same number)
//	B/hash             heap held by the index per stored hash (ids are ints)
//	build-ms           wall time to build the index from the entry list
//	build-cpu-ms       CPU time of the build, all threads (on a loaded machine wall time
//	                   says more about the neighbours than about the build)
//
// Sizes: 1e6 by default; HASHINDEX_BENCH_LARGE=1 adds 1e7 (about 1 GB of heap for 64-bit
// hashes and 2 GB for PDQ, and some seconds of building each):
//
//	HASHINDEX_BENCH_LARGE=1 go test ./pkg/hashindex -run '^$' -bench . -benchtime 500x
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

// built is an index under benchmark and what building it cost.
type built struct {
	n        int
	perHash  float64
	build    time.Duration // wall time
	buildCPU time.Duration // CPU time of all threads (the build runs tables in parallel)
}

// measureBuild runs build and reports its wall time and the heap it left behind per hash.
func measureBuild(n int, build func()) built {
	before := heapInUse()
	start, startCPU := time.Now(), processCPU()
	build()
	took, tookCPU := time.Since(start), processCPU()-startCPU
	return built{n: n, perHash: float64(heapInUse()-before) / float64(n), build: took, buildCPU: tookCPU}
}

// compare runs b.N queries through scan and index (each returns its number of matches),
// alternating batches, and reports the metrics above.
func compare(b *testing.B, bt built, scan, index func(i int) int) {
	const batch = 10
	clk := newThreadClock()
	defer clk.stop()
	var scanTime, indexTime time.Duration
	matches := 0
	for i := 0; i < b.N; i += batch {
		end := min(i+batch, b.N)
		t0 := clk.now()
		scanned := 0
		for j := i; j < end; j++ {
			scanned += scan(j)
		}
		t1 := clk.now()
		found := 0
		for j := i; j < end; j++ {
			found += index(j)
		}
		t2 := clk.now()
		if found != scanned {
			b.Fatalf("queries %d-%d: index found %d, scan %d", i, end-1, found, scanned)
		}
		scanTime += t1 - t0
		indexTime += t2 - t1
		matches += found
	}
	b.ReportMetric(float64(scanTime.Nanoseconds())/float64(b.N), "ns/scan")
	b.ReportMetric(float64(indexTime.Nanoseconds())/float64(b.N), "ns/index")
	b.ReportMetric(float64(scanTime)/float64(indexTime), "speedup")
	b.ReportMetric(float64(matches)/float64(b.N), "matches/query")
	b.ReportMetric(bt.perHash, "B/hash")
	b.ReportMetric(float64(bt.build.Milliseconds()), "build-ms")
	b.ReportMetric(float64(bt.buildCPU.Milliseconds()), "build-cpu-ms")
}

// queryMix returns 1000 queries: half are stored hashes with a few bits flipped (a re-saved
// photo), half unrelated hashes (most lookups in a claims service find nothing).
func queryMix[H any](rng *rand.Rand, n int, stored func(i int) H, random func() H, perturb func(H) H) []H {
	qs := make([]H, 1000)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = perturb(stored(rng.IntN(n)))
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
			var ix *Index64[int]
			bt := measureBuild(n, func() {
				var err error
				if ix, err = New64(entries, Options{}); err != nil {
					b.Fatal(err)
				}
			})
			b.Logf("n=%d: %d substrings, built in %v (%v CPU), %.1f B/hash, timing by %s", n, ix.Stats().Substrings, bt.build, bt.buildCPU, bt.perHash, clockName)
			qs := queryMix(rng, n, func(i int) uint64 { return entries[i].Hash }, rng.Uint64, func(h uint64) uint64 { return flip64(rng, h, rng.IntN(5)) })
			var hits []hit
			for _, r := range []int{4, 6, 8, 10, 12} {
				b.Run(fmt.Sprintf("r=%d", r), func(b *testing.B) {
					compare(b, bt,
						func(i int) int {
							hits = scan1(ix.ix.words, 0, n, qs[i%len(qs)], r, ix.ix.dead, hits[:0])
							return len(hits)
						},
						func(i int) int { return len(ix.Search(qs[i%len(qs)], r)) })
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
			var ix *Index256[int]
			bt := measureBuild(n, func() {
				var err error
				if ix, err = New256(entries, Options{}); err != nil {
					b.Fatal(err)
				}
			})
			b.Logf("n=%d: %d substrings, built in %v (%v CPU), %.1f B/hash, timing by %s", n, ix.Stats().Substrings, bt.build, bt.buildCPU, bt.perHash, clockName)
			qs := queryMix(rng, n, func(i int) Hash256 { return entries[i].Hash }, random, func(h Hash256) Hash256 { return flip256(rng, h, rng.IntN(20)) })
			var hits []hit
			for _, r := range []int{16, 24, 31} {
				b.Run(fmt.Sprintf("r=%d", r), func(b *testing.B) {
					compare(b, bt,
						func(i int) int {
							hits = scan4(ix.ix.words, 0, n, &qs[i%len(qs)], r, ix.ix.dead, hits[:0])
							return len(hits)
						},
						func(i int) int { return len(ix.Search(qs[i%len(qs)], r)) })
				})
			}
			runtime.KeepAlive(entries)
		})
	}
}
