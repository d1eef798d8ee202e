package forensics

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// Generated cases for error-level analysis, with known answers. Every case starts from a
// real photo of testdata/scenes (saved once by image/jpeg at quality 88-85: see its
// README) and is saved as the buyer would send it.

// elaCase is one generated evidence JPEG; truth marks the edited pixels (nil for clean
// cases).
type elaCase struct {
	family string
	scene  string
	data   []byte
	w, h   int
	truth  []bool
	pixels int // edited pixels
	note   string
}

// elaFamily makes one case from a scene (and another scene as a donor).
type elaFamily struct {
	name string
	// strong families are the ones the detection floor is asserted on: the edit's
	// compression history differs in a way the levels keep (see ela.go).
	strong bool
	clean  bool
	// camera families start from the camera JPEGs of elaCameraFiles (the camera's own
	// tables) instead of the scenes: those saved at quality 85 or below (maxCamera 85), or
	// above (minCamera 86).
	camera               bool
	minCamera, maxCamera int
	make                 func(t testing.TB, base, donor *image.RGBA, rng *rand.Rand) elaCase
}

func elaEncode(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func elaDecode(t testing.TB, data []byte) *image.RGBA {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return synth.ToRGBA(img)
}

// elaResave is a JPEG round trip at quality q.
func elaResave(t testing.TB, img image.Image, q int) *image.RGBA {
	return elaDecode(t, elaEncode(t, img, q))
}

// pasteRect copies a w×h rectangle of donor into img at (x, y), from donor's (sx, sy), and
// returns the rectangle's mask over img.
func pasteRect(img, donor *image.RGBA, x, y, sx, sy, w, h int) []bool {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Rect)
	draw.Draw(img, r, donor, image.Pt(sx, sy), draw.Src)
	mask := make([]bool, img.Rect.Dx()*img.Rect.Dy())
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		for xx := r.Min.X; xx < r.Max.X; xx++ {
			mask[yy*img.Rect.Dx()+xx] = true
		}
	}
	return mask
}

// spliceCase pastes a rectangle of a donor saved at donorQ into base, on the 8×8 grid of
// both or off it, and saves the result at finalQ.
func spliceCase(t testing.TB, family string, base, donor *image.RGBA, rng *rand.Rand, donorQ, finalQ int, onGrid bool) elaCase {
	low := elaResave(t, donor, donorQ)
	img := synth.Crop(base, base.Rect)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dw, dh := low.Rect.Dx(), low.Rect.Dy()
	pw := min(int(float64(w)*(0.2+0.2*rng.Float64())), dw-16)
	ph := min(int(float64(h)*(0.2+0.2*rng.Float64())), dh-16)
	x, y := rng.IntN(w-pw), rng.IntN(h-ph)
	sx, sy := rng.IntN(dw-pw), rng.IntN(dh-ph)
	if onGrid {
		x, y, sx, sy = x&^7, y&^7, sx&^7, sy&^7
		pw, ph = pw&^7, ph&^7
	} else if (x-sx)%8 == 0 && (y-sy)%8 == 0 {
		x++ // off the grid means off it
	}
	mask := pasteRect(img, low, x, y, sx, sy, pw, ph)
	return elaCase{family: family, data: elaEncode(t, img, finalQ), w: w, h: h, truth: mask, pixels: pw * ph,
		note: fmt.Sprintf("donor q%d, final q%d, %dx%d at %d,%d", donorQ, finalQ, pw, ph, x, y)}
}

// paintCase saves base at firstQ (the photo as first saved), paints one damage on the
// decoded result and saves it at finalQ.
func paintCase(t testing.TB, family string, base *image.RGBA, rng *rand.Rand, firstQ, finalQ int) elaCase {
	img := elaResave(t, base, firstQ)
	kind := synth.Kinds[rng.IntN(len(synth.Kinds))]
	d := synth.Paint(img, kind, rng)
	return elaCase{family: family, data: elaEncode(t, img, finalQ), w: img.Rect.Dx(), h: img.Rect.Dy(),
		truth: d.Mask, pixels: d.Pixels, note: fmt.Sprintf("%s, first q%d, final q%d", kind, firstQ, finalQ)}
}

// cameraPaintCase paints one damage on a camera photo and saves it at quality 95-98.
func cameraPaintCase(t testing.TB, family string, base *image.RGBA, rng *rand.Rand) elaCase {
	img := synth.Crop(base, base.Rect)
	kind := synth.Kinds[rng.IntN(len(synth.Kinds))]
	d := synth.Paint(img, kind, rng)
	q := between(rng, 95, 98)
	return elaCase{family: family, data: elaEncode(t, img, q), w: img.Rect.Dx(), h: img.Rect.Dy(),
		truth: d.Mask, pixels: d.Pixels, note: fmt.Sprintf("%s, final q%d", kind, q)}
}

func between(rng *rand.Rand, lo, hi int) int { return lo + rng.IntN(hi-lo+1) }

// elaFamilies are the generated kinds of evidence. Strong families: an edit saved at a
// finer quality than the photo before it, and splices from a JPEG saved much coarser, on
// the grid or (with a last save fine enough to keep the photo's own earlier save) off it.
var elaFamilies = []elaFamily{
	{name: "paint, then saved finer", strong: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		return paintCase(t, "paint, then saved finer", base, rng, between(rng, 50, 80), between(rng, 90, 98))
	}},
	{name: "splice on the grid from a coarse JPEG", strong: true, make: func(t testing.TB, base, donor *image.RGBA, rng *rand.Rand) elaCase {
		dq := between(rng, 30, 60)
		return spliceCase(t, "splice on the grid from a coarse JPEG", base, donor, rng, dq, between(rng, max(dq+25, 80), 95), true)
	}},
	{name: "splice off the grid, saved finer", strong: true, make: func(t testing.TB, base, donor *image.RGBA, rng *rand.Rand) elaCase {
		return spliceCase(t, "splice off the grid, saved finer", base, donor, rng, between(rng, 30, 60), between(rng, 95, 98), false)
	}},
	{name: "camera photo (q≤85) painted, saved finer", strong: true, camera: true, maxCamera: 85, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		return cameraPaintCase(t, "camera photo (q≤85) painted, saved finer", base, rng)
	}},
	{name: "camera photo (q86-92) painted, saved finer", camera: true, minCamera: 86, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		return cameraPaintCase(t, "camera photo (q86-92) painted, saved finer", base, rng)
	}},
	{name: "camera photo re-saved", clean: true, camera: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		q := between(rng, 60, 98)
		return elaCase{family: "camera photo re-saved", data: elaEncode(t, base, q), note: fmt.Sprintf("q%d", q)}
	}},
	{name: "paint, then saved coarser", make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		return paintCase(t, "paint, then saved coarser", base, rng, between(rng, 85, 95), between(rng, 50, 80))
	}},
	{name: "splice off the grid, saved at a similar quality", make: func(t testing.TB, base, donor *image.RGBA, rng *rand.Rand) elaCase {
		return spliceCase(t, "splice off the grid, saved at a similar quality", base, donor, rng, between(rng, 30, 60), between(rng, 80, 90), false)
	}},
	{name: "clean re-save", clean: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		q := between(rng, 50, 98)
		return elaCase{family: "clean re-save", data: elaEncode(t, base, q), note: fmt.Sprintf("q%d", q)}
	}},
	{name: "clean re-saved twice", clean: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		q1, q2 := between(rng, 50, 95), between(rng, 50, 98)
		return elaCase{family: "clean re-saved twice", data: elaEncode(t, elaResave(t, base, q1), q2), note: fmt.Sprintf("q%d then q%d", q1, q2)}
	}},
	{name: "clean tone change, re-saved", clean: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		img := synth.Crop(base, base.Rect)
		randomTone(rng).Apply(img)
		q := between(rng, 70, 98)
		return elaCase{family: "clean tone change, re-saved", data: elaEncode(t, img, q), note: fmt.Sprintf("q%d", q)}
	}},
	{name: "clean crop, re-saved", clean: true, make: func(t testing.TB, base, _ *image.RGBA, rng *rand.Rand) elaCase {
		w, h := base.Rect.Dx(), base.Rect.Dy()
		x, y := rng.IntN(w/8), rng.IntN(h/8)
		img := synth.Crop(base, image.Rect(x, y, w-rng.IntN(w/8), h-rng.IntN(h/8)))
		q := between(rng, 85, 98)
		return elaCase{family: "clean crop, re-saved", data: elaEncode(t, img, q), note: fmt.Sprintf("crop at %d,%d, q%d", x, y, q)}
	}},
}

// elaScenes are the scenes cases are made from: all but the featureless ones (sky, sea),
// where a splice or paint has no texture for any compression history to show in.
func elaScenes(t testing.TB) []scene {
	var out []scene
	for _, s := range loadScenes(t) {
		if !strings.HasPrefix(s.name, "sky") && s.name != "sea" {
			out = append(out, s)
		}
	}
	return out
}

// elaCameraFiles are camera JPEGs (each camera's own tables, saved once) that the camera
// families paint on: the exif.org samples, the Nikon GPS series and two larger Canon files.
var elaCameraFiles = []string{
	"exif-org/canon-ixus.jpg", "exif-org/fujifilm-dx10.jpg", "exif-org/fujifilm-finepix40i.jpg",
	"exif-org/fujifilm-mx1700.jpg", "exif-org/kodak-dc210.jpg", "exif-org/kodak-dc240.jpg",
	"exif-org/nikon-e950.jpg", "exif-org/olympus-c960.jpg", "exif-org/olympus-d320l.jpg",
	"exif-org/ricoh-rdc5300.jpg", "exif-org/sanyo-vpcg250.jpg", "exif-org/sanyo-vpcsx550.jpg",
	"exif-org/sony-cybershot.jpg", "exif-org/sony-d700.jpg", "exif-org/sony-powershota5.jpg",
	"gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg", "gps/DSCN0025.jpg",
	"gps/DSCN0027.jpg", "gps/DSCN0029.jpg", "gps/DSCN0038.jpg", "gps/DSCN0040.jpg",
	"gps/DSCN0042.jpg", "hdr/canon_hdr_NO.jpg", "tests/22-canon_tags.jpg",
}

// elaCameraScenes decodes the elaCameraFiles saved at a quality in [minQ, maxQ] (0: no
// bound) — stored pixels; none of them is rotated.
func elaCameraScenes(t testing.TB, minQ, maxQ int) []scene {
	var out []scene
	for _, f := range elaCameraFiles {
		data, err := os.ReadFile(filepath.Join(metaTestdata, "exif-samples", "jpg", f))
		if err != nil {
			t.Fatal(err)
		}
		fm, err := ReadMetadata(data)
		if err != nil || fm.JPEG == nil {
			t.Fatalf("%s: %v", f, err)
		}
		if q := fm.JPEG.Quality.Quality; q < minQ || (maxQ > 0 && q > maxQ) {
			continue
		}
		out = append(out, scene{name: f, img: elaDecode(t, data)})
	}
	return out
}
