package forensics

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"path/filepath"
	"regexp"
	"testing"
)

// rasterImage renders a raster's luma and chroma back to an image (for re-encoding tests).
func rasterImage(r *Raster) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, r.W, r.H), image.YCbCrSubsampleRatio444)
	for i := range r.Y {
		m.Y[i] = uint8(min(max(r.Y[i]+0.5, 0), 255))
		m.Cb[i] = uint8(min(max(r.Cb[i]+0.5, 0), 255))
		m.Cr[i] = uint8(min(max(r.Cr[i]+0.5, 0), 255))
	}
	return m
}

func TestHashesSurviveResaveAndShrink(t *testing.T) {
	orig := decodeFile(t, Decoder{PureGo: true}, "testdata/pdq/reg-test-input/dih/bridge-1-original.jpg")
	want := ComputeHashes(orig)
	pic := rasterImage(orig.Work)
	half := RasterFromImage(pic, 1, orig.Work.W/2, true)
	cases := []struct {
		name              string
		data              []byte
		maxPDQ, max64bits int
	}{
		{"resaved at quality 40", jpegFixture(t, pic, 40), 16, 4},
		{"shrunk to half", jpegFixture(t, rasterImage(half), 85), 16, 4},
		{"png copy", pngFixture(t, pic), 8, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ComputeHashes(decodeBytes(t, Decoder{}, c.data))
			dp, dph, ddh := got.PDQ.Hash.Distance(want.PDQ.Hash), Hamming64(got.PHash, want.PHash), Hamming64(got.DHash, want.DHash)
			t.Logf("PDQ %d, pHash %d, dHash %d", dp, dph, ddh)
			if dp > c.maxPDQ || dph > c.max64bits || ddh > c.max64bits {
				t.Errorf("PDQ %d (max %d), pHash %d, dHash %d (max %d)", dp, c.maxPDQ, dph, ddh, c.max64bits)
			}
		})
	}
	t.Run("a different photo is far", func(t *testing.T) {
		other := ComputeHashes(decodeFile(t, Decoder{}, "testdata/pdq/reg-test-input/labelme-subset/q2821.jpg"))
		if d := other.PDQ.Hash.Distance(want.PDQ.Hash); d <= PDQMatchDistance {
			t.Errorf("unrelated photo at PDQ distance %d", d)
		}
		if d := Hamming64(other.PHash, want.PHash); d < 10 {
			t.Errorf("unrelated photo at pHash distance %d", d)
		}
	})
}

// TestBackendsAgree: libjpeg-turbo's scaled decode and image/jpeg give the same geometry,
// nearly the same raster and hashes a few bits apart.
func TestBackendsAgree(t *testing.T) {
	if !libjpegTurboBuilt {
		t.Skip("libjpeg-turbo backend not built (CGO_ENABLED=0 or -tags nolibjpeg)")
	}
	files, _ := filepath.Glob("testdata/pdq/*/*/*.jpg")
	more, _ := filepath.Glob("testdata/decode/orientation/*.jpg")
	files = append(files, more...)
	for _, f := range largeJPEGs { // both backends DCT-scaled
		files = append(files, filepath.Join("testdata", f))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g := decodeFile(t, Decoder{PureGo: true}, f)
			c := decodeFile(t, Decoder{}, f)
			if c.Backend != BackendLibjpegTurbo {
				t.Fatalf("backend %s", c.Backend)
			}
			if g.Width != c.Width || g.Height != c.Height || g.Work.W != c.Work.W || g.Work.H != c.Work.H || g.Work.Scale != c.Work.Scale {
				t.Fatalf("geometry differs: go %dx%d raster %dx%d, libjpeg %dx%d raster %dx%d",
					g.Width, g.Height, g.Work.W, g.Work.H, c.Width, c.Height, c.Work.W, c.Work.H)
			}
			// Per pixel the two differ by ~3 levels on fine detail (libjpeg's scaled IDCT
			// filters differently from a box); at 1/5 size they must agree.
			diff, coarse := lumaMeanAbsDiff(g.Work.Y, c.Work.Y), coarseDiff(g.Work, c.Work)
			hg, hc := ComputeHashes(g), ComputeHashes(c)
			dp := hg.PDQ.Hash.Distance(hc.PDQ.Hash)
			t.Logf("scale %.2f, luma diff %.2f (coarse %.2f), PDQ %d (quality %d), pHash %d, dHash %d", g.Work.Scale, diff, coarse, dp,
				hg.PDQ.Quality, Hamming64(hg.PHash, hc.PHash), Hamming64(hg.DHash, hc.DHash))
			if coarse > 2 {
				t.Errorf("coarse mean luma difference %.2f", coarse)
			}
			if hg.PDQ.Quality >= PDQMinQuality && dp > 8 {
				t.Errorf("PDQ differs by %d bits", dp)
			}
			if d := Hamming64(hg.PHash, hc.PHash); d > 4 {
				t.Errorf("pHash differs by %d bits", d)
			}
		})
	}
}

func TestHashesReport(t *testing.T) {
	d := decodeFile(t, Decoder{}, "testdata/pdq/misc-images/wee.jpg")
	r := ComputeHashes(d).Report()
	hex64, hex16 := regexp.MustCompile(`^[0-9a-f]{64}$`), regexp.MustCompile(`^[0-9a-f]{16}$`)
	if !hex64.MatchString(r.PDQ) || !hex16.MatchString(r.PHash) || !hex16.MatchString(r.DHash) || r.PDQQuality < 1 {
		t.Fatalf("report %+v", r)
	}
	hs := ComputeHashes(d)
	if v, err := ParseHash64(r.PHash); err != nil || v != hs.PHash {
		t.Errorf("pHash %s does not parse back: %v", r.PHash, err)
	}
	if p, err := ParsePDQHash(r.PDQ); err != nil || p != hs.PDQ.Hash {
		t.Errorf("PDQ %s does not parse back: %v", r.PDQ, err)
	}
}

func TestHashesOfTinyPictures(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {3, 200}, {5, 5}, {64, 64}} {
		img := image.NewGray(image.Rect(0, 0, size.X, size.Y))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 37)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		d, err := Decode(context.Background(), buf.Bytes(), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		hs := ComputeHashes(d)
		small := size.X < pdqMinDim || size.Y < pdqMinDim
		if small != (hs.PDQ.Quality == 0 && hs.PDQ.Hash == PDQHash{}) {
			t.Errorf("%v: PDQ %s quality %d", size, hs.PDQ.Hash, hs.PDQ.Quality)
		}
	}
}

func TestHamming64(t *testing.T) {
	if Hamming64(0, 0) != 0 || Hamming64(0, ^uint64(0)) != 64 || Hamming64(0b1010, 0b0110) != 2 {
		t.Fatal("Hamming64 miscounts")
	}
	for _, bad := range []string{"", "123", "zzzzzzzzzzzzzzzz", "00000000000000000"} {
		if _, err := ParseHash64(bad); err == nil {
			t.Errorf("ParseHash64(%q) accepted", bad)
		}
	}
}
