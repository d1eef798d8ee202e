package forensics

import "fmt"

// Default limits for Decode. A 50 MP cap admits every current phone and most cameras
// (a 48 MP phone photo included) while bounding the decoder's allocation: the planes of a
// 50 MP 4:2:0 JPEG take 75 MB. 20 MB is above any phone JPEG we have seen (8-12 MB for
// 48 MP at high quality) and keeps uploads of scans and raw-ish PNGs out.
const (
	DefaultMaxBytes  int64 = 20 << 20
	DefaultMaxPixels int64 = 50_000_000
	// maxJPEGScans bounds progressive JPEGs: each scan costs a pass over the whole image,
	// so a small file with thousands of tiny scans would otherwise keep a CPU busy for
	// minutes. Real encoders write about 10 (libjpeg's default script) and never over 100.
	maxJPEGScans = 256
)

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes  int64 // largest file, in bytes
	MaxPixels int64 // largest picture, width × height of the stored image
}

// withDefaults returns l with zero (or negative) fields replaced by the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// checkBytes refuses files over the byte limit before anything is parsed.
func (l Limits) checkBytes(n int) error {
	if int64(n) > l.MaxBytes {
		return newError(ErrCodeTooLarge, nil, "the file is %s; the limit is %s", humanBytes(int64(n)), humanBytes(l.MaxBytes))
	}
	return nil
}

// checkPixels refuses pictures over the pixel limit; it runs on the header's dimensions,
// before the decoder allocates anything.
func (l Limits) checkPixels(w, h int) error {
	if w <= 0 || h <= 0 {
		return newError(ErrCodeCorrupt, nil, "the image header gives no size (%d×%d)", w, h)
	}
	if px := int64(w) * int64(h); px > l.MaxPixels {
		return newError(ErrCodeTooLarge, nil, "the image is %d×%d (%.1f megapixels); the limit is %.1f megapixels",
			w, h, float64(px)/1e6, float64(l.MaxPixels)/1e6)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
