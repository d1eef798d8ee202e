package forensics

import (
	"bytes"
	"encoding/binary"
	"strconv"
)

// JPEG marker walking. Everything metadata needs sits before the first scan (SOS), so the
// walk stops there: its cost is a few hundred nanoseconds per file, independent of the size
// of the compressed image, and it never scans entropy-coded data byte by byte.

// maxJPEGSegments bounds the walk; real files have a few dozen segments before SOS.
const maxJPEGSegments = 4096

// maxJUMBFStreams bounds how many distinct APP11 box instances are reassembled.
const maxJUMBFStreams = 16

var (
	exifHeader        = []byte("Exif\x00\x00")
	xmpHeader         = []byte("http://ns.adobe.com/xap/1.0/\x00")
	xmpExtHeader      = []byte("http://ns.adobe.com/xmp/extension/\x00")
	photoshopHeader   = []byte("Photoshop 3.0\x00")
	jfifHeader        = []byte("JFIF\x00")
	adobeAppHeader    = []byte("Adobe")
	jpegSOI           = []byte{0xFF, 0xD8}
	jumbfCommonID     = []byte("JP")
	iccProfileHeader  = []byte("ICC_PROFILE\x00")
	mpfHeader         = []byte("MPF\x00")
	ducky             = []byte("Ducky")
	photoshopIRBMagic = []byte("8BIM")
)

// jpegSegments is what the marker walk found: sub-slices of the input, nothing copied
// except where several segments must be joined (extended XMP, multi-segment JUMBF).
type jpegSegments struct {
	exif        []byte // TIFF structure from the first APP1 Exif segment
	xmp         []byte // main XMP packet
	xmpExt      []xmpExtPart
	jumbf       [][]byte // one reassembled JUMBF box per APP11 box instance, in file order
	photoshop   []byte   // APP13 Photoshop image resource blocks
	comments    [][]byte // COM segments
	dqt         [4]*[64]uint16
	dqtSeen     int  // DQT tables read (a table id redefined counts again)
	sof         byte // the SOFn marker (0 when none was found)
	width       int
	height      int
	components  int
	sampling    string // e.g. "2x2,1x1,1x1"
	jfif        bool
	adobe       bool // APP14 Adobe segment (written by Photoshop and other Adobe encoders)
	ducky       bool // APP12 "Ducky": Photoshop's Save for Web
	icc         bool
	mpf         bool // APP2 MPF: multi-picture (phones' depth/gain maps)
	appMarkers  []string
	warnings    []string
	reachedScan bool
}

type xmpExtPart struct {
	guid   string
	total  uint32
	offset uint32
	data   []byte
}

// progressive reports whether the frame is progressive (SOF2, SOF6, SOF10, SOF14).
func (s *jpegSegments) progressive() bool {
	return s.sof == 0xC2 || s.sof == 0xC6 || s.sof == 0xCA || s.sof == 0xCE
}

// walkJPEG walks the marker segments of a JPEG file up to the first scan.
func walkJPEG(data []byte) *jpegSegments {
	s := &jpegSegments{}
	if !bytes.HasPrefix(data, jpegSOI) {
		s.warnings = append(s.warnings, "not a JPEG: missing SOI marker")
		return s
	}
	jumbfIndex := map[uint16]int{}
	pos := 2
	for n := 0; n < maxJPEGSegments; n++ {
		// Markers may be preceded by any number of 0xFF fill bytes.
		for pos < len(data) && data[pos] != 0xFF {
			// Garbage between segments: tolerated (libjpeg warns and resyncs), noted once.
			if n == 0 || len(s.warnings) == 0 || s.warnings[len(s.warnings)-1] != "garbage between JPEG segments" {
				s.warnings = append(s.warnings, "garbage between JPEG segments")
			}
			pos++
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			s.warnings = append(s.warnings, "JPEG ends before the first scan")
			return s
		}
		marker := data[pos]
		pos++
		switch {
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			continue // no length field
		case marker == 0xD9:
			s.warnings = append(s.warnings, "JPEG ends (EOI) before the first scan")
			return s
		}
		if pos+2 > len(data) {
			s.warnings = append(s.warnings, "JPEG segment length truncated")
			return s
		}
		length := int(binary.BigEndian.Uint16(data[pos:]))
		if length < 2 {
			s.warnings = append(s.warnings, "JPEG segment with invalid length")
			return s
		}
		end := pos + length
		if end > len(data) {
			s.warnings = append(s.warnings, "JPEG segment truncated")
			end = len(data)
		}
		seg := data[pos+2 : end]
		pos = end
		if marker == 0xDA {
			s.reachedScan = true
			return s
		}
		s.segment(marker, seg, jumbfIndex)
	}
	s.warnings = append(s.warnings, "too many JPEG segments before the first scan")
	return s
}

func (s *jpegSegments) segment(marker byte, seg []byte, jumbfIndex map[uint16]int) {
	if marker >= 0xE0 && marker <= 0xEF && len(s.appMarkers) < 64 {
		s.appMarkers = append(s.appMarkers, "APP"+strconv.Itoa(int(marker-0xE0)))
	}
	switch {
	case marker == 0xE0:
		s.jfif = s.jfif || bytes.HasPrefix(seg, jfifHeader)
	case marker == 0xE1:
		switch {
		case bytes.HasPrefix(seg, exifHeader):
			if s.exif == nil {
				s.exif = seg[len(exifHeader):]
			}
		case bytes.HasPrefix(seg, xmpHeader):
			if s.xmp == nil {
				s.xmp = seg[len(xmpHeader):]
			}
		case bytes.HasPrefix(seg, xmpExtHeader):
			s.addXMPExtension(seg[len(xmpExtHeader):])
		}
	case marker == 0xE2:
		s.icc = s.icc || bytes.HasPrefix(seg, iccProfileHeader)
		s.mpf = s.mpf || bytes.HasPrefix(seg, mpfHeader)
	case marker == 0xEB:
		s.addJUMBF(seg, jumbfIndex)
	case marker == 0xEC:
		s.ducky = s.ducky || bytes.HasPrefix(seg, ducky)
	case marker == 0xED:
		if bytes.HasPrefix(seg, photoshopHeader) && s.photoshop == nil {
			s.photoshop = seg[len(photoshopHeader):]
		}
	case marker == 0xEE:
		s.adobe = s.adobe || bytes.HasPrefix(seg, adobeAppHeader)
	case marker == 0xFE:
		if len(s.comments) < 16 {
			s.comments = append(s.comments, seg)
		}
	case marker == 0xDB:
		s.readDQT(seg)
	case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
		s.readSOF(marker, seg)
	}
}

// addXMPExtension records one chunk of extended XMP (XMP spec part 3, §1.1.3.1): a 32-char
// GUID, the full length and this chunk's offset, then the data.
func (s *jpegSegments) addXMPExtension(b []byte) {
	if len(b) < 40 || len(s.xmpExt) >= 1024 {
		return
	}
	s.xmpExt = append(s.xmpExt, xmpExtPart{
		guid:   string(b[:32]),
		total:  binary.BigEndian.Uint32(b[32:]),
		offset: binary.BigEndian.Uint32(b[36:]),
		data:   b[40:],
	})
}

// addJUMBF appends one APP11 segment to its box instance. ISO 19566-5 splits a JUMBF box
// over segments carrying "JP", a box instance number, a packet sequence number, and then
// the box; continuation segments repeat the box's 8-byte LBox/TBox header, which is dropped.
func (s *jpegSegments) addJUMBF(seg []byte, index map[uint16]int) {
	if len(seg) < 8+8 || !bytes.HasPrefix(seg, jumbfCommonID) {
		return
	}
	instance := binary.BigEndian.Uint16(seg[2:])
	seq := binary.BigEndian.Uint32(seg[4:])
	payload := seg[8:]
	i, ok := index[instance]
	if !ok {
		if len(s.jumbf) >= maxJUMBFStreams {
			return
		}
		i = len(s.jumbf)
		index[instance] = i
		s.jumbf = append(s.jumbf, nil)
	}
	if len(s.jumbf[i]) == 0 {
		// The first packet carries the header; copy so that later appends cannot write
		// into the caller's input.
		if seq != 1 {
			s.warnings = append(s.warnings, "JUMBF continuation without its first segment")
		}
		s.jumbf[i] = append([]byte(nil), payload...)
		return
	}
	s.jumbf[i] = append(s.jumbf[i], payload[8:]...)
}

// readDQT reads one DQT segment (possibly several tables). Values are kept in zig-zag order,
// as stored; the quality estimate compares them with the standard tables in the same order.
func (s *jpegSegments) readDQT(seg []byte) {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&0x0F
		seg = seg[1:]
		size := 64
		if pq == 1 {
			size = 128
		}
		if pq > 1 || tq > 3 || len(seg) < size {
			s.warnings = append(s.warnings, "malformed DQT segment")
			return
		}
		t := new([64]uint16)
		for k := range 64 {
			if pq == 0 {
				t[k] = uint16(seg[k])
			} else {
				t[k] = binary.BigEndian.Uint16(seg[2*k:])
			}
		}
		s.dqt[tq] = t
		s.dqtSeen++
		seg = seg[size:]
	}
}

func (s *jpegSegments) readSOF(marker byte, seg []byte) {
	if s.sof != 0 {
		return // a second frame header belongs to an embedded picture; keep the first
	}
	if len(seg) < 6 {
		s.warnings = append(s.warnings, "truncated SOF segment")
		return
	}
	s.sof = marker
	s.height = int(binary.BigEndian.Uint16(seg[1:]))
	s.width = int(binary.BigEndian.Uint16(seg[3:]))
	s.components = int(seg[5])
	var b []byte
	for c := 0; c < s.components && 6+3*c+2 < len(seg) && c < 4; c++ {
		hv := seg[6+3*c+1]
		if c > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(hv>>4), 10)
		b = append(b, 'x')
		b = strconv.AppendInt(b, int64(hv&0x0F), 10)
	}
	s.sampling = string(b)
}
