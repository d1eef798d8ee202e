package jpegscale

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// FuzzDecodeWith checks every scale, whole and in strips, against image/jpeg on arbitrary
// input: the same verdict (and error), full-size pixels equal to image/jpeg's, reduced
// sizes ⌈w/s⌉×⌈h/s⌉, strips in order and covering the picture once, and never a panic.
// Seeds: the test JPEGs of testdata/ and the JPEG seeds of the forensics package's
// FuzzDecode (testdata/fuzz/FuzzDecodeWith).
//
//	go test -run '^$' -fuzz FuzzDecodeWith -fuzzminimizetime 3s ./forensics/internal/jpegscale
//
// (Each run decodes the input nine times, so minimizing a new 10 KB input with the default
// 60 s budget looks like a stall.)
func FuzzDecodeWith(f *testing.F) {
	for _, data := range variants(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err == nil && cfg.Width*cfg.Height > 1<<18 {
			return // keeps each run fast; the sizes here are no different
		}
		compareWithImageJPEG(t, data)
		want, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		got, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		assertSameImage(t, want, got)
		for _, s := range []int{2, 4, 8} {
			red, err := DecodeWith(bytes.NewReader(data), Options{Scale: s})
			if err != nil {
				t.Fatal(err)
			}
			b := want.Bounds()
			if red.Bounds() != image.Rect(0, 0, (b.Dx()+s-1)/s, (b.Dy()+s-1)/s) {
				t.Fatalf("1/%d: bounds %v for a %v picture", s, red.Bounds(), b)
			}
			if _, err := DecodeWith(bytes.NewReader(data), Options{Scale: s, Rows: stripChecker(t, red.Bounds())}); err != nil && err != errSecondScan {
				t.Fatal(err)
			}
		}
	})
}

// stripChecker returns a Rows function that fails unless the strips are in order, as wide
// as the picture and stop at its last row.
func stripChecker(t *testing.T, pic image.Rectangle) func(image.Image) error {
	next := 0
	return func(s image.Image) error {
		b := s.Bounds()
		if b.Min.Y != next || b.Min.X != 0 || b.Max.X != pic.Max.X || b.Max.Y > pic.Max.Y || b.Empty() {
			t.Fatalf("strip %v after row %d of %v", b, next, pic)
		}
		next = b.Max.Y
		return nil
	}
}
