package forensics

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"

	"github.com/refundguard/refundguard/forensics/internal/jpegscale"
)

// decodeJPEGGo is the pure-Go JPEG backend: the w×h JPEG (dimensions already checked
// against the limits) is decoded by jpegscale, image/jpeg's decoder with libjpeg-style DCT
// scaling, at the smallest of 1/8, 1/4, 1/2 and 1/1 that still gives at least one decoded
// pixel per raster cell (the choice the libjpeg-turbo backend makes among its M/8
// scales), and handed over one MCU row at a time: no plane of the picture is ever
// allocated, only the raster. Its cells are whole decoded pixels, as in the libjpeg-turbo
// backend, whose 1/2 and 1/4 decodes are the same box averages: where both backends pick
// the same scale their rasters agree to rounding. PDQ's 512-pixel input is made from the raster, so WorkSide
// is the size that binds.
func decodeJPEGGo(ctx context.Context, data []byte, w, h, orientation int) (*Raster, error) {
	ow, oh := rasterSize(w, h, WorkSide)
	s := 8 / dctScale(w, h, ow, oh, 1, 2, 4)
	sw, sh := (w+s-1)/s, (h+s-1)/s
	g := newRasterGrid(w, h, sw, sh, ow, oh, transformOf(orientation), true)
	_, err := jpegscale.DecodeWith(&ctxReader{ctx: ctx, r: bytes.NewReader(data)}, jpegscale.Options{
		Scale: s,
		Rows: func(strip image.Image) error {
			if b := strip.Bounds(); b.Min.X != 0 || b.Max.X != sw || b.Max.Y > sh {
				return fmt.Errorf("decoded rows %v do not fit the %d×%d picture of the header", b, sw, sh)
			}
			g.feed(strip)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if !g.complete() {
		return nil, errors.New("the decoder stopped before the last row")
	}
	return g.r, nil
}

// dctScale returns the first of the scale numerators nums (M of M/8, ascending) whose
// decode of a w×h JPEG is at least ow×oh (libjpeg's output size, ⌈w·M/8⌉), or 8: the
// smallest decode that leaves every raster cell a true box average of decoded pixels.
func dctScale(w, h, ow, oh int, nums ...int) int {
	for _, m := range nums {
		if (w*m+7)/8 >= ow && (h*m+7)/8 >= oh {
			return m
		}
	}
	return 8
}

// checkJPEGScans refuses JPEGs with more than maxJPEGScans scans before a decoder sees
// them: every scan of a progressive JPEG is a pass over the whole image, and neither
// image/jpeg nor libjpeg limits their number, so a small crafted file could hold a CPU for
// minutes. The walk skips segments by their length and entropy-coded data with
// bytes.IndexByte (a fraction of a millisecond for a 10 MB file).
func checkJPEGScans(data []byte) error {
	scans := 0
	pos := 2 // after SOI
	for pos+1 < len(data) {
		if data[pos] != 0xFF {
			i := bytes.IndexByte(data[pos:], 0xFF)
			if i < 0 {
				return nil
			}
			pos += i
			continue
		}
		m := data[pos+1]
		switch {
		case m == 0xFF:
			pos++ // fill byte
			continue
		case m == 0x00, m == 0x01, m == 0xD8, m >= 0xD0 && m <= 0xD7:
			pos += 2 // stuffed 0xFF in entropy data, TEM, SOI, RSTn: no length field
			continue
		case m == 0xD9:
			return nil // EOI
		}
		if pos+4 > len(data) {
			return nil
		}
		length := int(binary.BigEndian.Uint16(data[pos+2:]))
		if m == 0xDA {
			if scans++; scans > maxJPEGScans {
				return newError(ErrCodeCorrupt, nil, "the JPEG has more than %d scans; no encoder writes that many", maxJPEGScans)
			}
		}
		pos += 2 + max(length, 2)
	}
	return nil
}
