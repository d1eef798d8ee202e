package adjudicate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"slices"
	"sync"
	"testing"

	"github.com/refundguard/refundguard/internal/testphoto"

	"github.com/refundguard/refundguard/forensics"
	"github.com/refundguard/refundguard/pkg/adjudicate"
	"github.com/refundguard/refundguard/pkg/blob"
	"github.com/refundguard/refundguard/pkg/claim"
)

// countingBlobs counts reads per key.
type countingBlobs struct {
	*blob.Store
	mu    sync.Mutex
	reads map[string]int
}

func (b *countingBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	b.mu.Lock()
	b.reads[key]++
	b.mu.Unlock()
	return b.Store.Get(ctx, key)
}

func (b *countingBlobs) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads[key]
}

// TestAnalysisReusesCachedReferenceDecodes: with a reference cache, the jobs of two claims
// on one product (two workers, possibly at once) read and decode the merchant's catalog
// photo and the packing photo once between them, keyed by the blob's sha256, and still
// find the catalog photo sent back as evidence.
func TestAnalysisReusesCachedReferenceDecodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cache     *forensics.ReferenceCache
		workers   int
		readsEach int // reads of each reference blob by the two jobs
		misses    int64
		hits      int64
	}{
		{"no cache", nil, 2, 2, 0, 0},
		{"cache", forensics.NewReferenceCache(64 << 20), 2, 1, 2, 2},
		// One worker: jobs running at once would share a decode in flight even when it is
		// not kept afterwards.
		{"a cache too small for any reference", forensics.NewReferenceCache(1 << 10), 1, 2, 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			blobs := &countingBlobs{Store: h.blobs, reads: map[string]int{}}
			var err error
			h.svc, err = adjudicate.New(adjudicate.Config{Store: h.store, Blobs: blobs, Clock: h.clock.Now, Observer: h.observed,
				Analyzer: forensics.NewAnalyzer(forensics.AnalyzerOptions{ReferenceCache: tc.cache})})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// Two orders of one product, each with the same packing photo (one blob).
			o1 := h.order(merchant1, "b1", "T-1")
			o2 := h.order(merchant1, "b2", "T-2")
			catalog, err := h.svc.AddProductImages(ctx, merchant1, "MUG-1", uploads(101))
			if err != nil {
				t.Fatal(err)
			}
			packing, err := h.store.OrderImages(ctx, o1.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Each buyer sends the catalog photo back, re-saved, as "what arrived".
			var resaved bytes.Buffer
			if err := jpeg.Encode(&resaved, testphoto.Image(101, testphoto.Width, testphoto.Height), &jpeg.Options{Quality: 80}); err != nil {
				t.Fatal(err)
			}
			var claims []string
			for _, f := range []struct {
				buyer claim.Principal
				order claim.Order
			}{{buyer1, o1}, {buyer2, o2}} {
				in := claimInput(f.order.ID)
				in.Photos = []adjudicate.Upload{{Name: "arrived.jpg", Data: resaved.Bytes()}}
				d, err := h.svc.FileClaim(ctx, f.buyer, in)
				if err != nil {
					t.Fatal(err)
				}
				claims = append(claims, d.Claim.ID)
			}
			h.runWorkers(adjudicate.WorkerOptions{Workers: tc.workers})
			h.waitIdle()

			for _, id := range claims {
				evs, err := h.store.ListEvidence(ctx, id)
				if err != nil || len(evs) != 1 || len(evs[0].Report) == 0 {
					t.Fatalf("claim %s: evidence %+v %v", id, evs, err)
				}
				var rep forensics.EvidenceReport
				if err := json.Unmarshal(evs[0].Report, &rep); err != nil {
					t.Fatal(err)
				}
				matched := slices.ContainsFunc(rep.Findings, func(f forensics.Finding) bool {
					return f.Code == forensics.CodeReferenceMatch && f.Reference == catalog[0].ID
				})
				if rep.Error != nil || !matched {
					t.Fatalf("claim %s: report %+v does not find catalog photo %s", id, rep, catalog[0].ID)
				}
			}
			for _, img := range []string{packing[0].SHA256, catalog[0].SHA256} {
				if got := blobs.count(img); got != tc.readsEach {
					t.Errorf("reference blob %s read %d times by two jobs, want %d", img[:8], got, tc.readsEach)
				}
			}
			if st := tc.cache.Stats(); st.Misses != tc.misses || st.Hits != tc.hits {
				t.Errorf("cache stats %+v, want %d misses and %d hits", st, tc.misses, tc.hits)
			}
		})
	}
}
