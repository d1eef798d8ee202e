package forensics

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// benchPair returns work-sized rasters (long side 1024, as Decode makes them from a 12 MP
// photo) of a reference and an evidence photo derived from it by the given recipe.
func benchPair(b *testing.B, name string, rec synth.Recipe) (ev, ref *Raster) {
	b.Helper()
	s := sceneByName(b, name)
	big := synth.Resize(s.img, 2*s.img.Rect.Dx(), 2*s.img.Rect.Dy(), synth.ScaleCatmullRom)
	refImg, _, err := synth.JPEG(big, 90)
	if err != nil {
		b.Fatal(err)
	}
	e, err := rec.Make(synth.ToRGBA(refImg), rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		b.Fatal(err)
	}
	return testRaster(e.Image, workSide), testRaster(refImg, workSide)
}

func BenchmarkMatchReference(b *testing.B) {
	for _, c := range []struct {
		name string
		rec  synth.Recipe
	}{
		{"resave", synth.Recipe{Quality: 80}},
		{"rotate90+crop", withTransform(synth.Recipe{Crop: [4]float64{0.05, 0.08, 0.93, 0.97}, Quality: 80}, Rotate90)},
		{"closeup", synth.Recipe{Crop: [4]float64{0.3, 0.2, 0.8, 0.7}, Scale: 2, Quality: 80}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev, ref := benchPair(b, "bridge", c.rec)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := MatchReference(context.Background(), ev, ref); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
	b.Run("inset", func(b *testing.B) {
		ev, ref := benchPair(b, "bridge", synth.Recipe{Canvas: synth.AppScreenshot(), Scale: 0.8, Quality: 80})
		b.ReportAllocs()
		for b.Loop() {
			if m, ok := MatchReference(context.Background(), ev, ref); !ok || !m.Inset {
				b.Fatal("no inset match")
			}
		}
	})
	// An unrelated pair costs both searches: the evidence inside the reference, then the
	// reference inside the evidence; "unrelated-noinset" is the first alone.
	ev, _ := benchPair(b, "gps-0010", synth.Recipe{Quality: 80})
	_, ref := benchPair(b, "gps-0012", synth.Recipe{Quality: 80})
	for _, c := range []struct {
		name string
		opts MatchOptions
	}{{"unrelated", MatchOptions{}}, {"unrelated-noinset", MatchOptions{NoInset: true}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchReferenceWith(context.Background(), ev, ref, c.opts)
			}
		})
	}
}

func BenchmarkLocalEdits(b *testing.B) {
	ev, ref := benchPair(b, "bridge", synth.Recipe{Quality: 80, Damage: []synth.Kind{synth.Crack, synth.Stain}})
	m, ok := MatchReference(context.Background(), ev, ref)
	if !ok {
		b.Fatal("no match")
	}
	b.ReportAllocs()
	for b.Loop() {
		LocalEdits(context.Background(), ev, ref, m)
	}
}

// BenchmarkMatchAndEditsVsDecode puts the cost of matching, local edits and the heatmap
// for a 12 MP evidence photo against a 12 MP reference next to decoding both with
// image/jpeg, alternating the two in one loop. The photos are a scene enlarged to
// 4000×3000 with film-like grain added, so that they compress (and decode) like camera
// JPEGs rather than like smooth upscales. The rasters are made from the decodes as the
// decoder makes its work rasters (long side 1024).
func BenchmarkMatchAndEditsVsDecode(b *testing.B) {
	s := sceneByName(b, "wedding")
	big := synth.Resize(s.img, 4000, 3000, synth.ScaleCatmullRom)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i+3 < len(big.Pix); i += 4 {
		g := rng.IntN(17) - 8
		for c := 0; c < 3; c++ {
			big.Pix[i+c] = uint8(max(0, min(255, int(big.Pix[i+c])+g)))
		}
	}
	refImg, refJPEG, err := synth.JPEG(big, 92)
	if err != nil {
		b.Fatal(err)
	}
	rec := withTransform(synth.Recipe{Crop: [4]float64{0.04, 0.03, 0.97, 0.95}, Damage: []synth.Kind{synth.Stain, synth.Crack}, Quality: 88}, MirrorH)
	ev, err := rec.Make(synth.ToRGBA(refImg), rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		b.Fatal(err)
	}
	evR, refR := testRaster(ev.Image, workSide), testRaster(refImg, workSide)
	ctx := context.Background()
	var decode, match, edits time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for _, data := range [][]byte{ev.JPEG, refJPEG} {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		// The decodes' garbage is collected here, not inside the timed stages: the
		// pipeline's first allocations would pay for it either way.
		runtime.GC()
		t1 := time.Now()
		m, ok := MatchReference(ctx, evR, refR)
		if !ok {
			b.Fatal("no match")
		}
		t2 := time.Now()
		le := LocalEdits(ctx, evR, refR, m)
		if err := RenderHeatmap(io.Discard, evR, le); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		decode += t1.Sub(t0)
		match += t2.Sub(t1)
		edits += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(decode.Milliseconds())/n, "decode2-ms/op")
	b.ReportMetric(float64(match.Microseconds())/1000/n, "match-ms/op")
	b.ReportMetric(float64(edits.Microseconds())/1000/n, "edits+heatmap-ms/op")
	b.ReportMetric(float64(match+edits)/float64(decode), "x-decode")
}
