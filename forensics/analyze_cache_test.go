package forensics

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// cacheCase is evidence made from a scene with paint on it, analysed against the scene's
// JPEG (the merchant's catalog photo) and another scene (a decoy the hashes rank first
// or second, decoded either way).
type cacheCase struct {
	name  string
	scene string
	decoy string
	rec   synth.Recipe
}

var cacheCases = []cacheCase{
	{"crack on a re-save", "bag", "bridge", synth.Recipe{Quality: 85, Damage: []synth.Kind{synth.Crack}}},
	{"stain on a cropped mirror image", "wedding", "dog",
		withTransform(synth.Recipe{Crop: [4]float64{0.05, 0.05, 0.95, 0.92}, Quality: 80, Damage: []synth.Kind{synth.Stain}}, MirrorH)},
}

// countedRefs are references whose loads are counted per name.
type countedRefs struct {
	refs  []Reference
	loads map[string]*atomic.Int32
}

func sceneReferences(t testing.TB, names ...string) countedRefs {
	t.Helper()
	cr := countedRefs{loads: map[string]*atomic.Int32{}}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "scenes", name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		n := &atomic.Int32{}
		cr.loads[name+".jpg"] = n
		cr.refs = append(cr.refs, Reference{Name: name + ".jpg", Key: sha256Hex(data),
			Load: func(context.Context) ([]byte, error) { n.Add(1); return data, nil }})
	}
	return cr
}

func (cr countedRefs) loaded() map[string]int {
	out := map[string]int{}
	for name, n := range cr.loads {
		out[name] = int(n.Load())
	}
	return out
}

func (c cacheCase) evidence(t testing.TB) Input {
	t.Helper()
	ev, err := c.rec.Make(sceneByName(t, c.scene).img, rand.New(rand.NewPCG(3, 9)))
	if err != nil {
		t.Fatal(err)
	}
	return Input{Name: c.name + ".jpg", Data: ev.JPEG}
}

// resultJSON is everything an analysis hands back, for comparing two of them.
func resultJSON(t testing.TB, r Result) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		Report   EvidenceReport
		Heatmap  []byte
		Warnings []string
	}{r.Report, r.Heatmap, r.Warnings})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rasterBits copies a raster's planes bit for bit.
func rasterBits(r *Raster) [3][]uint32 {
	var out [3][]uint32
	for i, p := range [3][]float32{r.Y, r.Cb, r.Cr} {
		for _, v := range p {
			out[i] = append(out[i], math.Float32bits(v))
		}
	}
	return out
}

// cachedDecode returns what the cache keeps for a reference of the analyzer.
func cachedDecode(t testing.TB, c *ReferenceCache, a *Analyzer, r Reference) *Decoded {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[r.Key+a.refKeySuffix]
	if !ok || e.elem == nil {
		t.Fatalf("%s is not cached", r.Name)
	}
	return e.dec
}

// TestAnalyzeWithACachedReference: the second analysis against a cached reference reads
// nothing, decodes nothing, and reports exactly what an analysis without a cache reports:
// matching, local edits and the heatmap leave the shared raster as they found it.
func TestAnalyzeWithACachedReference(t *testing.T) {
	ctx := context.Background()
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			ev := tc.evidence(t)
			cr := sceneReferences(t, tc.decoy, tc.scene)
			want := NewAnalyzer(AnalyzerOptions{}).Analyze(ctx, ev, cr.refs, Times{})
			if want.Report.Error != nil || !hasCode(want.Report.Findings, CodeReferenceMatch) ||
				!hasCode(want.Report.Findings, CodeLocalizedEdit) || len(want.Heatmap) == 0 {
				t.Fatalf("the case does not exercise matching, local edits and the heatmap: %+v", want.Report)
			}
			uncachedLoads := cr.loaded()

			cache := NewReferenceCache(64 << 20)
			a := NewAnalyzer(AnalyzerOptions{ReferenceCache: cache})
			first := a.Analyze(ctx, ev, cr.refs, Times{})
			cached := cachedDecode(t, cache, a, cr.refs[1])
			before := rasterBits(cached.Work)
			for i := range 2 {
				got := a.Analyze(ctx, ev, cr.refs, Times{})
				if !bytes.Equal(resultJSON(t, got), resultJSON(t, want)) {
					t.Fatalf("analysis %d with the cached reference:\n%s\nwithout a cache:\n%s", i+2, resultJSON(t, got), resultJSON(t, want))
				}
			}
			if !bytes.Equal(resultJSON(t, first), resultJSON(t, want)) {
				t.Fatalf("the analysis that filled the cache differs from one without it")
			}
			if after := rasterBits(cached.Work); !slices.EqualFunc(before[:], after[:], slices.Equal) {
				t.Fatal("an analysis wrote into the cached reference's raster")
			}
			for name, n := range cr.loaded() {
				if n-uncachedLoads[name] != 1 {
					t.Errorf("%s was loaded %d times by three analyses, want once", name, n-uncachedLoads[name])
				}
			}
			if st := cache.Stats(); st.Misses != 2 || st.Hits != 4 || st.Entries != 2 {
				t.Errorf("cache stats %+v", st)
			}
		})
	}
}

// TestCachedReferencesKeepEachAnalyzersLimits: analyzers sharing a cache never see a decode
// made under other limits or by another backend choice.
func TestCachedReferencesKeepEachAnalyzersLimits(t *testing.T) {
	ctx := context.Background()
	cache := NewReferenceCache(64 << 20)
	// The evidence is shrunk to 307×230, so it fits where the 512×384 reference does not.
	c := cacheCase{scene: "griddle", rec: synth.Recipe{Scale: 0.6, Quality: 90}}
	ev := c.evidence(t)
	cr := sceneReferences(t, "griddle")
	for _, tc := range []struct {
		name      string
		opts      AnalyzerOptions
		matched   bool
		loadsEach int // loads per round: 0 once cached, 1 for a reference it refuses
		firstLoad int
	}{
		{"defaults", AnalyzerOptions{}, true, 0, 1},
		{"a pixel limit under the reference's size", AnalyzerOptions{MaxPixels: 320 * 240}, false, 1, 1},
		{"a byte limit under the reference's size", AnalyzerOptions{MaxBytes: 40 << 10}, false, 1, 1},
		{"the pure-Go backend", AnalyzerOptions{PureGo: true}, true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.ReferenceCache = cache
			a := NewAnalyzer(opts)
			for round := range 2 {
				before := cr.loads["griddle.jpg"].Load()
				res := a.Analyze(ctx, ev, cr.refs, Times{})
				if res.Report.Error != nil {
					t.Fatalf("evidence refused: %v", res.Report.Error)
				}
				if got := hasCode(res.Report.Findings, CodeReferenceMatch); got != tc.matched {
					t.Fatalf("round %d: matched %v, want %v; warnings %v", round, got, tc.matched, res.Warnings)
				}
				if !tc.matched && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], ErrCodeTooLarge)) {
					t.Fatalf("round %d: warnings %v, want the reference refused as too large", round, res.Warnings)
				}
				want := tc.loadsEach
				if round == 0 {
					want = tc.firstLoad
				}
				if got := int(cr.loads["griddle.jpg"].Load() - before); got != want {
					t.Fatalf("round %d: %d loads, want %d", round, got, want)
				}
			}
		})
	}
	if st := cache.Stats(); st.Entries != 2 {
		t.Errorf("kept %d decodes, want one per accepting configuration: %+v", st.Entries, st)
	}
}

// TestShareDecodesWithAReferenceCache: the CLI's per-run sharing and the cache stack: a
// shared slice asks the cache once per reference, however many photos use it.
func TestShareDecodesWithAReferenceCache(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		cache  *ReferenceCache
		keyed  bool
		loads  int
		hits   int64
		misses int64
	}{
		{"no cache", nil, true, 1, 0, 0},
		{"cache", NewReferenceCache(64 << 20), true, 1, 0, 1},
		{"cache, references without keys", NewReferenceCache(64 << 20), false, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := sceneReferences(t, "bag")
			if !tc.keyed {
				cr.refs[0].Key = ""
			}
			a := NewAnalyzer(AnalyzerOptions{ReferenceCache: tc.cache})
			shared := ShareDecodes(cr.refs)
			for _, c := range cacheCases[:1] {
				for range 3 {
					if res := a.Analyze(ctx, c.evidence(t), shared, Times{}); !hasCode(res.Report.Findings, CodeReferenceMatch) {
						t.Fatalf("no match: %+v", res.Report)
					}
				}
			}
			if got := cr.loaded()["bag.jpg"]; got != tc.loads {
				t.Errorf("%d loads, want %d", got, tc.loads)
			}
			if st := tc.cache.Stats(); st.Hits != tc.hits || st.Misses != tc.misses {
				t.Errorf("cache stats %+v", st)
			}
		})
	}
}

// TestReferenceCacheConcurrentAnalyses runs analyses of several photos at once against one
// cache (go test -race): each reference is loaded once, and every report is the one a
// lone analysis without a cache gives.
func TestReferenceCacheConcurrentAnalyses(t *testing.T) {
	ctx := context.Background()
	cr := sceneReferences(t, "bag", "wedding", "bridge")
	plain := NewAnalyzer(AnalyzerOptions{})
	var evs []Input
	var want [][]byte
	for _, c := range cacheCases {
		ev := c.evidence(t)
		evs = append(evs, ev)
		want = append(want, resultJSON(t, plain.Analyze(ctx, ev, cr.refs, Times{})))
	}
	base := cr.loaded()

	cache := NewReferenceCache(64 << 20)
	a := NewAnalyzer(AnalyzerOptions{ReferenceCache: cache})
	const workers, each = 4, 2
	var wg sync.WaitGroup
	got := make([][][]byte, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := (w + i) % len(evs)
				got[w] = append(got[w], resultJSON(t, a.Analyze(ctx, evs[k], cr.refs, Times{})))
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		for i, g := range got[w] {
			if k := (w + i) % len(evs); !bytes.Equal(g, want[k]) {
				t.Errorf("worker %d, analysis %d (%s): the report differs from a lone uncached analysis", w, i, evs[k].Name)
			}
		}
	}
	for name, n := range cr.loaded() {
		if n-base[name] != 1 {
			t.Errorf("%s loaded %d times by %d concurrent analyses, want once", name, n-base[name], workers*each)
		}
	}
	if st := cache.Stats(); st.Misses != 3 || st.Hits != workers*each*3-3 {
		t.Errorf("cache stats %+v", st)
	}
}
