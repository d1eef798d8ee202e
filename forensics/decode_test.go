package forensics

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gradientImage is a smooth test picture with distinct corners (so orientation errors show).
func gradientImage(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), uint8(255 * (x + y) / (w + h)), 255})
		}
	}
	return m
}

func pngFixture(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegFixture(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withPNGChunk inserts a chunk right after IHDR.
func withPNGChunk(pngData []byte, typ string, body []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	chunk = append(chunk, typ...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte(nil), pngData[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, pngData[ihdrEnd:]...)
}

// tiffOrientation is a minimal big-endian TIFF with one IFD entry: Orientation = o.
func tiffOrientation(o uint16) []byte {
	b := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01")
	b = append(b, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01)
	b = binary.BigEndian.AppendUint16(b, o)
	return append(b, 0, 0, 0, 0, 0, 0)
}

func twoFrameGIF(t testing.TB) []byte {
	t.Helper()
	pal := color.Palette{color.Black, color.White}
	f1 := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
	f2 := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
	for i := range f1.Pix {
		f1.Pix[i] = 1 // white first frame
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{f1, f2}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeFormats(t *testing.T) {
	grad := gradientImage(120, 80)
	gray := image.NewGray(image.Rect(0, 0, 50, 70))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	cases := []struct {
		name              string
		data              []byte
		format            string
		width, height     int
		orientation       int
		meanY, meanYDelta float64 // expected mean luma of the work raster (0 = not checked)
	}{
		{"jpeg camera photo", readTestdata(t, "decode/orientation/landscape_1.jpg"), "jpeg", 100, 75, 1, 0, 0},
		{"jpeg greyscale", jpegFixture(t, gray, 90), "jpeg", 50, 70, 1, 0, 0},
		{"png truecolour", pngFixture(t, grad), "png", 120, 80, 1, 0, 0},
		{"png with eXIf orientation 6", withPNGChunk(pngFixture(t, grad), "eXIf", tiffOrientation(6)), "png", 80, 120, 6, 0, 0},
		{"png fully transparent reads as white", pngFixture(t, image.NewNRGBA(image.Rect(0, 0, 20, 10))), "png", 20, 10, 1, 255, 0.01},
		{"gif first frame only", twoFrameGIF(t), "gif", 40, 30, 1, 255, 0.01},
		{"webp lossy", readTestdata(t, "decode/formats/lossy.webp"), "webp", 100, 75, 1, 0, 0},
		{"webp lossless", readTestdata(t, "decode/formats/lossless.webp"), "webp", 100, 75, 1, 0, 0},
		{"webp with alpha", readTestdata(t, "decode/formats/alpha.webp"), "webp", 96, 64, 1, 0, 0},
		{"webp with EXIF orientation 6", readTestdata(t, "decode/formats/orientation6.webp"), "webp", 100, 75, 6, 0, 0},
	}
	for _, b := range testBackends() {
		for _, c := range cases {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				d, err := b.dec.Decode(context.Background(), c.data)
				if err != nil {
					t.Fatal(err)
				}
				if d.Format != c.format || d.Width != c.width || d.Height != c.height || d.Orientation != c.orientation {
					t.Errorf("got %s %dx%d orientation %d, want %s %dx%d orientation %d",
						d.Format, d.Width, d.Height, d.Orientation, c.format, c.width, c.height, c.orientation)
				}
				w := d.Work
				if w == nil || w.W != c.width || w.H != c.height || w.Cb == nil || w.Cr == nil {
					t.Fatalf("work raster %+v does not match the %dx%d picture with chroma", w, c.width, c.height)
				}
				if c.meanY > 0 {
					if m := lumaMean(w.Y); math.Abs(m-c.meanY) > c.meanYDelta {
						t.Errorf("mean luma %.3f, want %.3f", m, c.meanY)
					}
				}
			})
		}
	}
}

func lumaMean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

// lumaMeanAbsDiff compares two rasters of the same size.
func lumaMeanAbsDiff(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += math.Abs(float64(a[i] - b[i]))
	}
	return s / float64(len(a))
}

func TestDecodeWebPMatchesJPEGPicture(t *testing.T) {
	ref := decodeBytes(t, Decoder{PureGo: true}, readTestdata(t, "decode/orientation/landscape_1.jpg"))
	for _, f := range []string{"lossy.webp", "lossless.webp"} {
		d := decodeBytes(t, Decoder{}, readTestdata(t, "decode/formats/"+f))
		diff := coarseDiff(d.Work, ref.Work)
		t.Logf("%s: coarse mean luma difference %.2f", f, diff)
		if diff > 3 {
			t.Errorf("%s: mean luma difference %.2f from the JPEG it was made from", f, diff)
		}
	}
}

// coarseDiff compares two same-sized rasters at 1/5 of their size, where compression
// noise is averaged away.
func coarseDiff(a, b *Raster) float64 {
	w, h := max(a.W/5, 1), max(a.H/5, 1)
	return lumaMeanAbsDiff(boxLuma(a.Y, a.W, a.H, w, h), boxLuma(b.Y, b.W, b.H, w, h))
}

// coarseCorrelation is the Pearson correlation of two same-sized rasters at 1/5 of their
// size: insensitive to brightness and contrast, sensitive to layout.
func coarseCorrelation(a, b *Raster) float64 {
	w, h := max(a.W/5, 1), max(a.H/5, 1)
	x, y := boxLuma(a.Y, a.W, a.H, w, h), boxLuma(b.Y, b.W, b.H, w, h)
	mx, my := lumaMean(x), lumaMean(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := float64(x[i])-mx, float64(y[i])-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	return sxy / math.Sqrt(sxx*syy+1e-12)
}

func decodeBytes(t testing.TB, dec Decoder, data []byte) *Decoded {
	t.Helper()
	d, err := dec.Decode(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// manyScansJPEG is a valid JPEG header followed by n empty scans.
func manyScansJPEG(n int) []byte {
	b := []byte{0xFF, 0xD8}
	// SOF2 (progressive), 8-bit, 16×16, one component.
	b = append(b, 0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00)
	for range n {
		b = append(b, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00)
	}
	return append(b, 0xFF, 0xD9)
}

func TestDecodeRefuses(t *testing.T) {
	photo := readTestdata(t, "decode/orientation/landscape_1.jpg")
	pngData := pngFixture(t, gradientImage(64, 48))
	zeroWidthPNG := append([]byte(nil), pngData...)
	binary.BigEndian.PutUint32(zeroWidthPNG[16:], 0)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	cases := []struct {
		name    string
		data    []byte
		limits  Limits
		code    string
		message string // a substring the user sees
	}{
		{"empty file", nil, Limits{}, ErrCodeUnsupportedFormat, "not a JPEG"},
		{"random bytes", random, Limits{}, ErrCodeUnsupportedFormat, "not a JPEG"},
		{"text", []byte("hello, this is not a photo"), Limits{}, ErrCodeUnsupportedFormat, ""},
		{"HEIC asks for JPEG", readTestdata(t, "decode/formats/samplefilehub.heif"), Limits{}, ErrCodeUnsupportedFormat, "upload the photo as JPEG"},
		{"AVIF", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), Limits{}, ErrCodeUnsupportedFormat, "AVIF"},
		{"TIFF named", []byte("II*\x00\x08\x00\x00\x00"), Limits{}, ErrCodeUnsupportedFormat, "TIFF"},
		{"over the byte limit", photo, Limits{MaxBytes: 1000}, ErrCodeTooLarge, "limit is 1000 bytes"},
		{"over the pixel limit", photo, Limits{MaxPixels: 100*75 - 1}, ErrCodeTooLarge, "megapixels"},
		{"zero width header", zeroWidthPNG, Limits{}, ErrCodeCorrupt, ""},
		{"truncated JPEG", photo[:len(photo)/2], Limits{}, ErrCodeCorrupt, ""},
		{"JPEG header only", photo[:200], Limits{}, ErrCodeCorrupt, ""},
		{"truncated PNG", pngData[:len(pngData)-40], Limits{}, ErrCodeCorrupt, ""},
		{"JPEG with 300 scans", manyScansJPEG(300), Limits{}, ErrCodeCorrupt, "scans"},
	}
	for _, b := range testBackends() {
		for _, c := range cases {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				dec := b.dec
				dec.Limits = c.limits
				d, err := dec.Decode(context.Background(), c.data)
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("got %v, %v; want an *Error %s", d, err, c.code)
				}
				if e.Code != c.code || !strings.Contains(e.Message, c.message) {
					t.Errorf("got %s %q, want %s containing %q", e.Code, e.Message, c.code, c.message)
				}
			})
		}
	}
}

func TestDecodeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Decode(ctx, readTestdata(t, "decode/orientation/landscape_1.jpg"), Limits{})
	if e := AsError(err); e == nil || e.Code != ErrCodeCanceled {
		t.Fatalf("got %v, want canceled", err)
	}
}

// TestDecodeOrientation: the eight files of exif-samples/jpg/orientation store one picture
// in all eight EXIF orientations; decoded, they must show the same picture, while the stored
// pixels differ. The samples differ in a drawn digit and in brightness (orientation 1 was
// processed apart and is 13 levels brighter), so pictures are compared by correlation.
func TestDecodeOrientation(t *testing.T) {
	for _, b := range testBackends() {
		for _, set := range []string{"landscape", "portrait"} {
			ref := decodeBytes(t, b.dec, readTestdata(t, "decode/orientation/"+set+"_1.jpg"))
			for o := 1; o <= 8; o++ {
				t.Run(b.name+"/"+set+"/"+string(rune('0'+o)), func(t *testing.T) {
					data := readTestdata(t, "decode/orientation/"+set+"_"+string(rune('0'+o))+".jpg")
					d := decodeBytes(t, b.dec, data)
					if d.Orientation != o {
						t.Fatalf("orientation %d, want %d", d.Orientation, o)
					}
					if d.Width != ref.Width || d.Height != ref.Height || d.Work.W != ref.Work.W || d.Work.H != ref.Work.H {
						t.Fatalf("displayed %dx%d (raster %dx%d), want %dx%d (raster %dx%d)", d.Width, d.Height,
							d.Work.W, d.Work.H, ref.Width, ref.Height, ref.Work.W, ref.Work.H)
					}
					corr := coarseCorrelation(d.Work, ref.Work)
					t.Logf("correlation with orientation 1: %.3f", corr)
					if corr < 0.95 {
						t.Errorf("displayed picture correlates with orientation 1 by only %.3f", corr)
					}
					if o > 1 {
						// The stored pixels, displayed without orientation, must be far off:
						// otherwise this test could not see a missing rotation.
						img, err := jpeg.Decode(bytes.NewReader(data))
						if err != nil {
							t.Fatal(err)
						}
						raw := RasterFromImage(img, 1, WorkSide, false)
						if raw.W == ref.Work.W && raw.H == ref.Work.H {
							if rc := coarseCorrelation(raw, ref.Work); rc > 0.8 {
								t.Errorf("unoriented pixels correlate by %.3f: the test cannot see orientation", rc)
							}
						}
					}
				})
			}
		}
	}
}
