package forensics

import (
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// workSide is the long side of the rasters the tests analyse, as the decoder's work rasters.
const workSide = 1024

// testRaster builds a work raster from a decoded image the way RasterFromImage does (box
// average to at most maxSide, full-resolution size recorded), reading *image.YCbCr planes
// directly because the generic path is too slow for hundreds of generated cases.
func testRaster(img image.Image, maxSide int) *Raster {
	w, h, y, cb, cr := synth.Planes(img)
	scale := 1.0
	if long := max(w, h); long > maxSide {
		scale = float64(long) / float64(maxSide)
	}
	ow := max(1, int(float64(w)/scale+0.5))
	oh := max(1, int(float64(h)/scale+0.5))
	r := NewRaster(ow, oh, true)
	r.Scale = float64(w) / float64(ow)
	r.FullW, r.FullH = w, h
	for oy := 0; oy < oh; oy++ {
		y0, y1 := oy*h/oh, max((oy+1)*h/oh, oy*h/oh+1)
		for ox := 0; ox < ow; ox++ {
			x0, x1 := ox*w/ow, max((ox+1)*w/ow, ox*w/ow+1)
			var sy, sb, sr float32
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					sy += y[yy*w+xx]
					sb += cb[yy*w+xx]
					sr += cr[yy*w+xx]
				}
			}
			n := float32((y1 - y0) * (x1 - x0))
			i := oy*ow + ox
			r.Y[i], r.Cb[i], r.Cr[i] = sy/n, sb/n, sr/n
		}
	}
	return r
}

// scene is a real photo from testdata/scenes (see its README and NOTICE).
type scene struct {
	name   string
	img    *image.RGBA
	raster *Raster
}

var (
	scenesOnce sync.Once
	scenesAll  []scene
	scenesErr  error
)

// loadScenes decodes every photo in testdata/scenes once per test binary.
func loadScenes(t testing.TB) []scene {
	t.Helper()
	scenesOnce.Do(func() {
		paths, err := filepath.Glob(filepath.Join("testdata", "scenes", "*.jpg"))
		if err != nil || len(paths) == 0 {
			scenesErr = err
			return
		}
		sort.Strings(paths)
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				scenesErr = err
				return
			}
			img, err := jpeg.Decode(f)
			f.Close()
			if err != nil {
				scenesErr = err
				return
			}
			scenesAll = append(scenesAll, scene{
				name:   strings.TrimSuffix(filepath.Base(p), ".jpg"),
				img:    synth.ToRGBA(img),
				raster: testRaster(img, workSide),
			})
		}
	})
	if scenesErr != nil || len(scenesAll) == 0 {
		t.Fatalf("loading testdata/scenes: %v", scenesErr)
	}
	return scenesAll
}

func sceneByName(t testing.TB, name string) scene {
	for _, s := range loadScenes(t) {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no scene %q", name)
	return scene{}
}

// recipeKind is a family of derivations with randomised parameters.
type recipeKind struct {
	name    string
	closeup bool
	make    func(rng *rand.Rand) synth.Recipe
}

func withTransform(r synth.Recipe, t Transform) synth.Recipe {
	if t != Identity {
		r.SourceOf, r.Swap = t.SourceOf, t.SwapsAxes()
	}
	return r
}

func randomCrop(rng *rand.Rand, maxSide float64) [4]float64 {
	return [4]float64{rng.Float64() * maxSide, rng.Float64() * maxSide, 1 - rng.Float64()*maxSide, 1 - rng.Float64()*maxSide}
}

func randomTone(rng *rand.Rand) synth.Tone {
	return synth.Tone{
		Brightness: (rng.Float64()*2 - 1) * 25,
		Contrast:   0.75 + 0.5*rng.Float64(),
		Saturation: 0.5 + 1.1*rng.Float64(),
		Gamma:      0.8 + 0.45*rng.Float64(),
	}
}

func quality(rng *rand.Rand) int { return 50 + rng.IntN(46) }

// recipeKinds are the derivations the detection goals are measured on.
var recipeKinds = []recipeKind{
	{"resave", false, func(rng *rand.Rand) synth.Recipe { return synth.Recipe{Quality: quality(rng)} }},
	{"scale40", false, func(rng *rand.Rand) synth.Recipe {
		return synth.Recipe{Scale: 0.4, Scaler: synth.Scaler(rng.IntN(3)), Quality: quality(rng)}
	}},
	{"crop", false, func(rng *rand.Rand) synth.Recipe {
		return synth.Recipe{Crop: randomCrop(rng, 0.1), Quality: quality(rng)}
	}},
	{"crop+scale", false, func(rng *rand.Rand) synth.Recipe {
		return synth.Recipe{Crop: randomCrop(rng, 0.1), Scale: 0.4 + 0.5*rng.Float64(), Scaler: synth.Scaler(rng.IntN(3)), Quality: quality(rng)}
	}},
	{"tone", false, func(rng *rand.Rand) synth.Recipe {
		return synth.Recipe{Tone: randomTone(rng), Quality: quality(rng)}
	}},
	{"mirror+crop", false, func(rng *rand.Rand) synth.Recipe {
		return withTransform(synth.Recipe{Crop: randomCrop(rng, 0.05), Quality: quality(rng)}, []Transform{MirrorH, MirrorV}[rng.IntN(2)])
	}},
	{"rotate", false, func(rng *rand.Rand) synth.Recipe {
		return withTransform(synth.Recipe{Quality: quality(rng), Scale: 0.6 + 0.4*rng.Float64()}, []Transform{Rotate90, Rotate180, Rotate270}[rng.IntN(3)])
	}},
	{"dihedral+crop+tone", false, func(rng *rand.Rand) synth.Recipe {
		return withTransform(synth.Recipe{Crop: randomCrop(rng, 0.1), Tone: randomTone(rng), Scale: 0.5 + 0.5*rng.Float64(), Quality: quality(rng)}, AllTransforms[rng.IntN(8)])
	}},
	{"closeup", true, func(rng *rand.Rand) synth.Recipe {
		fw, fh := 0.5+0.1*rng.Float64(), 0.5+0.1*rng.Float64()
		x0, y0 := rng.Float64()*(1-fw), rng.Float64()*(1-fh)
		return withTransform(synth.Recipe{Crop: [4]float64{x0, y0, x0 + fw, y0 + fh}, Scale: 1 + rng.Float64(), Scaler: synth.ScaleCatmullRom, Quality: quality(rng)}, AllTransforms[rng.IntN(8)])
	}},
	{"closeup+tone", true, func(rng *rand.Rand) synth.Recipe {
		fw := 0.5 + 0.1*rng.Float64()
		fh := fw
		x0, y0 := rng.Float64()*(1-fw), rng.Float64()*(1-fh)
		return withTransform(synth.Recipe{Crop: [4]float64{x0, y0, x0 + fw, y0 + fh}, Tone: randomTone(rng), Scale: 0.8 + 0.6*rng.Float64(), Quality: quality(rng)}, AllTransforms[rng.IntN(8)])
	}},
}

// insetKind is a family of evidence showing the whole reference inside a larger picture,
// with others (three other scenes) for collages.
type insetKind struct {
	name string
	make func(rng *rand.Rand, others []*image.RGBA) synth.Recipe
}

// insetKinds are the derivations that put the reference inside a larger picture: a solid
// frame, a phone screenshot of the listing, collages; the photo resized to 50-100% first.
var insetKinds = []insetKind{
	{"border", func(rng *rand.Rand, _ []*image.RGBA) synth.Recipe {
		return synth.Recipe{Canvas: synth.Border(), Scale: 0.5 + 0.5*rng.Float64(), Scaler: synth.Scaler(rng.IntN(3)), Quality: quality(rng)}
	}},
	{"border+dihedral+tone", func(rng *rand.Rand, _ []*image.RGBA) synth.Recipe {
		return withTransform(synth.Recipe{Canvas: synth.Border(), Tone: randomTone(rng), Scale: 0.5 + 0.5*rng.Float64(), Quality: quality(rng)}, AllTransforms[rng.IntN(8)])
	}},
	{"app-screenshot", func(rng *rand.Rand, _ []*image.RGBA) synth.Recipe {
		return synth.Recipe{Canvas: synth.AppScreenshot(), Scale: 0.6 + 0.4*rng.Float64(), Quality: quality(rng)}
	}},
	{"collage-2x1", func(rng *rand.Rand, others []*image.RGBA) synth.Recipe {
		cols, rows := 2, 1
		if rng.IntN(2) == 0 {
			cols, rows = 1, 2
		}
		return synth.Recipe{Canvas: synth.Collage(others, cols, rows), Scale: 0.5 + 0.5*rng.Float64(), Quality: quality(rng)}
	}},
	{"collage-2x2", func(rng *rand.Rand, others []*image.RGBA) synth.Recipe {
		return synth.Recipe{Canvas: synth.Collage(others, 2, 2), Scale: 0.5 + 0.5*rng.Float64(), Quality: quality(rng)}
	}},
}

// positiveScenes are the photos evidence is derived from. Featureless ones (sky, sea) are
// left out: nothing can tell two blank skies apart, so they are only negatives.
func positiveScenes(t testing.TB) []scene {
	var out []scene
	for _, s := range loadScenes(t) {
		switch {
		case strings.HasPrefix(s.name, "sky"), s.name == "sea", strings.HasPrefix(s.name, "hdr"), strings.HasPrefix(s.name, "desk"):
			continue
		}
		out = append(out, s)
	}
	return out
}

// rectIoU is the intersection over union of two rectangles given as x, y, w, h.
func rectIoU(ax, ay, aw, ah, bx, by, bw, bh float64) float64 {
	ix := math.Max(0, math.Min(ax+aw, bx+bw)-math.Max(ax, bx))
	iy := math.Max(0, math.Min(ay+ah, by+bh)-math.Max(ay, by))
	inter := ix * iy
	union := aw*ah + bw*bh - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
