package forensics

import (
	"context"
	"image"
	"image/draw"
	"math/rand/v2"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// editCase derives evidence from a scene, matches it and runs LocalEdits.
func editCase(t *testing.T, scene string, rec synth.Recipe, seed uint64) (synth.Evidence, *Raster, LocalEditResult) {
	t.Helper()
	s := sceneByName(t, scene)
	ev, err := rec.Make(s.img, rand.New(rand.NewPCG(seed, 9)))
	if err != nil {
		t.Fatal(err)
	}
	er := testRaster(ev.Image, workSide)
	m, ok := MatchReference(context.Background(), er, s.raster)
	if !ok {
		t.Fatalf("evidence does not match its reference (corr %.2f)", m.Correlation)
	}
	return ev, er, LocalEdits(context.Background(), er, s.raster, m)
}

func TestLocalEditsLocatesPaint(t *testing.T) {
	for _, c := range []struct {
		name  string
		scene string
		kind  synth.Kind
		rec   synth.Recipe
	}{
		{"crack on a re-save", "bag", synth.Crack, synth.Recipe{Quality: 85}},
		{"stain after rotation", "bridge", synth.Stain, withTransform(synth.Recipe{Quality: 80}, Rotate90)},
		{"tear on a cropped mirror image", "wedding", synth.Tear, withTransform(synth.Recipe{Crop: [4]float64{0.05, 0.05, 0.95, 0.92}, Quality: 75}, MirrorH)},
		{"scratch on a shrunk copy", "griddle", synth.Scratch, synth.Recipe{Scale: 0.6, Quality: 90}},
		{"stain on a colour-shifted close-up", "pumpkin", synth.Stain, synth.Recipe{Crop: [4]float64{0.25, 0.2, 0.8, 0.75}, Scale: 1.5, Tone: synth.Tone{Brightness: 12, Contrast: 1.1, Saturation: 1.3}, Quality: 85}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.rec.Damage = []synth.Kind{c.kind}
			ev, _, le := editCase(t, c.scene, c.rec, 3)
			d := ev.Damage[0]
			if d.Pixels == 0 {
				t.Fatal("the generator painted nothing visible")
			}
			if cov := maskCovered(d, ev.Image.Bounds().Dx(), le.Regions); cov < locatedCover {
				t.Errorf("%s at %v: %.0f%% inside regions %v", d.Kind, d.Bounds, 100*cov, le.Regions)
			}
			if le.ChangedFraction <= 0 || le.ChangedFraction > 0.5 {
				t.Errorf("changed fraction %.4f", le.ChangedFraction)
			}
			if le.Confidence < 0.55 || le.Confidence > 0.97 {
				t.Errorf("confidence %.2f", le.Confidence)
			}
			f, ok := LocalEditFinding("ref.jpg", le)
			if !ok || f.Code != CodeLocalizedEdit || len(f.Regions) != len(le.Regions) || f.ChangedFraction == nil {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func TestLocalEditsIgnoresGlobalChanges(t *testing.T) {
	for _, c := range []struct {
		name  string
		scene string
		rec   synth.Recipe
	}{
		{"re-saved at quality 50", "salad", synth.Recipe{Quality: 50}},
		{"brighter, more contrast, more colour", "flower", synth.Recipe{Tone: synth.Tone{Brightness: 20, Contrast: 1.2, Saturation: 1.4, Gamma: 0.9}, Quality: 85}},
		{"darker and washed out", "harbour", synth.Recipe{Tone: synth.Tone{Brightness: -20, Contrast: 0.8, Saturation: 0.6}, Quality: 85}},
		{"shrunk to 40% by a cheap scaler", "wedding", synth.Recipe{Scale: 0.4, Scaler: synth.ScaleApprox, Quality: 80}},
		{"rotated and cropped", "cannon", withTransform(synth.Recipe{Crop: [4]float64{0.08, 0, 1, 0.9}, Quality: 70}, Rotate270)},
		{"enlarged close-up", "bridge", synth.Recipe{Crop: [4]float64{0.3, 0.3, 0.8, 0.8}, Scale: 2, Scaler: synth.ScaleCatmullRom, Quality: 90}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, le := editCase(t, c.scene, c.rec, 4)
			if le.Edited() {
				t.Errorf("regions %v on an untouched derivation (noise %.1f/%.1f/%.1f)", le.Regions, le.Noise[0], le.Noise[1], le.Noise[2])
			}
			if _, ok := LocalEditFinding("ref.jpg", le); ok {
				t.Error("finding for no regions")
			}
			if le.Compared < 0.8 {
				t.Errorf("compared only %.2f of the evidence", le.Compared)
			}
		})
	}
}

func TestLocalEditsSkipsAreaOutsideReference(t *testing.T) {
	// Evidence that shows more than the reference (here a white strip of 8% added on the
	// right, as a screenshot or a padded upload has) must not turn the strip into a region.
	s := sceneByName(t, "shop")
	w, h := s.img.Rect.Dx(), s.img.Rect.Dy()
	padded := image.NewRGBA(image.Rect(0, 0, w+w*8/100, h))
	draw.Draw(padded, padded.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(padded, s.img.Rect, s.img, image.Point{}, draw.Src)
	img, _, err := synth.JPEG(padded, 90)
	if err != nil {
		t.Fatal(err)
	}
	er := testRaster(img, workSide)
	u1 := float64(padded.Rect.Dx()) / float64(w)
	m := Match{Transform: Identity, Scale: 1, u0: 0, v0: 0, u1: u1, v1: 1}
	le := LocalEdits(context.Background(), er, s.raster, m)
	if le.Edited() {
		t.Errorf("regions %v", le.Regions)
	}
	if want := 1 / u1; le.Compared > want {
		t.Errorf("compared %.3f of the evidence, at most %.3f lies on the reference", le.Compared, want)
	}
}

func TestLocalEditsLumaOnly(t *testing.T) {
	// Rasters without chroma (grey decodes) still get a luma comparison.
	grey := func(r *Raster) *Raster { c := *r; c.Cb, c.Cr = nil, nil; return &c }
	s := sceneByName(t, "bag")
	ev, err := synth.Recipe{Quality: 85, Damage: []synth.Kind{synth.Crack}}.Make(s.img, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	er := grey(testRaster(ev.Image, workSide))
	ref := grey(s.raster)
	m, ok := MatchReference(context.Background(), er, ref)
	if !ok {
		t.Fatal("no match")
	}
	le := LocalEdits(context.Background(), er, ref, m)
	if cov := maskCovered(ev.Damage[0], ev.Image.Bounds().Dx(), le.Regions); cov < locatedCover {
		t.Errorf("crack %.0f%% inside regions %v", 100*cov, le.Regions)
	}
	if le.Noise[1] != 0 || le.Noise[2] != 0 {
		t.Errorf("chroma noise %v without chroma", le.Noise)
	}
}

func TestLocalEditsDegenerateInput(t *testing.T) {
	s := sceneByName(t, "bag").raster
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name    string
		ctx     context.Context
		ev, ref *Raster
		m       Match
	}{
		{"no match", context.Background(), s, s, Match{}},
		{"nil evidence", context.Background(), nil, s, Match{u1: 1, v1: 1}},
		{"canceled", ctx, s, s, Match{Transform: Identity, u1: 1, v1: 1}},
		{"evidence too small to compare", context.Background(), NewRaster(20, 20, true), s, Match{Transform: Identity, u1: 1, v1: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if le := LocalEdits(c.ctx, c.ev, c.ref, c.m); le.Edited() {
				t.Errorf("regions %v", le.Regions)
			}
		})
	}
}

func TestOddShapesDoNotPanic(t *testing.T) {
	// Strips, slivers, single pixels, noise and flat fields, in every pairing, through
	// matching, local edits with odd crops, and the heatmap.
	rng := rand.New(rand.NewPCG(1, 1))
	raster := func(w, h int, flat bool) *Raster {
		r := NewRaster(w, h, true)
		for i := range r.Y {
			r.Y[i], r.Cb[i], r.Cr[i] = 100, 128, 128
			if !flat {
				r.Y[i], r.Cb[i], r.Cr[i] = float32(rng.IntN(256)), float32(rng.IntN(256)), float32(rng.IntN(256))
			}
		}
		return r
	}
	shapes := [][2]int{{16, 16}, {17, 1000}, {1000, 17}, {33, 35}, {64, 2}, {1, 1}, {300, 200}}
	for _, a := range shapes {
		for _, b := range shapes {
			for _, flat := range []bool{false, true} {
				ev, ref := raster(a[0], a[1], flat), raster(b[0], b[1], flat)
				MatchReference(context.Background(), ev, ref)
				for _, m := range []Match{
					{Transform: Rotate90, u1: 1, v1: 1},
					{Transform: Identity, u0: -0.5, v0: 0.2, u1: 1.5, v1: 0.3},
					{Transform: Rotate90, Inset: true, InsetX: -3, InsetY: 2, InsetW: 40, InsetH: 900, u1: 1, v1: 1},
					{Transform: MirrorH, Inset: true, InsetX: 0.5, InsetY: 0.5, InsetW: 1e4, InsetH: 3, u1: 1, v1: 1},
				} {
					HeatmapImage(ev, LocalEdits(context.Background(), ev, ref, m))
				}
			}
		}
	}
}
