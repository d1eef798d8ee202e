package forensics

import "math"

// The double-quantisation model. A coefficient saved first with step s, decoded (pixel
// rounding adds a little noise) and saved again with step t lands only on the levels
// round(j·s/t): with s = 2.5·t, levels 1, 4, 6, 9 … never occur. A block that shows the
// forbidden levels was not saved with s before; a block that avoids them across many
// coefficients was. The log-likelihood ratio of one level, "saved with s before" against
// "not", is log((s/t)·Σ_j P(round((j·s+ε)/t) = level)) under a density that is flat over a
// few steps — which, unlike a raw error level, does not grow with texture: a busy block
// gives more levels to judge, not larger ones.

const (
	// elaNoise is the spread (coefficient units) of what the decode between the two saves
	// added: pixel rounding alone gives 0.29; encoders' integer DCTs and clipping add more.
	elaNoise = 0.6
	// elaFloor mixes every level's likelihood under "saved with s" with a flat one, so a
	// single forbidden level (a clipped pixel, a retouched speck) costs a bounded amount.
	elaFloor = 0.08
	// elaMinRatio: a candidate step must be at least this multiple of the file's step to
	// be judged. From 1.5 up, level 1 is forbidden after the earlier save (j = 1 lands on
	// 2 or more), which is what makes quiet blocks — mostly ±1 levels — testify against a
	// save they did not have; closer steps forbid too few levels and lean on the flat-
	// density approximation where it is worst, at the smallest levels.
	elaMinRatio = 1.6
)

// lrTable holds, per zig-zag coefficient and level, the log-likelihood ratio of "the
// block was saved with the candidate's steps before the last save" against "it was not".
type lrTable struct {
	quality     int // IJG quality of the candidate; 0 for a table estimated from the file
	informative [elaMaxK]bool
	logLR       [elaMaxK]*lrRow // nil where not informative
}

// lrRow is the log-likelihood ratio per level for one pair of steps; level 0 is unused.
type lrRow [elaMaxLevel + 1]float32

// lrCache shares rows between candidates and frequencies with the same pair of steps (the
// IJG tables repeat steps, and a file's table has few distinct ones), computed only up to
// the largest level the picture has.
type lrCache struct {
	maxLevel int
	rows     map[[2]uint16]*lrRow
}

func newLRCache(maxLevel int) *lrCache {
	return &lrCache{maxLevel: min(maxLevel, elaMaxLevel), rows: map[[2]uint16]*lrRow{}}
}

func (c *lrCache) row(s, t uint16) *lrRow {
	key := [2]uint16{s, t}
	if r, ok := c.rows[key]; ok {
		return r
	}
	r := &lrRow{}
	for m := 1; m <= c.maxLevel; m++ {
		r[m] = float32(logLR(float64(s), float64(t), m))
	}
	c.rows[key] = r
	return r
}

// newLRTable builds the table for candidate steps s (zig-zag) given the file's steps t.
func newLRTable(quality int, s, t *[64]uint16, cache *lrCache) *lrTable {
	lt := &lrTable{quality: quality}
	for k := 1; k < elaMaxK; k++ {
		if s[k] == 0 || t[k] == 0 || float64(s[k]) < elaMinRatio*float64(t[k]) {
			continue
		}
		lt.informative[k] = true
		lt.logLR[k] = cache.row(s[k], t[k])
	}
	return lt
}

// logLR is the log-likelihood ratio of level m ≥ 1 under step t, for "saved with step s
// before" against "not": (s/t)·Σ_j P(round((j·s + ε)/t) = m), ε ~ N(0, elaNoise²), mixed
// with elaFloor.
func logLR(s, t float64, m int) float64 {
	lo, hi := (float64(m)-0.5)*t, (float64(m)+0.5)*t
	p := 0.0
	j0 := int(math.Floor((lo - 4*elaNoise) / s))
	j1 := int(math.Ceil((hi + 4*elaNoise) / s))
	for j := max(j0, 0); j <= j1; j++ {
		c := float64(j) * s
		p += normCDF((hi-c)/elaNoise) - normCDF((lo-c)/elaNoise)
	}
	return math.Log((s/t)*p*(1-elaFloor) + elaFloor)
}

// normCDF is the standard normal distribution function, tabulated (every 1/64 over ±8)
// and interpolated: the likelihood tables need a few hundred thousand values per file.
func normCDF(x float64) float64 {
	const scale, half = 64, 8 * 64
	f := x*scale + half
	switch {
	case f <= 0:
		return 0
	case f >= 2*half:
		return 1
	}
	i := int(f)
	return normTable[i] + (f-float64(i))*(normTable[i+1]-normTable[i])
}

var normTable = func() (t [2*8*64 + 2]float64) {
	for i := range t {
		x := (float64(i) - 8*64) / 64
		t[i] = 0.5 * math.Erfc(-x/math.Sqrt2)
	}
	return t
}()

// ijgLuminance is the IJG-scaled luminance table at quality q (zig-zag).
func ijgLuminance(q int) [64]uint16 { return ijgTable(&stdLuminanceZigzag, q) }
