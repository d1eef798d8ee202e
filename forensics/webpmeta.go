package forensics

import (
	"bytes"
	"encoding/binary"
)

// WebP RIFF chunk walking: dimensions (VP8X canvas, VP8 or VP8L bitstream header) and the
// metadata chunks EXIF, "XMP " and C2PA. Frames are skipped without being read.

const maxWebPChunks = 4096

type webpChunks struct {
	width, height int
	lossless      bool
	exif          []byte
	xmp           []byte
	jumbf         [][]byte
	warnings      []string
}

// walkWebP walks a RIFF WebP file's chunks.
func walkWebP(data []byte) *webpChunks {
	w := &webpChunks{}
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		w.warnings = append(w.warnings, "not a WebP: missing RIFF/WEBP header")
		return w
	}
	end := uint64(binary.LittleEndian.Uint32(data[4:])) + 8
	if end > uint64(len(data)) {
		w.warnings = append(w.warnings, "WebP RIFF size larger than the file")
		end = uint64(len(data))
	}
	pos := uint64(12)
	for n := 0; n < maxWebPChunks; n++ {
		if pos+8 > end {
			return w
		}
		fourcc := string(data[pos : pos+4])
		size := uint64(binary.LittleEndian.Uint32(data[pos+4:]))
		start := pos + 8
		if start+size > end {
			w.warnings = append(w.warnings, "WebP chunk "+printable([]byte(fourcc))+" truncated")
			return w
		}
		w.chunk(fourcc, data[start:start+size])
		pos = start + size + size&1 // chunks are padded to even sizes
	}
	w.warnings = append(w.warnings, "too many WebP chunks")
	return w
}

func (w *webpChunks) chunk(fourcc string, b []byte) {
	switch fourcc {
	case "VP8X":
		if len(b) >= 10 {
			w.width = int(uint32(b[4])|uint32(b[5])<<8|uint32(b[6])<<16) + 1
			w.height = int(uint32(b[7])|uint32(b[8])<<8|uint32(b[9])<<16) + 1
		}
	case "VP8 ":
		// Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
		if w.width == 0 && len(b) >= 10 && b[3] == 0x9d && b[4] == 0x01 && b[5] == 0x2a {
			w.width = int(binary.LittleEndian.Uint16(b[6:]) & 0x3FFF)
			w.height = int(binary.LittleEndian.Uint16(b[8:]) & 0x3FFF)
		}
	case "VP8L":
		w.lossless = true
		if w.width == 0 && len(b) >= 5 && b[0] == 0x2f {
			v := binary.LittleEndian.Uint32(b[1:])
			w.width = int(v&0x3FFF) + 1
			w.height = int(v>>14&0x3FFF) + 1
		}
	case "EXIF":
		if w.exif == nil {
			// Some writers keep JPEG's "Exif\0\0" prefix.
			w.exif = bytes.TrimPrefix(b, exifHeader)
		}
	case "XMP ":
		if w.xmp == nil {
			w.xmp = b
		}
	case "C2PA":
		if len(w.jumbf) < maxJUMBFStreams {
			w.jumbf = append(w.jumbf, b)
		}
	}
}
