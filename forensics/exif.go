package forensics

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// A small TIFF/EXIF reader: IFD0, the Exif IFD, the GPS IFD and IFD1 (the thumbnail). It
// reads only the tags metadata findings use, keeps no copies of the input beyond the strings
// it returns, and bounds everything a hostile file controls: entries per IFD, the number of
// IFDs, loops between IFDs, every offset and count (checked in 64 bits against the buffer).
// The reasons for not using an EXIF library are in FORENSICS-NOTES.md: bep/imagemeta filters
// IFD0 only by default, dsoprea/go-exif scans byte by byte and rebuilds tables per call,
// rwcarlsen/goexif is unmaintained with an open panic.

const (
	maxIFDEntries  = 1024    // entries read from one IFD; bep/imagemeta's corrupt samples claim far more
	maxIFDs        = 16      // IFDs followed in one file (IFD0, Exif, GPS, Interop, IFD1 and a few more)
	maxEXIFString  = 1 << 16 // longest string kept from one tag
	exifTypeASCII  = 2
	exifTypeShort  = 3
	exifTypeLong   = 4
	exifTypeRation = 5
	exifTypeUndef  = 7
	exifTypeSRat   = 10
)

// TIFF tags read here.
const (
	tagImageWidth       = 0x0100
	tagImageLength      = 0x0101
	tagCompression      = 0x0103
	tagImageDescription = 0x010E
	tagMake             = 0x010F
	tagModel            = 0x0110
	tagOrientation      = 0x0112
	tagSoftware         = 0x0131
	tagDateTime         = 0x0132
	tagArtist           = 0x013B
	tagThumbOffset      = 0x0201
	tagThumbLength      = 0x0202
	tagCopyright        = 0x8298
	tagExposureTime     = 0x829A
	tagFNumber          = 0x829D
	tagExifIFD          = 0x8769
	tagGPSIFD           = 0x8825
	tagISO              = 0x8827
	tagDateTimeOriginal = 0x9003
	tagDateTimeDigit    = 0x9004
	tagOffsetTime       = 0x9010
	tagOffsetTimeOrig   = 0x9011
	tagOffsetTimeDigit  = 0x9012
	tagFocalLength      = 0x920A
	tagMakerNote        = 0x927C
	tagUserComment      = 0x9286
	tagSubSecTimeOrig   = 0x9291
	tagPixelXDimension  = 0xA002
	tagPixelYDimension  = 0xA003
	tagLensMake         = 0xA433
	tagLensModel        = 0xA434
	tagGPSLatRef        = 0x0001
	tagGPSLat           = 0x0002
	tagGPSLonRef        = 0x0003
	tagGPSLon           = 0x0004
	tagGPSTimeStamp     = 0x0007
	tagGPSDateStamp     = 0x001D
)

var exifTypeSize = [...]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

// ExifData is what the EXIF block of a file says. Strings are trimmed of NULs and spaces.
type ExifData struct {
	ByteOrder        string // "II" or "MM"
	Make             string
	Model            string
	Software         string
	Artist           string
	Copyright        string
	ImageDescription string
	UserComment      string
	ModifyDate       string // IFD0 DateTime, as written
	DateTimeOriginal string // as written, "YYYY:MM:DD HH:MM:SS"
	CreateDate       string // DateTimeDigitized
	OffsetTime       string
	OffsetTimeOrig   string
	OffsetTimeDigit  string
	SubSecTimeOrig   string
	Orientation      int // 0 when absent
	LensMake         string
	LensModel        string
	PixelWidth       int // ExifIFD PixelXDimension
	PixelHeight      int
	// Camera-only facts: exposure settings and maker notes are what editors and generators
	// rarely write and cameras always do.
	HasExposure  bool // ExposureTime or FNumber
	HasISO       bool
	HasFocal     bool
	HasMakerNote bool
	GPS          *GPS
	GPSTime      time.Time // GPSDateStamp + GPSTimeStamp, UTC; zero when absent
	// Thumbnail is the IFD1 JPEG thumbnail (a sub-slice of the input), nil when absent or
	// out of bounds.
	Thumbnail []byte
	// Warnings are structural problems met while reading (loops, bad offsets, limits).
	Warnings []string
}

// tiffReader reads one TIFF structure.
type tiffReader struct {
	b       []byte
	order   binary.ByteOrder
	visited map[uint32]bool
	out     *ExifData
}

type ifdEntry struct {
	tag   uint16
	typ   uint16
	count uint32
	value []byte // the value bytes, bounds-checked; nil when out of range
}

// ParseEXIF reads a TIFF/EXIF structure (starting at the "II*\0" / "MM\0*" header). It
// never fails: what could not be read is listed in Warnings.
func ParseEXIF(b []byte) *ExifData {
	out := &ExifData{}
	if len(b) < 8 {
		out.Warnings = append(out.Warnings, "EXIF header truncated")
		return out
	}
	r := &tiffReader{b: b, visited: map[uint32]bool{}, out: out}
	switch string(b[:2]) {
	case "II":
		r.order = binary.LittleEndian
	case "MM":
		r.order = binary.BigEndian
	default:
		out.Warnings = append(out.Warnings, "EXIF header has no byte order mark")
		return out
	}
	out.ByteOrder = string(b[:2])
	if r.order.Uint16(b[2:]) != 42 {
		out.Warnings = append(out.Warnings, "EXIF header magic is not 42")
	}
	ifd0, next := r.readIFD(r.order.Uint32(b[4:]), "IFD0")
	r.ifd0(ifd0)
	if next != 0 {
		ifd1, _ := r.readIFD(next, "IFD1")
		r.ifd1(ifd1)
	}
	return out
}

func (r *tiffReader) warn(format string, args ...any) {
	if len(r.out.Warnings) < 32 {
		r.out.Warnings = append(r.out.Warnings, fmt.Sprintf(format, args...))
	}
}

// readIFD reads the entries of the IFD at off and the offset of the next one.
func (r *tiffReader) readIFD(off uint32, name string) ([]ifdEntry, uint32) {
	if off == 0 {
		return nil, 0
	}
	if r.visited[off] {
		r.warn("%s: IFD loop at offset %d", name, off)
		return nil, 0
	}
	if len(r.visited) >= maxIFDs {
		r.warn("%s: too many IFDs", name)
		return nil, 0
	}
	r.visited[off] = true
	if uint64(off)+2 > uint64(len(r.b)) {
		r.warn("%s: offset %d out of range", name, off)
		return nil, 0
	}
	n := int(r.order.Uint16(r.b[off:]))
	start := uint64(off) + 2
	avail := (uint64(len(r.b)) - start) / 12
	if uint64(n) > avail {
		r.warn("%s: %d entries claimed, %d fit", name, n, avail)
		n = int(avail)
	}
	if n > maxIFDEntries {
		r.warn("%s: %d entries, reading %d", name, n, maxIFDEntries)
		n = maxIFDEntries
	}
	entries := make([]ifdEntry, 0, n)
	for i := range n {
		p := start + uint64(i)*12
		e := ifdEntry{
			tag:   r.order.Uint16(r.b[p:]),
			typ:   r.order.Uint16(r.b[p+2:]),
			count: r.order.Uint32(r.b[p+4:]),
		}
		if int(e.typ) < len(exifTypeSize) && e.typ != 0 {
			size := exifTypeSize[e.typ] * uint64(e.count)
			if size <= 4 {
				e.value = r.b[p+8 : p+8+size]
			} else {
				vo := uint64(r.order.Uint32(r.b[p+8:]))
				if vo+size <= uint64(len(r.b)) {
					e.value = r.b[vo : vo+size]
				}
			}
		}
		entries = append(entries, e)
	}
	var next uint32
	if p := start + uint64(n)*12; p+4 <= uint64(len(r.b)) {
		next = r.order.Uint32(r.b[p:])
	}
	return entries, next
}

func (r *tiffReader) ifd0(entries []ifdEntry) {
	o := r.out
	for _, e := range entries {
		switch e.tag {
		case tagMake:
			o.Make = r.jsonStr(e)
		case tagModel:
			o.Model = r.jsonStr(e)
		case tagSoftware:
			o.Software = r.jsonStr(e)
		case tagArtist:
			o.Artist = r.jsonStr(e)
		case tagCopyright:
			o.Copyright = r.jsonStr(e)
		case tagImageDescription:
			o.ImageDescription = r.jsonStr(e)
		case tagDateTime:
			o.ModifyDate = r.jsonStr(e)
		case tagOrientation:
			if v, ok := r.uint(e, 0); ok && v <= 8 {
				o.Orientation = int(v)
			}
		case tagExifIFD:
			if off, ok := r.uint(e, 0); ok {
				sub, _ := r.readIFD(off, "ExifIFD")
				r.exifIFD(sub)
			}
		case tagGPSIFD:
			if off, ok := r.uint(e, 0); ok {
				sub, _ := r.readIFD(off, "GPS")
				r.gpsIFD(sub)
			}
		}
	}
}

func (r *tiffReader) exifIFD(entries []ifdEntry) {
	o := r.out
	for _, e := range entries {
		switch e.tag {
		case tagDateTimeOriginal:
			o.DateTimeOriginal = r.jsonStr(e)
		case tagDateTimeDigit:
			o.CreateDate = r.jsonStr(e)
		case tagOffsetTime:
			o.OffsetTime = r.jsonStr(e)
		case tagOffsetTimeOrig:
			o.OffsetTimeOrig = r.jsonStr(e)
		case tagOffsetTimeDigit:
			o.OffsetTimeDigit = r.jsonStr(e)
		case tagSubSecTimeOrig:
			o.SubSecTimeOrig = r.jsonStr(e)
		case tagUserComment:
			o.UserComment = r.userComment(e)
		case tagLensMake:
			o.LensMake = r.jsonStr(e)
		case tagLensModel:
			o.LensModel = r.jsonStr(e)
		case tagPixelXDimension:
			if v, ok := r.uint(e, 0); ok && v <= math.MaxInt32 {
				o.PixelWidth = int(v)
			}
		case tagPixelYDimension:
			if v, ok := r.uint(e, 0); ok && v <= math.MaxInt32 {
				o.PixelHeight = int(v)
			}
		case tagExposureTime, tagFNumber:
			o.HasExposure = o.HasExposure || e.value != nil
		case tagISO:
			o.HasISO = o.HasISO || e.value != nil
		case tagFocalLength:
			o.HasFocal = o.HasFocal || e.value != nil
		case tagMakerNote:
			o.HasMakerNote = o.HasMakerNote || len(e.value) > 0
		}
	}
}

func (r *tiffReader) gpsIFD(entries []ifdEntry) {
	var latRef, lonRef, date string
	var lat, lon, tod []float64
	for _, e := range entries {
		switch e.tag {
		case tagGPSLatRef:
			latRef = r.jsonStr(e)
		case tagGPSLonRef:
			lonRef = r.jsonStr(e)
		case tagGPSLat:
			lat = r.rationals(e, 3)
		case tagGPSLon:
			lon = r.rationals(e, 3)
		case tagGPSTimeStamp:
			tod = r.rationals(e, 3)
		case tagGPSDateStamp:
			date = r.jsonStr(e)
		}
	}
	if la, ok := dmsToDegrees(lat, latRef, 90); ok {
		if lo, ok := dmsToDegrees(lon, lonRef, 180); ok {
			r.out.GPS = &GPS{Lat: la, Lon: lo}
		}
	}
	if len(tod) == 3 && date != "" {
		if d, err := time.Parse("2006:01:02", date); err == nil {
			secs := tod[0]*3600 + tod[1]*60 + tod[2]
			if secs >= 0 && secs < 86400 {
				r.out.GPSTime = d.Add(time.Duration(secs * float64(time.Second)))
			}
		}
	}
}

// dmsToDegrees turns degrees/minutes/seconds and a hemisphere letter into signed decimal
// degrees; ok is false for missing or impossible values.
func dmsToDegrees(dms []float64, ref string, limit float64) (float64, bool) {
	if len(dms) != 3 {
		return 0, false
	}
	for _, v := range dms {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, false
		}
	}
	d := dms[0] + dms[1]/60 + dms[2]/3600
	if d > limit {
		return 0, false
	}
	if ref == "S" || ref == "W" {
		d = -d
	}
	return d, true
}

func (r *tiffReader) ifd1(entries []ifdEntry) {
	var off, n uint32
	var haveOff, haveLen bool
	for _, e := range entries {
		switch e.tag {
		case tagThumbOffset:
			off, haveOff = r.uint(e, 0)
		case tagThumbLength:
			n, haveLen = r.uint(e, 0)
		}
	}
	if !haveOff || !haveLen || n == 0 {
		return
	}
	if uint64(off)+uint64(n) > uint64(len(r.b)) {
		r.warn("IFD1: thumbnail at %d+%d out of range", off, n)
		return
	}
	r.out.Thumbnail = r.b[off : off+n]
}

// uint reads the i-th value of a SHORT or LONG entry.
func (r *tiffReader) uint(e ifdEntry, i int) (uint32, bool) {
	switch e.typ {
	case exifTypeShort:
		if len(e.value) >= 2*(i+1) {
			return uint32(r.order.Uint16(e.value[2*i:])), true
		}
	case exifTypeLong, 13: // 13 = IFD
		if len(e.value) >= 4*(i+1) {
			return r.order.Uint32(e.value[4*i:]), true
		}
	}
	return 0, false
}

// rationals reads n RATIONAL (or SRATIONAL) values; nil when the entry has fewer or a zero
// denominator.
func (r *tiffReader) rationals(e ifdEntry, n int) []float64 {
	if (e.typ != exifTypeRation && e.typ != exifTypeSRat) || len(e.value) < 8*n {
		return nil
	}
	out := make([]float64, n)
	for i := range n {
		num, den := r.order.Uint32(e.value[8*i:]), r.order.Uint32(e.value[8*i+4:])
		if den == 0 {
			return nil
		}
		if e.typ == exifTypeSRat {
			out[i] = float64(int32(num)) / float64(int32(den))
		} else {
			out[i] = float64(num) / float64(den)
		}
	}
	return out
}

// str reads an ASCII entry (UNDEFINED and BYTE are accepted too: writers mix them up).
func (r *tiffReader) jsonStr(e ifdEntry) string {
	if e.value == nil {
		return ""
	}
	return cleanString(e.value)
}

// cleanString cuts at the first NUL, trims spaces, caps the length and turns invalid UTF-8
// (Latin-1 from old cameras) into valid UTF-8.
func cleanString(b []byte) string {
	if i := indexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > maxEXIFString {
		b = b[:maxEXIFString]
	}
	s := strings.TrimSpace(string(b))
	if !utf8.ValidString(s) {
		s = latin1(b)
		s = strings.TrimSpace(s)
	}
	return s
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func latin1(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// userComment decodes the UserComment's 8-byte character code prefix (EXIF 2.32 §4.6.5).
func (r *tiffReader) userComment(e ifdEntry) string {
	v := e.value
	if len(v) < 8 {
		return cleanString(v)
	}
	code, body := string(v[:8]), v[8:]
	if len(body) > maxEXIFString {
		body = body[:maxEXIFString]
	}
	switch {
	case strings.HasPrefix(code, "UNICODE"):
		return decodeUTF16(body, r.order)
	default: // "ASCII", "JIS", undefined (all NULs): treat as bytes
		return cleanString(trimTrailingNULs(body))
	}
}

func trimTrailingNULs(b []byte) []byte {
	// Undefined-code comments are often space- or NUL-padded; a NUL in the middle of a
	// JSON comment (Meitu) should not cut it, so only trailing NULs go.
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// decodeUTF16 decodes a UNICODE UserComment. The byte order is officially the TIFF's, but
// writers disagree; like exiftool, guess from the first character when it looks swapped.
func decodeUTF16(b []byte, order binary.ByteOrder) string {
	if len(b) >= 2 {
		switch {
		case b[0] == 0xFF && b[1] == 0xFE:
			order, b = binary.LittleEndian, b[2:]
		case b[0] == 0xFE && b[1] == 0xFF:
			order, b = binary.BigEndian, b[2:]
		case b[0] == 0 && b[1] != 0:
			order = binary.BigEndian
		case b[0] != 0 && b[1] == 0:
			order = binary.LittleEndian
		}
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := order.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.TrimSpace(string(utf16.Decode(u)))
}

// Orientation returns the EXIF orientation (1-8) of a JPEG, PNG (eXIf) or WebP file, or 1
// when the file has none or it cannot be read. It is cheap (a marker walk and one IFD).
func Orientation(data []byte) int {
	var tiff []byte
	switch containerFormat(data) {
	case "jpeg":
		tiff = walkJPEG(data).exif
	case "png":
		tiff = walkPNG(data).exif
	case "webp":
		tiff = walkWebP(data).exif
	}
	if tiff == nil {
		return 1
	}
	o := ParseEXIF(tiff).Orientation
	if o < 1 || o > 8 {
		return 1
	}
	return o
}
