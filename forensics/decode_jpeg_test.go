package forensics

import (
	"bytes"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/jpegscale"
)

// corpusJPEGs lists every JPEG under testdata (the decoding, metadata, PDQ and scene sets).
func corpusJPEGs(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(path)); !d.IsDir() && (ext == ".jpg" || ext == ".jpeg") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil || len(files) < 100 {
		t.Fatalf("%d corpus JPEGs (%v)", len(files), err)
	}
	return files
}

// TestJPEGScaleOneEqualsImageJPEG: the forked decoder at full size gives image/jpeg's
// image byte for byte (planes, strides, bounds) on every corpus JPEG, and refuses the
// files image/jpeg refuses with the same error.
func TestJPEGScaleOneEqualsImageJPEG(t *testing.T) {
	for _, f := range corpusJPEGs(t) {
		t.Run(strings.TrimPrefix(f, "testdata/"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := jpeg.Decode(bytes.NewReader(data))
			got, err := jpegscale.Decode(bytes.NewReader(data))
			switch {
			case (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error():
				t.Fatalf("error %v, image/jpeg %v", err, wantErr)
			case err == nil && !reflect.DeepEqual(got, want):
				t.Fatalf("%T %v differs from image/jpeg's %T %v", got, got.Bounds(), want, want.Bounds())
			}
		})
	}
}

// largeJPEGs are corpus photos big enough for the pure-Go backend to decode at 1/2 or 1/4:
// phone and camera photos with 4:2:0, 4:2:2 and 4:4:0 chroma, restart intervals and
// EXIF orientations.
var largeJPEGs = []string{
	"meta/exif-samples/jpg/mobile/jolla.jpg",             // 3264×2448, 4:2:0
	"meta/exif-samples/jpg/hdr/iphone_hdr_YES.jpg",       // 3264×2448, 4:2:0, restarts
	"meta/exif-samples/jpg/tests/42_IndexError.jpg",      // 4032×3024, 4:2:2, restarts
	"meta/exif-samples/jpg/tests/67-0_length_string.jpg", // 4032×2012, 4:4:0, restarts
	"meta/exif-samples/jpg/mobile/HMD_Nokia_8.3_5G.jpg",  // 4608×1976, 4:2:0
	"meta/c2pa/truepic-20230212-camera.jpg",              // 4032×3024, 4:2:0
	"meta/exif-samples/jpg/tests/87_OSError.jpg",         // 1488×2240, 4:4:0
	"meta/exif-samples/jpg/Reconyx_HC500_Hyperfire.jpg",  // 2048×1536, 4:2:2
	"meta/c2pa/adobe-20220124-C.jpg",                     // 2048×1365, 4:4:4
	"meta/exif-samples/jpg/tests/30-type_error.jpg",      // 3872×2403, 4:2:0
	"meta/exif-samples/jpg/hdr/canon_hdr_NO.jpg",         // 2048×1536, 4:2:2
}

// TestScaledJPEGMatchesFullDecode: on real photos, the pure-Go backend's raster from a
// DCT-scaled decode shows the picture of the raster it made before it scaled (whole-pixel
// cells over image/jpeg's full decode), and the hashes agree: the scaled path changes
// cost, not what the analysis sees. Per pixel the two differ on fine texture, as the
// libjpeg-turbo backend's raster does (TestBackendsAgree): a cell 1.1-2 reduced pixels
// wide averages one or two of them, 2-8 full-size pixels, where the full decode's cells
// are 3-5 wide.
func TestScaledJPEGMatchesFullDecode(t *testing.T) {
	for _, f := range largeJPEGs {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readTestdata(t, f)
			full, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			b := full.Bounds()
			m, ow, oh := jpegWorkSize(b.Dx(), b.Dy(), 1, 2, 4)
			scale := 8 / m
			want := RasterFromImage(full, Orientation(data), max(ow, oh), true)
			got := decodeBytes(t, Decoder{PureGo: true}, data).Work
			if got.W != want.W || got.H != want.H || got.Scale != want.Scale || got.FullW != want.FullW || got.FullH != want.FullH {
				t.Fatalf("raster %dx%d (scale %.3f, full %dx%d), from the full decode %dx%d (%.3f, %dx%d)",
					got.W, got.H, got.Scale, got.FullW, got.FullH, want.W, want.H, want.Scale, want.FullW, want.FullH)
			}
			dy, coarse := lumaMeanAbsDiff(got.Y, want.Y), coarseDiff(got, want)
			dcb, dcr := lumaMeanAbsDiff(got.Cb, want.Cb), lumaMeanAbsDiff(got.Cr, want.Cr)
			hg, hw := HashRaster(got), HashRaster(want)
			dp, dph, ddh := hg.PDQ.Hash.Distance(hw.PDQ.Hash), Hamming64(hg.PHash, hw.PHash), Hamming64(hg.DHash, hw.DHash)
			t.Logf("1/%d decode: mean difference luma %.2f (coarse %.2f), chroma %.2f/%.2f; PDQ %d (quality %d), pHash %d, dHash %d",
				scale, dy, coarse, dcb, dcr, dp, hg.PDQ.Quality, dph, ddh)
			if scale == 1 {
				t.Errorf("%dx%d decoded at full size", b.Dx(), b.Dy())
			}
			if coarse > 2 || dcb > 2 || dcr > 2 {
				t.Errorf("mean difference coarse luma %.2f, chroma %.2f/%.2f levels", coarse, dcb, dcr)
			}
			// A near-flat picture's hash bits follow rounding noise (adobe-20220124-C,
			// PDQ quality 18: pHash 8 bits); PDQ's quality score is what flags it.
			if hg.PDQ.Quality >= PDQMinQuality && (dp > 8 || dph > 4 || ddh > 4) {
				t.Errorf("hashes moved: PDQ %d, pHash %d, dHash %d bits", dp, dph, ddh)
			}
		})
	}
}

// TestJPEGProgressiveAndGreyScaled: a progressive photo (decode/scaled/, 2057×1033, so
// partial MCUs) and a grey one made here take the scaled path (1/2) and give the full
// decode's raster.
func TestJPEGProgressiveAndGreyScaled(t *testing.T) {
	progressive := readTestdata(t, "decode/scaled/jolla-progressive.jpg")
	src, err := jpeg.Decode(bytes.NewReader(progressive))
	if err != nil {
		t.Fatal(err)
	}
	ycc := src.(*image.YCbCr)
	grey := image.NewGray(ycc.Rect)
	for y := range ycc.Rect.Dy() {
		copy(grey.Pix[y*grey.Stride:(y+1)*grey.Stride], ycc.Y[ycc.YOffset(0, y):])
	}
	cases := map[string][]byte{"progressive": progressive, "grey": jpegFixture(t, grey, 85)}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			full, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			want := RasterFromImage(full, 1, WorkSide, true)
			got := decodeBytes(t, Decoder{PureGo: true}, data).Work
			d, coarse := lumaMeanAbsDiff(got.Y, want.Y), coarseDiff(got, want)
			dp := HashRaster(got).PDQ.Hash.Distance(HashRaster(want).PDQ.Hash)
			t.Logf("mean luma difference %.2f (coarse %.2f), PDQ %d", d, coarse, dp)
			if got.W != want.W || got.H != want.H || coarse > 2 || dp > 8 {
				t.Errorf("raster %dx%d (full decode %dx%d), luma difference %.2f (coarse %.2f), PDQ %d", got.W, got.H, want.W, want.H, d, coarse, dp)
			}
		})
	}
}
