package forensics

import (
	"bytes"
	"encoding/binary"
)

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
