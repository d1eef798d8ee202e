package jpegscale

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// variants are the test JPEGs (testdata/gen.go): every layout the decoder scales.
func variants(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*.jpg")
	if err != nil || len(files) < 19 {
		t.Fatalf("test JPEGs missing (%d found, %v); run testdata/gen.go", len(files), err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

// planes lists an image's 8-bit planes with their size in pixels (grey, YCbCr, the four
// CMYK channels, or RGB from an RGBA image), so full and reduced decodes compare plane by
// plane.
type plane struct {
	pix          []byte
	w, h, stride int
	step         int // bytes between horizontally adjacent pixels
}

func planesOf(t testing.TB, img image.Image) []plane {
	t.Helper()
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		return []plane{{m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.Stride, 1}}
	case *image.YCbCr:
		cw, ch := b.Dx(), b.Dy()
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			cw = (b.Max.X+1)/2 - b.Min.X/2
		case image.YCbCrSubsampleRatio420:
			cw, ch = (b.Max.X+1)/2-b.Min.X/2, (b.Max.Y+1)/2-b.Min.Y/2
		case image.YCbCrSubsampleRatio440:
			ch = (b.Max.Y+1)/2 - b.Min.Y/2
		case image.YCbCrSubsampleRatio411:
			cw = (b.Max.X+3)/4 - b.Min.X/4
		case image.YCbCrSubsampleRatio410:
			cw, ch = (b.Max.X+3)/4-b.Min.X/4, (b.Max.Y+1)/2-b.Min.Y/2
		}
		c := m.COffset(b.Min.X, b.Min.Y)
		return []plane{
			{m.Y[m.YOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.YStride, 1},
			{m.Cb[c:], cw, ch, m.CStride, 1},
			{m.Cr[c:], cw, ch, m.CStride, 1},
		}
	case *image.RGBA:
		var ps []plane
		for i := range 3 {
			ps = append(ps, plane{m.Pix[m.PixOffset(b.Min.X, b.Min.Y)+i:], b.Dx(), b.Dy(), m.Stride, 4})
		}
		return ps
	case *image.CMYK:
		var ps []plane
		for i := range 4 {
			ps = append(ps, plane{m.Pix[m.PixOffset(b.Min.X, b.Min.Y)+i:], b.Dx(), b.Dy(), m.Stride, 4})
		}
		return ps
	}
	t.Fatalf("unexpected image type %T", img)
	return nil
}

func (p plane) at(x, y int) byte { return p.pix[y*p.stride+x*p.step] }

// boxError compares a reduced plane box-averaged by g with the full plane box-averaged by
// s·g (cells cut at the planes' edges): the mean absolute difference in levels, and the
// largest over cells inside the picture (edge cells of a partial MCU are reduced with the
// encoder's padding, which the full decode crops).
func boxError(full, red plane, s, g int) (mean, worstInside float64) {
	var sum float64
	cells := 0
	for y := 0; y < red.h; y += g {
		for x := 0; x < red.w; x += g {
			f := full.mean(x*s, y*s, (x+g)*s, (y+g)*s)
			d := math.Abs(f - red.mean(x, y, x+g, y+g))
			sum += d
			if (x+g)*s <= full.w && (y+g)*s <= full.h {
				worstInside = max(worstInside, d)
			}
			cells++
		}
	}
	return sum / float64(cells), worstInside
}

// mean is the plane's mean over [x0, x1) × [y0, y1), cut at its edges.
func (p plane) mean(x0, y0, x1, y1 int) float64 {
	var acc, n float64
	for y := y0; y < min(y1, p.h); y++ {
		for x := x0; x < min(x1, p.w); x++ {
			acc += float64(p.at(x, y))
			n++
		}
	}
	return acc / n
}

// TestDecodeEqualsImageJPEG: at scale 1, with and without strips, the pixels and the
// image type are image/jpeg's.
func TestDecodeEqualsImageJPEG(t *testing.T) {
	for name, data := range variants(t) {
		t.Run(name, func(t *testing.T) {
			want, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			assertSameImage(t, want, got)
			assertSameImage(t, want, decodeStrips(t, data, 1))
			wc, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			gc, err := DecodeConfig(bytes.NewReader(data))
			if err != nil || gc != wc {
				t.Errorf("config %+v, %v; image/jpeg %+v", gc, err, wc)
			}
		})
	}
}

func assertSameImage(t *testing.T, want, got image.Image) {
	t.Helper()
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) || want.Bounds() != got.Bounds() {
		t.Fatalf("got %T %v, want %T %v", got, got.Bounds(), want, want.Bounds())
	}
	if sw, ok := want.(*image.YCbCr); ok && sw.SubsampleRatio != got.(*image.YCbCr).SubsampleRatio {
		t.Fatalf("subsampling %v, want %v", got.(*image.YCbCr).SubsampleRatio, sw.SubsampleRatio)
	}
	wp, gp := planesOf(t, want), planesOf(t, got)
	for i := range wp {
		for y := range wp[i].h {
			for x := range wp[i].w {
				if a, b := wp[i].at(x, y), gp[i].at(x, y); a != b {
					t.Fatalf("plane %d (%d,%d): %d, image/jpeg %d", i, x, y, b, a)
				}
			}
		}
	}
}

// decodeStrips decodes with Options.Rows and assembles the strips into one image of the
// type they come in, checking that they arrive in order and cover the picture once.
func decodeStrips(t *testing.T, data []byte, scale int) image.Image {
	t.Helper()
	var out image.Image
	next := 0
	img, err := DecodeWith(bytes.NewReader(data), Options{Scale: scale, Rows: func(s image.Image) error {
		b := s.Bounds()
		if b.Min.Y != next || b.Min.X != 0 || b.Empty() {
			t.Fatalf("strip %v after row %d", b, next)
		}
		next = b.Max.Y
		out = appendStrip(t, out, s)
		return nil
	}})
	if err != nil || img != nil {
		t.Fatalf("DecodeWith with Rows: %v, %v", img, err)
	}
	if out == nil || out.Bounds().Dy() != next {
		t.Fatalf("strips cover %d rows", next)
	}
	return out
}

// appendStrip copies strip s below acc (a fresh image of s's type grown to s's last row).
func appendStrip(t *testing.T, acc, s image.Image) image.Image {
	t.Helper()
	b := s.Bounds()
	r := image.Rect(0, 0, b.Max.X, b.Max.Y)
	var grown image.Image
	switch m := s.(type) {
	case *image.Gray:
		g := image.NewGray(r)
		if acc != nil {
			copy(g.Pix, acc.(*image.Gray).Pix)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			copy(g.Pix[g.PixOffset(0, y):g.PixOffset(b.Max.X, y)], m.Pix[m.PixOffset(0, y):])
		}
		grown = g
	case *image.YCbCr:
		g := image.NewYCbCr(r, m.SubsampleRatio)
		if acc != nil {
			a := acc.(*image.YCbCr)
			copy(g.Y, a.Y)
			copy(g.Cb, a.Cb)
			copy(g.Cr, a.Cr)
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			copy(g.Y[g.YOffset(0, y):g.YOffset(b.Max.X-1, y)+1], m.Y[m.YOffset(0, y):])
			c0, c1 := g.COffset(0, y), g.COffset(b.Max.X-1, y)+1
			copy(g.Cb[c0:c1], m.Cb[m.COffset(0, y):])
			copy(g.Cr[c0:c1], m.Cr[m.COffset(0, y):])
		}
		grown = g
	default:
		if acc != nil {
			t.Fatalf("%T arrived in more than one strip", s)
		}
		return s
	}
	return grown
}

// TestScaledIsBoxAverage: every layout at 1/2, 1/4 and 1/8 is the full decode
// box-averaged, plane by plane (chroma planes keep their subsampling), to within rounding
// and the clamping of single full-size pixels; strips give the same pixels.
func TestScaledIsBoxAverage(t *testing.T) {
	for name, data := range variants(t) {
		full, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []int{2, 4, 8} {
			t.Run(fmt.Sprintf("%s/1:%d", name, s), func(t *testing.T) {
				red, err := DecodeWith(bytes.NewReader(data), Options{Scale: s})
				if err != nil {
					t.Fatal(err)
				}
				fb := full.Bounds()
				want := image.Rect(0, 0, (fb.Dx()+s-1)/s, (fb.Dy()+s-1)/s)
				if red.Bounds() != want || fmt.Sprintf("%T", red) != fmt.Sprintf("%T", full) {
					t.Fatalf("%T %v, want %T %v", red, red.Bounds(), full, want)
				}
				// Colour converted after reduction (YCCK here) mixes each pixel's luma
				// with chroma that, as planes keep their ratio, now spans 2×2 reduced
				// pixels: compare those at the chroma's resolution.
				g := 1
				if name == "ycck-420.jpg" {
					g = 2
				}
				fp, rp := planesOf(t, full), planesOf(t, red)
				for i := range fp {
					mean, worst := boxError(fp[i], rp[i], s, g)
					t.Logf("plane %d: %dx%d, mean error %.3f, worst inside %.1f", i, rp[i].w, rp[i].h, mean, worst)
					// Both decodes round (a mean error of ~0.25 levels); clamped
					// full-size pixels add a little inside, padding a little at edges.
					if mean > 1 || worst > 3 {
						t.Errorf("plane %d: mean error %.3f levels, worst inside %.1f", i, mean, worst)
					}
				}
				assertSameImage(t, red, decodeStrips(t, data, s))
			})
		}
	}
}

// TestReducedIDCTIsBoxAverage checks the fixed-point reduced IDCTs on random blocks against
// the box average of the exact (floating-point) IDCT: never more than one level apart
// (a rounding tie or the clamp), and exact on nearly every pixel.
func TestReducedIDCTIsBoxAverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q block
	for i := range q {
		q[i] = int32(1 + rng.IntN(40))
	}
	for _, shift := range []uint{1, 2, 3} {
		n := 8 >> shift
		off, total := 0, 0
		for range 20000 {
			var b block
			b[0] = int32(rng.IntN(256) - 128)
			for k := rng.IntN(64); k > 0; k-- { // sparse, as real blocks are
				b[rng.IntN(64)] = int32(rng.NormFloat64() * 12)
			}
			ref := exactIDCT(&b, &q)
			dst := make([]byte, n*n)
			bc := b
			idctScaled(&bc, &q, shift, dst, n)
			for y := range n {
				for x := range n {
					var s float64
					m := 8 / n
					for j := range m {
						for i := range m {
							s += ref[(y*m+j)*8+x*m+i]
						}
					}
					// Off by more than half a level means the other side of a rounding
					// tie (DC-only blocks land on ties often) or a real error.
					want := min(max(s/float64(m*m)+128, 0), 255)
					d := math.Abs(want - float64(dst[y*n+x]))
					if d > 1 {
						t.Fatalf("%dx%d: pixel (%d,%d) %d, exact box average %v", n, n, x, y, dst[y*n+x], want)
					}
					if d > 0.5+1e-3 {
						off++
					}
					total++
				}
			}
		}
		if float64(off) > 0.001*float64(total) {
			t.Errorf("%dx%d: %d of %d pixels off by one", n, n, off, total)
		}
	}
}

// exactIDCT is the JPEG IDCT (ITU T.81 A.3.3) of the dequantized block, unrounded.
func exactIDCT(b, q *block) [64]float64 {
	var basis [8][8]float64 // basis[x][u] = C(u)/2·cos((2x+1)uπ/16)
	for x := range 8 {
		for u := range 8 {
			c := 0.5
			if u == 0 {
				c /= math.Sqrt2
			}
			basis[x][u] = c * math.Cos(float64((2*x+1)*u)*math.Pi/16)
		}
	}
	var out [64]float64
	for y := range 8 {
		for x := range 8 {
			var s float64
			for v := range 8 {
				for u := range 8 {
					s += basis[y][v] * basis[x][u] * float64(b[v*8+u]*q[v*8+u])
				}
			}
			out[y*8+x] = s
		}
	}
	return out
}

// TestBrokenInputFailsLikeImageJPEG cuts and overwrites every test JPEG: at every scale,
// whole or in strips, the decoder must fail when image/jpeg fails (with the same error)
// and decode when it decodes, never panic. The one refusal of its own: a streamed
// sequential frame followed by another scan.
func TestBrokenInputFailsLikeImageJPEG(t *testing.T) {
	for name, data := range variants(t) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(data)), 9))
			var inputs [][]byte
			for k := 1; k < 12; k++ {
				inputs = append(inputs, data[:len(data)*k/12])
			}
			for range 12 {
				m := bytes.Clone(data)
				for range 1 + rng.IntN(6) {
					m[2+rng.IntN(len(m)-2)] = byte(rng.IntN(256))
				}
				inputs = append(inputs, m)
			}
			for _, in := range inputs {
				compareWithImageJPEG(t, in)
			}
		})
	}
}

// compareWithImageJPEG decodes in with image/jpeg and with every scale, whole and in
// strips, and fails on any disagreement about whether (and why) the input is refused.
func compareWithImageJPEG(t testing.TB, in []byte) {
	t.Helper()
	_, wantErr := jpeg.Decode(bytes.NewReader(in))
	for _, s := range []int{1, 2, 4, 8} {
		for _, strips := range []bool{false, true} {
			o := Options{Scale: s}
			if strips {
				o.Rows = func(image.Image) error { return nil }
			}
			img, err := DecodeWith(bytes.NewReader(in), o)
			if strips && err == errSecondScan {
				continue
			}
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("scale %d, strips %v: error %v, image/jpeg %v", s, strips, err, wantErr)
			}
			if err == nil && !strips && img == nil {
				t.Fatalf("scale %d: no image and no error", s)
			}
		}
	}
}

// TestRowsErrorStops: an error from Rows ends the decode and is returned.
func TestRowsErrorStops(t *testing.T) {
	stop := fmt.Errorf("enough")
	for name, data := range variants(t) {
		calls := 0
		_, err := DecodeWith(bytes.NewReader(data), Options{Scale: 2, Rows: func(image.Image) error {
			calls++
			return stop
		}})
		if err != stop || calls != 1 {
			t.Errorf("%s: %v after %d calls", name, err, calls)
		}
	}
}

func TestDecodeWithRefusesOtherScales(t *testing.T) {
	data := variants(t)["grey.jpg"]
	for _, s := range []int{-1, 3, 16} {
		if _, err := DecodeWith(bytes.NewReader(data), Options{Scale: s}); err == nil {
			t.Errorf("scale %d accepted", s)
		}
	}
}
