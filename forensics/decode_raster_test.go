package forensics

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// rasterReference is RasterFromImage's definition, pixel by pixel through image.At: the slow
// reference the plane-reading fast paths are checked against.
func rasterReference(img image.Image, orientation int, maxSide int, withChroma bool) *Raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := rasterSize(w, h, maxSide)
	r := NewRaster(ow, oh, withChroma)
	r.Scale = float64(w) / float64(ow)
	r.FullW, r.FullH = w, h
	for oy := 0; oy < oh; oy++ {
		y0, y1 := oy*h/oh, (oy+1)*h/oh
		for ox := 0; ox < ow; ox++ {
			x0, x1 := ox*w/ow, (ox+1)*w/ow
			var sy, scb, scr float64
			n := 0
			for y := y0; y < max(y1, y0+1); y++ {
				for x := x0; x < max(x1, x0+1); x++ {
					l, cb, cr := ycc(img.At(b.Min.X+x, b.Min.Y+y))
					sy, scb, scr = sy+l, scb+cb, scr+cr
					n++
				}
			}
			i := oy*ow + ox
			r.Y[i] = float32(sy / float64(n))
			if withChroma {
				r.Cb[i], r.Cr[i] = float32(scb/float64(n)), float32(scr/float64(n))
			}
		}
	}
	if orientation > 1 && orientation <= 8 {
		return r.Apply(Transform(orientation))
	}
	return r
}

// noisyImages returns one image of each kind decoders produce, w×h with random content.
func noisyImages(w, h int, seed uint64) map[string]image.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	fill := func(p []byte) {
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
	}
	r := image.Rect(0, 0, w, h)
	out := map[string]image.Image{}
	for _, s := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		m := image.NewYCbCr(r, s)
		fill(m.Y)
		fill(m.Cb)
		fill(m.Cr)
		out["ycbcr-"+s.String()] = m
	}
	g := image.NewGray(r)
	fill(g.Pix)
	out["gray"] = g
	n := image.NewNRGBA(r)
	fill(n.Pix)
	out["nrgba"] = n
	rgba := image.NewRGBA(r)
	for i := 0; i < len(rgba.Pix); i += 4 { // valid premultiplied colours
		a := byte(rng.IntN(256))
		rgba.Pix[i+3] = a
		for c := range 3 {
			rgba.Pix[i+c] = byte(rng.IntN(int(a) + 1))
		}
	}
	out["rgba"] = rgba
	pal := color.Palette{color.Transparent, color.White, color.RGBA{200, 10, 10, 255}, color.NRGBA{10, 200, 10, 128}}
	p := image.NewPaletted(r, pal)
	for i := range p.Pix {
		p.Pix[i] = byte(rng.IntN(len(pal)))
	}
	out["paletted"] = p
	g16 := image.NewGray16(r)
	fill(g16.Pix)
	out["gray16"] = g16
	cmyk := image.NewCMYK(r)
	fill(cmyk.Pix)
	out["cmyk"] = cmyk
	// A sub-image with a non-zero origin takes the generic paths.
	big := image.NewYCbCr(image.Rect(0, 0, w+6, h+4), image.YCbCrSubsampleRatio420)
	fill(big.Y)
	fill(big.Cb)
	fill(big.Cr)
	out["ycbcr-subimage"] = big.SubImage(image.Rect(3, 2, w+3, h+2))
	return out
}

func TestRasterFromImageEqualsPerPixelReference(t *testing.T) {
	sizes := []struct{ w, h, maxSide int }{
		{37, 23, 0},    // no reduction
		{37, 23, 16},   // uneven cells
		{101, 67, 32},  // odd sizes, 4:1:x chroma edges
		{64, 128, 50},  // portrait
		{200, 150, 64}, // whole cells
	}
	for _, sz := range sizes {
		for name, img := range noisyImages(sz.w, sz.h, uint64(sz.w*sz.h)) {
			for o := 1; o <= 8; o++ {
				t.Run(fmt.Sprintf("%s/%dx%d-max%d/orientation%d", name, sz.w, sz.h, sz.maxSide, o), func(t *testing.T) {
					want := rasterReference(img, o, sz.maxSide, true)
					got := RasterFromImage(img, o, sz.maxSide, true)
					compareRasters(t, got, want, 1e-4)
				})
			}
		}
	}
}

func TestRasterFromImageWithoutChroma(t *testing.T) {
	img := noisyImages(40, 30, 7)["ycbcr-YCbCrSubsampleRatio420"]
	got := RasterFromImage(img, 6, 16, false)
	if got.Cb != nil || got.Cr != nil {
		t.Fatal("chroma allocated although not asked for")
	}
	compareRasters(t, got, rasterReference(img, 6, 16, false), 0)
}

func compareRasters(t *testing.T, got, want *Raster, tol float64) {
	t.Helper()
	if got.W != want.W || got.H != want.H || got.FullW != want.FullW || got.FullH != want.FullH || got.Scale != want.Scale {
		t.Fatalf("geometry %dx%d full %dx%d scale %v, want %dx%d full %dx%d scale %v",
			got.W, got.H, got.FullW, got.FullH, got.Scale, want.W, want.H, want.FullW, want.FullH, want.Scale)
	}
	planes := [][2][]float32{{got.Y, want.Y}, {got.Cb, want.Cb}, {got.Cr, want.Cr}}
	for p, pl := range planes {
		if len(pl[0]) != len(pl[1]) {
			t.Fatalf("plane %d has %d values, want %d", p, len(pl[0]), len(pl[1]))
		}
		for i := range pl[0] {
			if d := math.Abs(float64(pl[0][i] - pl[1][i])); d > tol {
				t.Fatalf("plane %d at (%d,%d) = %v, want %v", p, i%got.W, i/got.W, pl[0][i], pl[1][i])
			}
		}
	}
}

// TestPerPixelRasterPathEqualsGeneralPath: where every raster cell is one source pixel,
// the path that converts rows straight to floats gives the general box-summing path's
// rasters bit for bit, for every plane layout (grey; YCbCr 4:4:4, 4:2:2, 4:2:0 and the
// rest), odd sizes and the eight orientations.
func TestPerPixelRasterPathEqualsGeneralPath(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{37, 23}, {101, 67}, {64, 128}, {1, 5}, {9, 1}} {
		for name, img := range noisyImages(sz.w, sz.h, uint64(sz.w+sz.h)) {
			for o := 1; o <= 8; o++ {
				for _, chroma := range []bool{true, false} {
					want := rasterFromImage(img, o, 0, chroma, pathGeneral)
					compareRasters(t, RasterFromImage(img, o, 0, chroma), want, 0)
				}
			}
			_ = name
		}
	}
}

// TestPerPixelJPEGDecodeEqualsGeneralPath: both JPEG backends give the same rasters with and
// without the per-pixel path, on the corpus (grey, 4:4:4, 4:2:2, 4:4:0, 4:2:0, progressive)
// and on generated pictures whose 1/2 decode is the work raster, in all eight orientations.
func TestPerPixelJPEGDecodeEqualsGeneralPath(t *testing.T) {
	type jpegCase struct {
		name string
		data []byte
	}
	var cases []jpegCase
	for _, f := range corpusJPEGs(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, jpegCase{f, data})
	}
	for _, sz := range []struct{ w, h int }{{1990, 1499}, {1001, 2047}} {
		img := gradientImage(sz.w, sz.h) // distinct corners, so that orientations differ
		gray := image.NewGray(img.Rect)
		draw.Draw(gray, gray.Rect, img, image.Point{}, draw.Src)
		cases = append(cases, jpegCase{fmt.Sprintf("420-%dx%d", sz.w, sz.h), jpegFixture(t, img, 90)},
			jpegCase{fmt.Sprintf("gray-%dx%d", sz.w, sz.h), jpegFixture(t, gray, 90)})
	}
	ctx := context.Background()
	perPixel := 0
	for i, c := range cases {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(c.data))
		if err != nil {
			continue
		}
		if m, ow, oh := jpegWorkSize(cfg.Width, cfg.Height, 1, 2, 4); (cfg.Width*m+7)/8 != ow || (cfg.Height*m+7)/8 != oh {
			continue // cells of several pixels: both runs take the general path
		}
		orientations := []int{1 + i%8} // corpus files take turns
		if !strings.HasPrefix(c.name, "testdata") {
			orientations = []int{1, 2, 3, 4, 5, 6, 7, 8}
		}
		for _, o := range orientations {
			for _, b := range []struct {
				name   string
				decode func(context.Context, []byte, int, int, int, rasterPath) (*Raster, error)
			}{{"go", decodeJPEGGo}, {"libjpeg-turbo", decodeJPEGTurbo}} {
				if b.name != "go" && !libjpegTurboBuilt {
					continue
				}
				want, wantErr := b.decode(ctx, c.data, cfg.Width, cfg.Height, o, pathGeneral)
				got, err := b.decode(ctx, c.data, cfg.Width, cfg.Height, o, pathAuto)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("%s %s orientation %d: error %v, general path %v", b.name, c.name, o, err, wantErr)
				}
				if err != nil {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%d", b.name, c.name, o), func(t *testing.T) { compareRasters(t, got, want, 0) })
				perPixel++
			}
		}
	}
	if perPixel < 100 {
		t.Errorf("only %d decodes had one pixel per raster cell: the test does not exercise that path", perPixel)
	}
}
