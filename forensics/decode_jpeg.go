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
// pixel per raster cell, or a decode just under WorkSide taken as the raster
// (jpegWorkSize, shared with the libjpeg-turbo backend), and handed over one MCU row at a time: no plane of the picture is ever
// allocated, only the raster. Its cells are whole decoded pixels, as in the libjpeg-turbo
// backend, whose 1/2 and 1/4 decodes are the same box averages: where both backends pick
// the same scale their rasters agree to rounding. PDQ's 512-pixel input is made from the raster, so WorkSide
// is the size that binds.
func decodeJPEGGo(ctx context.Context, data []byte, w, h, orientation int, path rasterPath) (*Raster, error) {
	m, ow, oh := jpegWorkSize(w, h, 1, 2, 4)
	s := 8 / m
	sw, sh := (w+s-1)/s, (h+s-1)/s
	g := newRasterGrid(w, h, sw, sh, ow, oh, transformOf(orientation), true, path)
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

// minWorkSide is the smallest long side a JPEG's work raster may have when a DCT-scaled
// decode lands just under WorkSide: a 12 MP photo (4000-4032 px wide) decodes at 1/4 to
// 1000-1008 px, and analysing those pixels as they are costs a fraction of decoding at 3/8
// or 1/2 and box-averaging down to 1024, for a raster 2-3% smaller.
const minWorkSide = WorkSide * 15 / 16

// jpegWorkSize picks the DCT scale numerator m (of nums, ascending; 8 when none fits) for
// decoding a w×h JPEG and the work raster's stored size: the first scale whose decode is at
// least the WorkSide raster (then box-averaged to it, as before), or whose decode's long
// side is at least minWorkSide (then the raster is the decode, pixel for pixel) — the latter
// only at the scales the pure-Go decoder has too, so both backends always make rasters of
// one size.
func jpegWorkSize(w, h int, nums ...int) (m, ow, oh int) {
	ow, oh = rasterSize(w, h, WorkSide)
	for _, m := range nums {
		sw, sh := (w*m+7)/8, (h*m+7)/8
		if sw >= ow && sh >= oh {
			return m, ow, oh
		}
		if m&(m-1) == 0 && max(sw, sh) >= minWorkSide { // 1/8, 1/4, 1/2: scales both backends have
			return m, sw, sh
		}
	}
	return 8, ow, oh
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
