// Package hashindex finds stored perceptual hashes within a Hamming radius of a query,
// exactly: the same matches as comparing the query with every stored hash, much faster.
// The service uses it to spot evidence photos reused across claims (duplicate_evidence).
//
//	ix, err := hashindex.New64(entries, hashindex.Options{})   // pHash / dHash, built at start
//	ix.Add("evidence-id", h)                                    // new evidence
//	matches := ix.Search(q, 8)                                  // []Match{ID, Distance}, nearest first
//	ix.Remove("evidence-id")
//
//	pdq, err := hashindex.New256(entries256, hashindex.Options{}) // PDQ, searched at radius 31
//
// Ids are any comparable type; ParseHash64 and ParseHash256 read the hex that forensics
// reports. An index is safe for concurrent use: searches share a read lock, Add and Remove
// take the write lock. Add replaces the hash an id had.
//
// # Multi-index hashing
//
// Each hash is split into m substrings, and each substring gets its own table. If two hashes
// are within radius r, then by the pigeonhole principle some substring differs by at most
// floor(r/m) bits (sharper: with r = q*m + a, one of a+1 substrings within q or another within
// q-1). A search enumerates, for every substring, the values within its radius, collects the
// hashes stored under them, and checks their full distance; a hash is reported only by the
// first substring that can find it, so nothing is reported twice (Norouzi, Punjani and
// Fleet, "Fast exact search in Hamming space with multi-index hashing", TPAMI 2014).
//
// The tables are sorted arrays (compressed sparse rows): a bucket is a range of one array,
// addressed directly by the substring when that gives no more buckets than about 2n,
// otherwise by a hash of it. 64-bit tables store each entry's whole hash next to its slot,
// so a probe reads one contiguous range and never jumps to the hash store. m is chosen at
// every build by a cost model for the design radius (8 for 64-bit, 31 for PDQ): about 3 at
// 1e7 64-bit hashes, 11 for PDQ. A query whose radius is so wide that probing would cost
// more than scanning (or a small index) is answered by a scan.
//
// Hashes added after the last build wait in a tail that searches scan linearly; when the
// tail passes n/256 (at least 1,024, at most 65,536) the tables are rebuilt from a snapshot
// without holding the lock. Removed hashes are skipped at search time and dropped when a
// quarter of the slots are removed (that compaction does hold the lock).
//
// # Measured
//
// On the project's shared 2-vCPU machine (load average 6-20 from other builds), uniformly
// random hashes, int ids, half the queries near a stored hash and half unrelated; times are
// thread CPU time per query, index and scan alternated in one run (bench_test.go), speedups
// as the range over three runs:
//
//	                    scan       index      speedup         memory     build (CPU / wall)
//	64-bit 1e6, r=8     0.7-1.5 ms 65-97 µs   10-17×          103 B/hash 1.2 s / 2.7-3.5 s
//	64-bit 1e7, r=4     7-11 ms    67-91 µs   80-152×
//	64-bit 1e7, r=8     7-11 ms    255-335 µs 28-37×          86 B/hash  11-15 s / 31-61 s
//	64-bit 1e7, r=10    7-13 ms    0.6-1.2 ms 11.5-15.6×
//	PDQ 1e6, r=31       2.6-4 ms   320-650 µs 5.6-8.3×        243 B/hash 0.7 s / 1.3-1.8 s
//	PDQ 1e7, r=31       27-31 ms   1.4-2.2 ms 12-23×          161 B/hash 19 s / 26 s
//
// The goals were 20× at radius 8 for 64-bit hashes and 6× for PDQ at radius 31, at 1e7.
// Memory is the whole index (hashes, tables, ids and the id map); string ids add their own
// bytes and about 16 more per hash. Real perceptual hashes cluster more than random ones,
// which fills some buckets more than others: expect slower lookups than these.
//
// The cost model's constants (plan.go) were fitted to per-query measurements of probes,
// candidates and scans at 1e5-3e6 hashes with 3-6 (64-bit) and 9-16 (PDQ) substrings.
package hashindex
