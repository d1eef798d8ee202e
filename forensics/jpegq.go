package forensics

// JPEG quality from the quantisation tables. Most software (libjpeg and its descendants,
// GIMP, Pillow, ImageMagick, Go's image/jpeg, browsers) scales the two example tables of
// ITU-T T.81 Annex K with the IJG formula; inverting it gives the "quality" the file was
// saved at, and an exact match says which family of encoder wrote it. Cameras and phones
// mostly use tables of their own, so "exact IJG tables" next to a camera's EXIF is one sign
// (not proof) that the file went through software after capture.

// Annex K tables in zig-zag order, the order DQT stores them in.
var (
	stdLuminanceZigzag = [64]uint16{
		16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
		26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
		56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
		95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
	}
	stdChrominanceZigzag = [64]uint16{
		17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	}
)

// QualityEstimate is the IJG quality that best reproduces a file's quantisation tables.
type QualityEstimate struct {
	Quality int `json:"quality"` // 1..100; 0 when the file has no luminance table
	// ExactIJG is true when the tables are exactly the IJG-scaled standard tables at that
	// quality (libjpeg-family encoders); false for tables of the encoder's own.
	ExactIJG bool `json:"exact_ijg"`
	// MeanError is Σ|table − IJG table| / Σ(table + IJG table) at Quality: 0 for an exact
	// match, up to 1; above ~0.1 the quality number is only a comparable figure.
	MeanError float64 `json:"mean_error"`
	Tables    int     `json:"tables"`
}

// ijgTable scales a standard table to an IJG quality (jcparam.c, force_baseline).
func ijgTable(std *[64]uint16, q int) [64]uint16 {
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	var t [64]uint16
	for i, v := range std {
		x := (int(v)*scale + 50) / 100
		t[i] = uint16(min(max(x, 1), 255))
	}
	return t
}

// EstimateQuality compares the luminance table (id 0) and, when present, the chrominance
// table (id 1) with IJG tables and returns the closest quality. The scale factor implied
// by the tables gives a first guess; the qualities around it are then compared cell by
// cell (a full sweep of all 100 costs tens of microseconds per file for the same answer).
func EstimateQuality(tables [4]*[64]uint16) QualityEstimate {
	lum, chr := tables[0], tables[1]
	if lum == nil {
		return QualityEstimate{}
	}
	n := 0
	for _, t := range tables {
		if t != nil {
			n++
		}
	}
	// Cells clamped at 255 (low qualities) say nothing about the scale.
	var have, std int
	for i := range 64 {
		if lum[i] < 255 {
			have += int(lum[i])
			std += int(stdLuminanceZigzag[i])
		}
	}
	scale := 5000.0 // every cell clamped: quality 1
	if std > 0 {
		scale = float64(have) * 100 / float64(std)
	}
	guess := 100
	switch {
	case scale <= 0:
	case scale <= 100:
		guess = int((200 - scale) / 2)
	default:
		guess = int(5000 / scale)
	}
	best := QualityEstimate{Tables: n, MeanError: -1}
	for q := max(1, guess-4); q <= min(100, guess+4); q++ {
		e, exact := ijgDistance(lum, chr, q)
		if best.MeanError < 0 || e < best.MeanError {
			best.Quality, best.MeanError, best.ExactIJG = q, e, exact
		}
	}
	return best
}

// ijgDistance is Σ|table − IJG(q)| / Σ(table + IJG(q)) over the tables (0 when identical,
// bounded by 1, and symmetric, so it favours neither coarser nor finer tables), and
// whether they are identical.
func ijgDistance(lum, chr *[64]uint16, q int) (float64, bool) {
	var diff, total int
	compare := func(have, std *[64]uint16) {
		want := ijgTable(std, q)
		for i := range 64 {
			d := int(have[i]) - int(want[i])
			if d < 0 {
				d = -d
			}
			diff += d
			total += int(have[i]) + int(want[i])
		}
	}
	compare(lum, &stdLuminanceZigzag)
	if chr != nil {
		compare(chr, &stdChrominanceZigzag)
	}
	return float64(diff) / float64(total), diff == 0
}
