package forensics

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// Metadata reading: ReadMetadata walks a file's container (JPEG markers, PNG chunks, WebP
// RIFF chunks, HEIF boxes) once, without decoding pixels, and parses what it finds: EXIF
// (IFD0, Exif, GPS, thumbnail), XMP (including JPEG extended XMP), PNG text chunks,
// Photoshop image resources and IPTC, C2PA manifests (JUMBF/CBOR; signatures not verified)
// and the JPEG quantisation tables. Every parser is bounded and tolerant: a malformed block yields a
// warning and whatever could be read, never a panic or an error for the whole file.

// FileMetadata is what ReadMetadata found in one file: the report's Metadata plus the raw
// facts the metadata findings (and other stages) use.
type FileMetadata struct {
	Report *Metadata // the report's view; never nil
	Format string    // "jpeg", "png", "webp", "gif", "heif", "avif"
	// Width and Height are the stored dimensions from the container header (before EXIF
	// orientation); 0 when unknown.
	Width, Height int
	EXIF          *ExifData // nil when the file has no EXIF
	XMP           *XMPData  // nil when the file has no XMP
	C2PA          *C2PAStore
	// Thumbnail is the EXIF IFD1 JPEG thumbnail, a sub-slice of the input (do not modify).
	Thumbnail []byte
	PNGText   []PNGText // PNG tEXt/zTXt/iTXt chunks other than XMP and raw profiles
	JPEG      *JPEGInfo // nil for other formats
	// AIGC is the GB 45438-2025 implicit label, wherever it was found.
	AIGC *AIGCLabel
	// Warnings are structural problems in the metadata (not fatal).
	Warnings []string
}

// PNGText is one PNG text chunk; Text is capped (see maxPNGTextValue).
type PNGText struct {
	Chunk   string `json:"chunk"`
	Keyword string `json:"keyword"`
	Text    string `json:"text"`
}

// JPEGInfo is what the JPEG marker segments say besides EXIF and XMP.
type JPEGInfo struct {
	Quality      QualityEstimate
	QuantTables  [4]*[64]uint16 // as stored (zig-zag order); nil where a table id is unused
	Progressive  bool
	Sampling     string // per component, e.g. "2x2,1x1,1x1"
	Components   int
	Comments     []string // COM segments
	APPMarkers   []string // APPn markers in file order
	JFIF         bool
	AdobeAPP14   bool
	Ducky        bool // APP12 "Ducky": Photoshop "Save for Web"
	MPF          bool // APP2 multi-picture format (phones add depth / gain maps this way)
	ICC          bool
	PhotoshopIRB bool   // APP13 Photoshop image resource blocks
	IRBWriter    string // Photoshop VersionInfo writer name, e.g. "Adobe Photoshop"
	IPTC         map[string]string
	ReachedScan  bool // the walk reached the first scan (the header is complete)
}

// ReadMetadata reads the metadata of a JPEG, PNG, WebP, HEIF or AVIF file (GIF: format and
// dimensions only; HEIF/AVIF: EXIF and XMP items and the image size). It returns an *Error
// with code unsupported_format when the bytes are none of these; damaged metadata inside a
// known format is not an error but Warnings. The input is not modified; Thumbnail points into it.
func ReadMetadata(data []byte) (*FileMetadata, error) {
	fm := &FileMetadata{Format: containerFormat(data)}
	var tiff, xmp []byte
	var jumbf [][]byte
	var xmpExt []xmpExtPart
	switch fm.Format {
	case "jpeg":
		s := walkJPEG(data)
		fm.Width, fm.Height = s.width, s.height
		tiff, xmp, jumbf, xmpExt = s.exif, s.xmp, s.jumbf, s.xmpExt
		fm.JPEG = jpegInfo(s)
		fm.Warnings = append(fm.Warnings, s.warnings...)
	case "png":
		p := walkPNG(data)
		fm.Width, fm.Height = p.width, p.height
		tiff, xmp, jumbf = p.exif, p.xmp, p.jumbf
		for _, t := range p.texts {
			fm.PNGText = append(fm.PNGText, PNGText(t))
		}
		fm.Warnings = append(fm.Warnings, p.warnings...)
	case "webp":
		w := walkWebP(data)
		fm.Width, fm.Height = w.width, w.height
		tiff, xmp, jumbf = w.exif, w.xmp, w.jumbf
		fm.Warnings = append(fm.Warnings, w.warnings...)
	case "gif":
		fm.Width = int(binary.LittleEndian.Uint16(data[6:]))
		fm.Height = int(binary.LittleEndian.Uint16(data[8:]))
	case "heif", "avif":
		h := walkHEIF(data)
		fm.Width, fm.Height = h.width, h.height
		tiff, xmp = h.exif, h.xmp
		fm.Warnings = append(fm.Warnings, h.warnings...)
	default:
		return nil, newError(ErrCodeUnsupportedFormat, nil, "not a JPEG, PNG, WebP, GIF, HEIF or AVIF file")
	}
	if tiff != nil {
		fm.EXIF = ParseEXIF(tiff)
		fm.Thumbnail = fm.EXIF.Thumbnail
		fm.Warnings = append(fm.Warnings, fm.EXIF.Warnings...)
	}
	if xmp != nil {
		fm.XMP = ParseXMP(xmp)
		if ext := joinExtendedXMP(fm.XMP.Get(nsXMPNote, "HasExtendedXMP"), xmpExt); ext != nil {
			fm.XMP.merge(ParseXMP(ext))
		}
		fm.Warnings = append(fm.Warnings, fm.XMP.Warnings...)
	}
	if len(jumbf) > 0 {
		fm.C2PA = ParseC2PA(jumbf...)
		if fm.C2PA != nil {
			fm.Warnings = append(fm.Warnings, fm.C2PA.Warnings...)
		}
	}
	fm.AIGC = findAIGCLabel(fm)
	fm.Report = fm.report()
	return fm, nil
}

// containerFormat names the container from its magic bytes (the names Decode uses).
func containerFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(data, pngSignature):
		return "png"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case len(data) >= 10 && (bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a"))):
		return "gif"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "heif"
		case "avif", "avis":
			return "avif"
		}
	}
	return ""
}

// joinExtendedXMP reassembles the extended XMP whose GUID the main packet names.
func joinExtendedXMP(guid string, parts []xmpExtPart) []byte {
	if guid == "" || len(parts) == 0 {
		return nil
	}
	var total uint32
	have := 0
	for _, p := range parts {
		if p.guid == guid {
			if total == 0 {
				total = p.total
			}
			have += len(p.data)
		}
	}
	// The claimed length must be covered by the parts present: a forged length cannot make
	// us allocate more than the file holds, and an incomplete extension is not parsed.
	if total == 0 || total > maxXMPBytes || int(total) > have {
		return nil
	}
	out := make([]byte, total)
	for _, p := range parts {
		if p.guid != guid || uint64(p.offset)+uint64(len(p.data)) > uint64(total) {
			continue
		}
		copy(out[p.offset:], p.data)
	}
	return out
}

// merge adds another packet's properties (the extended XMP) to x.
func (x *XMPData) merge(o *XMPData) {
	for k, v := range o.Props {
		x.Props[k] = append(x.Props[k], v...)
	}
	x.History = append(x.History, o.History...)
	for _, ns := range o.Namespaces {
		if !x.HasNamespace(ns) {
			x.Namespaces = append(x.Namespaces, ns)
			slices.Sort(x.Namespaces)
		}
	}
	x.Warnings = append(x.Warnings, o.Warnings...)
}

func jpegInfo(s *jpegSegments) *JPEGInfo {
	j := &JPEGInfo{
		QuantTables: s.dqt,
		Progressive: s.progressive(),
		Sampling:    s.sampling,
		Components:  s.components,
		APPMarkers:  s.appMarkers,
		JFIF:        s.jfif,
		AdobeAPP14:  s.adobe,
		Ducky:       s.ducky,
		MPF:         s.mpf,
		ICC:         s.icc,
		ReachedScan: s.reachedScan,
		Quality:     EstimateQuality(s.dqt),
	}
	for _, c := range s.comments {
		j.Comments = append(j.Comments, cleanString(c))
	}
	if s.photoshop != nil {
		j.PhotoshopIRB = true
		j.IRBWriter, j.IPTC = parsePhotoshopIRB(s.photoshop)
	}
	return j
}

// report builds the report's Metadata view.
func (fm *FileMetadata) report() *Metadata {
	m := &Metadata{}
	if e := fm.EXIF; e != nil {
		m.Make, m.Model, m.Software = e.Make, e.Model, e.Software
		// In HEIF the irot/imir properties orient the picture and the EXIF tag is only
		// informational; reporting it would suggest a rotation nobody applied.
		if fm.Format != "heif" && fm.Format != "avif" {
			m.Orientation = e.Orientation
		}
		m.GPS = e.GPS
	}
	m.HasThumbnail = len(fm.Thumbnail) > 0
	if x := fm.XMP; x != nil {
		m.CreatorTool = x.Get(nsXMP, "CreatorTool")
		m.DigitalSourceType = x.Get(nsIPTCExt, "DigitalSourceType")
		if m.Make == "" {
			m.Make = x.Get(nsTIFFXMP, "Make")
		}
		if m.Model == "" {
			m.Model = x.Get(nsTIFFXMP, "Model")
		}
		for _, ev := range x.History {
			if len(m.EditHistory) >= 32 {
				break
			}
			m.EditHistory = append(m.EditHistory, ev.String())
		}
	}
	if m.Software == "" {
		m.Software = fm.pngText("Software")
	}
	if t, noOffset, ok := fm.CaptureTime(); ok {
		m.CapturedAt, m.CapturedAtNoOffset = &t, noOffset
	}
	if j := fm.JPEG; j != nil {
		m.JPEGQuality = j.Quality.Quality
		m.Progressive = j.Progressive
	}
	m.AIGC = fm.AIGC
	m.C2PA = fm.C2PA.Summary()
	m.Generator = generatorParams(fm)
	if len(fm.Warnings) > 0 {
		m.Warnings = fm.Warnings[:min(len(fm.Warnings), 16)]
	}
	return m
}

// String renders a history event as "action by agent at when (changed)".
func (e XMPEvent) String() string {
	var b strings.Builder
	b.WriteString(e.Action)
	if e.SoftwareAgent != "" {
		b.WriteString(" by " + e.SoftwareAgent)
	}
	if e.When != "" {
		b.WriteString(" at " + e.When)
	}
	if e.Changed != "" {
		b.WriteString(" (" + e.Changed + ")")
	}
	return strings.TrimSpace(b.String())
}

// pngText returns the first PNG text chunk with the keyword (case-insensitive), or "".
func (fm *FileMetadata) pngText(keyword string) string {
	for _, t := range fm.PNGText {
		if strings.EqualFold(t.Keyword, keyword) {
			return t.Text
		}
	}
	return ""
}

// CaptureTime is when the photo says it was taken: EXIF DateTimeOriginal (else
// DateTimeDigitized) with OffsetTimeOriginal and SubSecTimeOriginal (or, lacking an offset,
// the zone implied by the GPS time stamp), else the XMP exif:DateTimeOriginal /
// photoshop:DateCreated. noOffset is true when no UTC offset is known: the time is then
// wall-clock time in an unknown zone, returned as if UTC.
func (fm *FileMetadata) CaptureTime() (t time.Time, noOffset bool, ok bool) {
	if e := fm.EXIF; e != nil {
		for _, c := range []struct{ when, offset, subsec string }{
			{e.DateTimeOriginal, firstNonEmpty(e.OffsetTimeOrig, e.OffsetTime), e.SubSecTimeOrig},
			{e.CreateDate, firstNonEmpty(e.OffsetTimeDigit, e.OffsetTime), ""},
		} {
			if t, noOff, ok := parseEXIFTime(c.when, c.offset, c.subsec); ok {
				if noOff {
					t, noOff = zoneFromGPS(t, e.GPSTime)
				}
				return t, noOff, true
			}
		}
	}
	if x := fm.XMP; x != nil {
		for _, v := range []string{x.Get(nsEXIFXMP, "DateTimeOriginal"), x.Get(nsPhotoshop, "DateCreated")} {
			if t, noOff, ok := parseXMPTime(v); ok {
				return t, noOff, true
			}
		}
	}
	return time.Time{}, false, false
}

// zoneFromGPS recovers the UTC offset of a wall-clock capture time from the GPS time stamp
// (which is UTC) when the two agree to within two minutes of a whole quarter hour: a GPS fix
// taken long before the shot would otherwise invent a zone. It returns the time unchanged,
// still without offset, when they do not.
func zoneFromGPS(local, gps time.Time) (time.Time, bool) {
	if gps.IsZero() {
		return local, true
	}
	diff := local.Sub(gps)
	zone := diff.Round(15 * time.Minute)
	if zone < -12*time.Hour || zone > 14*time.Hour || (diff-zone).Abs() > 2*time.Minute {
		return local, true
	}
	l := local
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(),
		time.FixedZone("", int(zone.Seconds()))), false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseEXIFTime parses "YYYY:MM:DD HH:MM:SS" with an optional "+HH:MM" offset and
// sub-second digits. Blank or zero dates ("0000:00:00 00:00:00") are not times.
func parseEXIFTime(when, offset, subsec string) (time.Time, bool, bool) {
	when = strings.TrimSpace(when)
	if len(when) < 19 || strings.HasPrefix(when, "0000") {
		return time.Time{}, false, false
	}
	t, err := time.Parse("2006:01:02 15:04:05", when[:19])
	if err != nil {
		return time.Time{}, false, false
	}
	if ss := strings.TrimSpace(subsec); ss != "" && len(ss) <= 9 {
		if n, ok := digits(ss); ok {
			for range 9 - len(ss) {
				n *= 10
			}
			t = t.Add(time.Duration(n))
		}
	}
	if off, ok := parseOffset(offset); ok {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(),
			time.FixedZone("", off)), false, true
	}
	return t, true, true
}

func digits(s string) (int64, bool) {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseOffset parses "+08:00" / "-05:30" into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, ok1 := digits(s[1:3])
	m, ok2 := digits(s[4:6])
	if !ok1 || !ok2 || h > 14 || m > 59 {
		return 0, false
	}
	off := int(h*3600 + m*60)
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// parseXMPTime parses XMP dates (ISO 8601 subsets); only full date-times count.
func parseXMPTime(v string) (time.Time, bool, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, false, true
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true, true
		}
	}
	return time.Time{}, false, false
}

// parsePhotoshopIRB reads Photoshop image resource blocks (APP13): the VersionInfo writer
// name (resource 0x0421) and a few IPTC IIM datasets (resource 0x0404).
func parsePhotoshopIRB(b []byte) (writer string, iptc map[string]string) {
	for n := 0; n < 1024 && len(b) >= 12 && bytes.HasPrefix(b, photoshopIRBMagic); n++ {
		id := binary.BigEndian.Uint16(b[4:])
		nameLen := int(b[6])
		p := 7 + nameLen
		if p%2 == 1 {
			p++ // the Pascal name (with its length byte) is padded to an even size
		}
		if p+4 > len(b) {
			return
		}
		size := uint64(binary.BigEndian.Uint32(b[p:]))
		p += 4
		if uint64(p)+size > uint64(len(b)) {
			return
		}
		data := b[p : p+int(size)]
		switch id {
		case 0x0421:
			writer = versionInfoWriter(data)
		case 0x0404:
			iptc = parseIPTC(data)
		}
		p += int(size) + int(size&1)
		if p > len(b) {
			return
		}
		b = b[p:]
	}
	return
}

// versionInfoWriter reads the writer name of a Photoshop VersionInfo resource: version (4),
// hasRealMergedData (1), then a Unicode string (4-byte length in UTF-16 units).
func versionInfoWriter(b []byte) string {
	if len(b) < 9 {
		return ""
	}
	n := uint64(binary.BigEndian.Uint32(b[5:]))
	if 9+2*n > uint64(len(b)) || n > 256 {
		return ""
	}
	return decodeUTF16(b[9:9+2*n], binary.BigEndian)
}

// iptcNames are the IIM record-2 datasets kept.
var iptcNames = map[byte]string{
	0x05: "ObjectName", 0x37: "DateCreated", 0x3C: "TimeCreated", 0x41: "OriginatingProgram",
	0x46: "ProgramVersion", 0x50: "By-line", 0x69: "Headline", 0x6E: "Credit", 0x73: "Source",
	0x74: "CopyrightNotice", 0x78: "Caption-Abstract",
}

func parseIPTC(b []byte) map[string]string {
	out := map[string]string{}
	for n := 0; n < 4096 && len(b) >= 5 && b[0] == 0x1C; n++ {
		rec, ds := b[1], b[2]
		size := int(binary.BigEndian.Uint16(b[3:]))
		if size&0x8000 != 0 || 5+size > len(b) {
			break // extended-length datasets are not used by the fields kept
		}
		if name, ok := iptcNames[ds]; ok && rec == 2 {
			if _, dup := out[name]; !dup {
				out[name] = cleanString(b[5 : 5+size])
			}
		}
		b = b[5+size:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
