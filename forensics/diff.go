package forensics

import (
	"math"
	"slices"
)

// This file computes, for an evidence photo aligned to its reference, how unexpected each
// pixel's difference is: the reference is resampled into the evidence's frame, its tones
// mapped onto the evidence's per channel, and each evidence pixel compared with the range
// the mapped reference spans around it, in units of the pair's own noise.

// toneMapBins is the number of reference-value bins of a tone curve.
const toneMapBins = 64

// toneCurve fits a monotone mapping from reference values to evidence values: the median
// evidence value of each bin of reference values, interpolated between bin centres. It
// absorbs brightness, contrast, gamma, saturation (on chroma) and clipping without
// assuming their form, and medians ignore paint as long as it covers under half of a bin.
// valid marks the pixels to learn from.
func toneCurve(ref, ev []float32, valid []bool) [256]float32 {
	var hist [toneMapBins][256]int32
	var counts [toneMapBins]int32
	for i, r := range ref {
		if !valid[i] {
			continue
		}
		b := clampInt(int(r)*toneMapBins/256, 0, toneMapBins-1)
		hist[b][clampInt(int(ev[i]+0.5), 0, 255)]++
		counts[b]++
	}
	// Median of each populated bin; sparse bins borrow from their neighbours below.
	const minCount = 16
	var centre, value []float32
	for b := 0; b < toneMapBins; b++ {
		if counts[b] < minCount {
			continue
		}
		half := counts[b] / 2
		var acc int32
		med := 0
		for v, c := range hist[b] {
			acc += c
			if acc > half {
				med = v
				break
			}
		}
		centre = append(centre, (float32(b)+0.5)*256/toneMapBins)
		value = append(value, float32(med))
	}
	var lut [256]float32
	if len(centre) == 0 {
		for i := range lut {
			lut[i] = float32(i)
		}
		return lut
	}
	// Keep the curve non-decreasing: edits that invert tones are not what buyers do, and a
	// dip would let paint redefine a bin.
	for i := 1; i < len(value); i++ {
		value[i] = max(value[i], value[i-1])
	}
	// Beyond the populated bins, continue the curve's slope over its last 32 levels at
	// each end (bounded: few pixels make it), or the identity's when it spans less.
	slope := func(a, b int) float32 {
		if d := centre[b] - centre[a]; d >= 32 {
			return max(0.5, min(2, (value[b]-value[a])/d))
		}
		return 1
	}
	lo, hi := 0, len(centre)-1
	for lo < len(centre)-1 && centre[lo]-centre[0] < 32 {
		lo++
	}
	for hi > 0 && centre[len(centre)-1]-centre[hi] < 32 {
		hi--
	}
	lowSlope, highSlope := slope(0, lo), slope(hi, len(centre)-1)
	for i := range lut {
		x := float32(i) + 0.5
		j, _ := slices.BinarySearch(centre, x)
		switch {
		case j == 0:
			lut[i] = value[0] + lowSlope*(x-centre[0])
		case j == len(centre):
			lut[i] = value[len(value)-1] + highSlope*(x-centre[len(centre)-1])
		default:
			t := (x - centre[j-1]) / (centre[j] - centre[j-1])
			lut[i] = value[j-1] + t*(value[j]-value[j-1])
		}
	}
	return lut
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

// applyCurve maps p through lut (with linear interpolation) into dst.
func applyCurve(p []float32, lut *[256]float32, dst []float32) {
	for i, v := range p {
		v = max(0, min(254.999, v))
		k := int(v)
		f := v - float32(k)
		hi := k + 1
		if hi > 255 {
			hi = 255
		}
		dst[i] = lut[k] + f*(lut[hi]-lut[k])
	}
}

// minMaxR returns the (2r+1)² minimum and maximum of p (edges replicated), separably: a
// horizontal pass per row into a ring of the 2r+1 rows a vertical pass reads, then the
// vertical pass over whole rows.
func minMaxR(p plane, r int, lo, hi []float32) {
	w, h := p.w, p.h
	span := 2*r + 1
	ring := make([]float32, 2*span*w)
	tmpLo, tmpHi := ring[:span*w], ring[span*w:]
	horizontal := func(y int) {
		row := p.p[y*w : (y+1)*w]
		tl, th := tmpLo[y%span*w:(y%span+1)*w], tmpHi[y%span*w:(y%span+1)*w]
		if r == 1 && w >= 3 {
			tl[0], th[0] = min(row[0], row[1]), max(row[0], row[1])
			for x := 1; x < w-1; x++ {
				a, b, c := row[x-1], row[x], row[x+1]
				tl[x], th[x] = min(a, b, c), max(a, b, c)
			}
			tl[w-1], th[w-1] = min(row[w-2], row[w-1]), max(row[w-2], row[w-1])
			return
		}
		for x := range row {
			a := row[max(x-r, 0):min(x+r+1, w)]
			l, u := a[0], a[0]
			for _, v := range a[1:] {
				l, u = min(l, v), max(u, v)
			}
			tl[x], th[x] = l, u
		}
	}
	next := 0 // the first row not yet through the horizontal pass
	for y := 0; y < h; y++ {
		// Rows y-r..y+r are in the ring: row k sits in slot k mod span until row k+span,
		// which only rows past y+r need.
		for ; next <= min(y+r, h-1); next++ {
			horizontal(next)
		}
		l, u := lo[y*w:(y+1)*w], hi[y*w:(y+1)*w]
		copy(l, tmpLo[y%span*w:(y%span+1)*w])
		copy(u, tmpHi[y%span*w:(y%span+1)*w])
		for k := max(y-r, 0); k <= min(y+r, h-1); k++ {
			if k == y {
				continue
			}
			sl, su := tmpLo[k%span*w:(k%span+1)*w], tmpHi[k%span*w:(k%span+1)*w]
			for x := range l {
				l[x] = min(l[x], sl[x])
				u[x] = max(u[x], su[x])
			}
		}
	}
}

// activityEdges bound the bins of local activity (the 3×3 range of the mapped reference,
// grey levels) over which noise is measured separately: JPEG and resampling errors grow
// with local contrast, so textured areas need a higher bar than smooth ones.
var activityEdges = [...]float32{1, 2, 3, 4, 6, 8, 11, 15, 20, 27, 36, 48, 64, 90, 128}

const activityBins = len(activityEdges) + 1

// activityBinOf maps an integer activity (0..255) to its bin.
var activityBinOf = func() (t [256]uint8) {
	for a := range t {
		b := len(activityEdges)
		for i, e := range activityEdges {
			if float32(a) < e {
				b = i
				break
			}
		}
		t[a] = uint8(b)
	}
	return t
}()

func activityBin(a float32) uint8 { return activityBinOf[max(0, min(255, int(a)))] }

// noiseByActivity returns, per activity bin, 1.4826 × the median |resid| of the valid
// pixels in it: the noise σ there, made non-decreasing with activity; bins with too few
// pixels take the previous bin's value. bins holds each pixel's bin. all is the same
// statistic over every valid pixel.
func noiseByActivity(resid []float32, bins []uint8, valid []bool) (sigma [activityBins]float64, all float64) {
	var hist [activityBins + 1][257]int32 // the last row sums the others
	var counts [activityBins + 1]int32
	for i, r := range resid {
		if !valid[i] {
			continue
		}
		b := bins[i]
		hist[b][min(int(abs32(r)*4), 256)]++
		counts[b]++
	}
	median := func(h *[257]int32, n int32) float64 {
		var acc int32
		for k, c := range h {
			acc += c
			if acc > n/2 {
				return 1.4826 * (float64(k) + 0.5) / 4
			}
		}
		return 1.4826 * 64
	}
	prev := 0.0
	for b := 0; b < activityBins; b++ {
		s := prev
		if counts[b] >= 64 {
			s = median(&hist[b], counts[b])
		}
		s = math.Max(s, prev)
		sigma[b], prev = s, s
		for k, c := range hist[b] {
			hist[activityBins][k] += c
		}
		counts[activityBins] += counts[b]
	}
	if counts[activityBins] > 0 {
		all = median(&hist[activityBins], counts[activityBins])
	}
	return sigma, all
}

// rgbFitRounds is how many times fitRGBModel re-fits the matrix after the curves, and
// rgbRidge the weight of its ridge toward the previous matrix, as a fraction of the
// normal equations' mean diagonal.
const (
	rgbFitRounds = 3
	rgbRidge     = 0.01
)

// rgbModel maps reference colours to evidence colours as editors change them: a 3×3 colour
// matrix (saturation, channel mixing, white balance) followed by a tone curve per RGB
// channel (brightness, contrast, gamma, levels, and the clipping at 0 and 255 that makes
// the change depend on colour). It is fitted on the aligned pair, robustly, by alternating
// curves (binned medians) and matrix (least squares on the curves' inverse, Huber-weighted).
type rgbModel struct {
	m      [3][3]float32
	curves [3][256]float32
}

// ycc2rgb and rgb2ycc convert between Raster's BT.601 full-range YCbCr and RGB (unclamped).
func ycc2rgb(y, cb, cr float32) (r, g, b float32) {
	cb -= 128
	cr -= 128
	return y + 1.402*cr, y - 0.344136*cb - 0.714136*cr, y + 1.772*cb
}

func rgb2ycc(r, g, b float32) (y, cb, cr float32) {
	y = 0.299*r + 0.587*g + 0.114*b
	return y, 128 - 0.168736*r - 0.331264*g + 0.5*b, 128 + 0.5*r - 0.418688*g - 0.081312*b
}

// fitRGBModel fits the model on every other valid pixel (alternate columns); ref and ev
// are Y, Cb, Cr planes. (On the detection sweep this flags as few clean copies as all
// pixels, 1.9%, where every other row and column flagged 2.6%: rare colours need their
// samples.)
func fitRGBModel(ref, ev [3][]float32, valid []bool) rgbModel {
	// Sample once into RGB.
	var rr, er [3][]float32
	for k := range rr {
		rr[k] = make([]float32, 0, len(ref[0])/2+1)
		er[k] = make([]float32, 0, len(ref[0])/2+1)
	}
	for i := range ref[0] {
		if !valid[i] || i%2 == 1 {
			continue
		}
		a, b, c := ycc2rgb(ref[0][i], ref[1][i], ref[2][i])
		rr[0], rr[1], rr[2] = append(rr[0], a), append(rr[1], b), append(rr[2], c)
		a, b, c = ycc2rgb(ev[0][i], ev[1][i], ev[2][i])
		er[0], er[1], er[2] = append(er[0], a), append(er[1], b), append(er[2], c)
	}
	md := rgbModel{m: [3][3]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}
	n := len(rr[0])
	if n < 64 {
		for k := range md.curves {
			for v := range md.curves[k] {
				md.curves[k][v] = float32(v)
			}
		}
		return md
	}
	all := make([]bool, n)
	for i := range all {
		all[i] = true
	}
	x := make([]float32, n)
	for iter := 0; iter <= rgbFitRounds; iter++ {
		// Curves for the current matrix.
		for k := 0; k < 3; k++ {
			for i := 0; i < n; i++ {
				x[i] = md.m[k][0]*rr[0][i] + md.m[k][1]*rr[1][i] + md.m[k][2]*rr[2][i]
			}
			md.curves[k] = toneCurve(x, er[k], all)
		}
		if iter == rgbFitRounds {
			break
		}
		// Matrix rows from the curves' inverse, leaving out clipped evidence values (the
		// curve is flat there and says nothing about the matrix).
		for k := 0; k < 3; k++ {
			inv, lo, hi := invertCurve(&md.curves[k])
			for i, e := range er[k] {
				x[i] = -1 // excluded
				if e > lo && e < hi {
					x[i] = sampleLUT(&inv, e)
				}
			}
			// Two passes: plain least squares, then Huber-weighted against its result.
			row := md.m[k]
			for pass := 0; pass < 2; pass++ {
				A, B := normalEquations(rr, x, row, pass == 1)
				// A little ridge toward the current row keeps the system solvable when the
				// picture's channels move together (grey, sepia): the matrix is then
				// unidentifiable and the curves carry the edit.
				ridge := rgbRidge * (A[0][0] + A[1][1] + A[2][2]) / 3
				for a := 0; a < 3; a++ {
					A[a][a] += ridge
					B[a] += ridge * float64(row[a])
				}
				sol, ok := solve3(A, B)
				if !ok {
					break
				}
				row = [3]float32{float32(sol[0]), float32(sol[1]), float32(sol[2])}
			}
			md.m[k] = row
		}
	}
	return md
}

// normalEquations accumulates AᵀA and Aᵀt for fitting t ≈ row·(r, g, b) over the samples
// with t ≥ 0 (negative t marks a left-out sample), with Huber weights against row when
// huber is set. Sums run in float32 over chunks of 1024 samples, then in float64.
func normalEquations(p [3][]float32, t []float32, row [3]float32, huber bool) (A [3][3]float64, B [3]float64) {
	const chunk = 1024
	for c0 := 0; c0 < len(t); c0 += chunk {
		c1 := min(c0+chunk, len(t))
		var s00, s01, s02, s11, s12, s22, b0, b1, b2 float32
		r, g, bl, tt := p[0][c0:c1], p[1][c0:c1], p[2][c0:c1], t[c0:c1]
		for i, tv := range tt {
			if tv < 0 {
				continue
			}
			x0, x1, x2 := r[i], g[i], bl[i]
			w := float32(1)
			if huber {
				if a := abs32(tv - (row[0]*x0 + row[1]*x1 + row[2]*x2)); a > 6 {
					w = 6 / a
				}
			}
			wx0, wx1, wx2 := w*x0, w*x1, w*x2
			s00 += wx0 * x0
			s01 += wx0 * x1
			s02 += wx0 * x2
			s11 += wx1 * x1
			s12 += wx1 * x2
			s22 += wx2 * x2
			b0 += wx0 * tv
			b1 += wx1 * tv
			b2 += wx2 * tv
		}
		A[0][0] += float64(s00)
		A[0][1] += float64(s01)
		A[0][2] += float64(s02)
		A[1][1] += float64(s11)
		A[1][2] += float64(s12)
		A[2][2] += float64(s22)
		B[0] += float64(b0)
		B[1] += float64(b1)
		B[2] += float64(b2)
	}
	A[1][0], A[2][0], A[2][1] = A[0][1], A[0][2], A[1][2]
	return A, B
}

// invertCurve returns the inverse of a non-decreasing curve over 0..255 and the range of
// output values inside which it is invertible (outside, the curve is clipped flat).
func invertCurve(c *[256]float32) (inv [256]float32, lo, hi float32) {
	lo, hi = c[0]+1, c[255]-1
	j := 0
	for v := 0; v < 256; v++ {
		fv := float32(v)
		for j < 254 && c[j+1] < fv {
			j++
		}
		d := c[j+1] - c[j]
		t := float32(0)
		if d > 1e-6 {
			t = max(0, min(1, (fv-c[j])/d))
		}
		inv[v] = float32(j) + t
	}
	return inv, lo, hi
}

// sampleLUT reads a 256-entry table at v with linear interpolation, clamped.
func sampleLUT(lut *[256]float32, v float32) float32 {
	v = max(0, min(254.999, v))
	k := int(v)
	return lut[k] + (v-float32(k))*(lut[k+1]-lut[k])
}

// apply maps reference Y, Cb, Cr planes into dst (Y, Cb, Cr).
func (md *rgbModel) apply(ref, dst [3][]float32) {
	for i := range ref[0] {
		r, g, b := ycc2rgb(ref[0][i], ref[1][i], ref[2][i])
		var o [3]float32
		for k := 0; k < 3; k++ {
			o[k] = sampleLUT(&md.curves[k], md.m[k][0]*r+md.m[k][1]*g+md.m[k][2]*b)
		}
		dst[0][i], dst[1][i], dst[2][i] = rgb2ycc(o[0], o[1], o[2])
	}
}

// applyLuma maps reference luma on a full grid (w pixels per row) into dst, taking each
// pixel's chroma from the half-resolution planes cb, cr (hw pixels per row). RGB is
// linear in luma for fixed chroma, so the matrix's output is s·Y plus a chroma term that
// is computed once per half-grid pixel.
func (md *rgbModel) applyLuma(y, cb, cr []float32, w, hw int, dst []float32) {
	var sum [3]float32 // each matrix row applied to RGB (1, 1, 1)
	for k := range sum {
		sum[k] = md.m[k][0] + md.m[k][1] + md.m[k][2]
	}
	h := len(y) / w
	term := make([]float32, 3*hw)
	for hy := 0; 2*hy < h; hy++ {
		crow, rrow := cb[hy*hw:(hy+1)*hw], cr[hy*hw:(hy+1)*hw]
		for hx := range crow {
			r, g, b := ycc2rgb(0, crow[hx], rrow[hx])
			for k := 0; k < 3; k++ {
				term[3*hx+k] = md.m[k][0]*r + md.m[k][1]*g + md.m[k][2]*b
			}
		}
		for yy := 2 * hy; yy < min(2*hy+2, h); yy++ {
			src, out := y[yy*w:(yy+1)*w], dst[yy*w:(yy+1)*w]
			for x, v := range src {
				t := term[3*(x/2) : 3*(x/2)+3]
				o0 := sampleLUT(&md.curves[0], sum[0]*v+t[0])
				o1 := sampleLUT(&md.curves[1], sum[1]*v+t[1])
				o2 := sampleLUT(&md.curves[2], sum[2]*v+t[2])
				out[x] = 0.299*o0 + 0.587*o1 + 0.114*o2
			}
		}
	}
}

// solve3 solves a 3×3 system by Cramer's rule.
func solve3(A [3][3]float64, b [3]float64) ([3]float64, bool) {
	det := A[0][0]*(A[1][1]*A[2][2]-A[1][2]*A[2][1]) - A[0][1]*(A[1][0]*A[2][2]-A[1][2]*A[2][0]) + A[0][2]*(A[1][0]*A[2][1]-A[1][1]*A[2][0])
	if math.Abs(det) < 1e-9 {
		return b, false
	}
	var x [3]float64
	for c := 0; c < 3; c++ {
		M := A
		for r := 0; r < 3; r++ {
			M[r][c] = b[r]
		}
		x[c] = (M[0][0]*(M[1][1]*M[2][2]-M[1][2]*M[2][1]) - M[0][1]*(M[1][0]*M[2][2]-M[1][2]*M[2][0]) + M[0][2]*(M[1][0]*M[2][1]-M[1][1]*M[2][0])) / det
	}
	return x, true
}
