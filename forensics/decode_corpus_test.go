package forensics

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// knownCodes are the error codes Decode may return.
var knownCodes = map[string]bool{ErrCodeUnsupportedFormat: true, ErrCodeCorrupt: true, ErrCodeTooLarge: true}

// checkDecodeOutcome asserts what every decode must give: a coded *Error, or a sane
// Decoded. It never returns early on panics: those fail the test by themselves.
func checkDecodeOutcome(t testing.TB, d *Decoded, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !knownCodes[e.Code] || e.Message == "" {
			t.Fatalf("error %v (%T) is not a coded *Error", err, err)
		}
		return
	}
	w := d.Work
	if w == nil || w.W < 1 || w.H < 1 || max(w.W, w.H) > WorkSide || len(w.Y) != w.W*w.H || len(w.Cb) != len(w.Y) {
		t.Fatalf("bad work raster %+v", w)
	}
	if d.Width != w.FullW || d.Height != w.FullH || d.Width < w.W || d.Height < w.H {
		t.Fatalf("size %dx%d does not fit the raster %dx%d (full %dx%d)", d.Width, d.Height, w.W, w.H, w.FullW, w.FullH)
	}
	for _, v := range w.Y {
		if !(v >= 0 && v <= 255) {
			t.Fatalf("luma %v out of range", v)
		}
	}
}

// robustnessFiles lists the broken and odd files kept for this test.
func robustnessFiles(t *testing.T) []string {
	var files []string
	for _, dir := range []string{"corrupt", "invalid", "exif-tests", "orientation", "formats"} {
		m, err := filepath.Glob(filepath.Join("testdata/decode", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasPrefix(filepath.Base(f), "LICENSE") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 30 {
		t.Fatalf("only %d robustness files", len(files))
	}
	return append(files, "testdata/pdq/misc-images/wee.jpg", "testdata/pdq/misc-images/small.jpg", "testdata/pdq/misc-images/c.png")
}

// TestDecodeSurvivesBrokenFiles decodes the corpus's crash files (exif-samples invalid/ and
// tests/, bep/imagemeta's corrupt EXIF), then every file truncated at eight points and with
// bytes overwritten, with both backends: each must decode or fail with a coded error.
func TestDecodeSurvivesBrokenFiles(t *testing.T) {
	for _, b := range testBackends() {
		for _, f := range robustnessFiles(t) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(b.name+"/"+filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
				ctx := context.Background()
				d, err := b.dec.Decode(ctx, data)
				checkDecodeOutcome(t, d, err)
				// These pictures are intact, only their metadata is odd; bep/imagemeta's other
				// two files are cut at 64 KB and rightly refused as corrupt.
				if strings.Contains(f, "/exif-tests/") || strings.Contains(f, "/orientation/") || strings.HasSuffix(f, "infinite_loop_exif.jpg") {
					if err != nil {
						t.Errorf("intact picture refused: %v", err)
					}
				}
				for k := 1; k <= 8; k++ {
					cut := len(data) * k / 9
					d, err := b.dec.Decode(ctx, data[:cut])
					checkDecodeOutcome(t, d, err)
				}
				rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
				for range 6 {
					mutated := append([]byte(nil), data...)
					for range 8 {
						mutated[16+rng.IntN(len(mutated)-16)] = byte(rng.IntN(256))
					}
					d, err := b.dec.Decode(ctx, mutated)
					checkDecodeOutcome(t, d, err)
				}
			})
		}
	}
}

// TestDecodeRandomBytesBehindMagic gives each decoder garbage behind a valid signature.
func TestDecodeRandomBytesBehindMagic(t *testing.T) {
	magics := map[string]string{
		"jpeg": "\xFF\xD8\xFF\xE0", "png": "\x89PNG\r\n\x1a\n", "gif": "GIF89a",
		"webp": "RIFF\x00\x10\x00\x00WEBPVP8 ", "heif": "\x00\x00\x00\x18ftypheic",
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, b := range testBackends() {
		for name, magic := range magics {
			t.Run(b.name+"/"+name, func(t *testing.T) {
				for _, n := range []int{0, 1, 10, 100, 1000, 10000} {
					data := []byte(magic)
					for range n {
						data = append(data, byte(rng.IntN(256)))
					}
					d, err := b.dec.Decode(context.Background(), data)
					checkDecodeOutcome(t, d, err)
				}
			})
		}
	}
}
