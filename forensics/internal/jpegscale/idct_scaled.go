// Reduced inverse DCTs: written for refundguard (not part of image/jpeg).

package jpegscale

import "math"

// A reduced inverse DCT turns an 8×8 block of coefficients straight into its n×n box
// average (n = 4, 2 or 1): output pixel (x, y) is the mean of the full-size block's pixels
// [x·m, x·m+m) × [y·m, y·m+m), m = 8/n, before rounding and clamping. The 2-D IDCT is
// separable, so the box average is too: along one axis, the mean over m neighbouring
// pixels of the basis function C(k)/2·cos((2x+1)kπ/16) is a weight w[i][k] (boxWeights).
// Their structure makes it cheap, as in libjpeg's jidctred.c:
//
//   - w[n-1-i][k] = (-1)^k·w[i][k]: outputs come in pairs from an even part (k even) and
//     an odd part (k odd), e ± o;
//   - for n = 4, w[i][4] = 0 and the even part of output 1 is that of output 0 with X2 and
//     X6 negated; for n = 2, w[i][2] = w[i][4] = w[i][6] = 0;
//   - for n = 1 only the DC term is left: the block's mean is X0/8.
//
// So 4×4 reads 49 of the 64 coefficients, 2×2 reads 25 and 1×1 one; the rest of the
// high-frequency content a box filter would alias in is exactly what those weights give.
// Arithmetic is 64-bit fixed point with scaledBits-bit weights, rounding once at the end
// (half up, like idct); corrupt input may overflow and wrap, never panic.

// scaledBits is the fixed-point precision of the weights: with coefficients up to 2^16
// (16-bit quantisation tables) the two passes stay under 2^60.
const scaledBits = 18

// boxWeights returns w[i][k], i < n, k < 8, scaled by 2^scaledBits: the mean over output
// cell i of the 1-D IDCT basis function of frequency k.
func boxWeights(n int) [][8]int64 {
	m := 8 / n
	w := make([][8]int64, n)
	for i := range w {
		for k := range 8 {
			c := 0.5
			if k == 0 {
				c = 0.5 / math.Sqrt2
			}
			var s float64
			for j := range m {
				x := i*m + j
				s += math.Cos(float64((2*x+1)*k) * math.Pi / 16)
			}
			w[i][k] = int64(math.Round(c * s / float64(m) * (1 << scaledBits)))
		}
	}
	return w
}

// Weights of the two reduced sizes with more than one output per axis. wDC is the DC
// weight, the same for every output of every size: 1/(2√2).
var (
	w4  = boxWeights(4)
	w2  = boxWeights(2)
	wDC = w4[0][0]
)

// idctScaled dequantizes b with the natural-order table q and writes its (8>>shift)²
// box average, level shifted and clamped, to dst (rows stride apart). shift is 1, 2 or 3.
func idctScaled(b *block, q *block, shift uint, dst []byte, stride int) {
	switch shift {
	case 1:
		idct4x4(b, q, dst, stride)
	case 2:
		idct2x2(b, q, dst, stride)
	default:
		dst[0] = clampPixel(int64(b[0])*int64(q[0]), 3)
	}
}

// clampPixel rounds v / 2^frac (half up), level shifts it by 128 and clamps it to a byte.
func clampPixel(v int64, frac uint) byte {
	v = (v+1<<(frac-1))>>frac + 128
	return byte(min(max(v, 0), 255))
}

// idct4x4: columns first (vertical frequencies k to four rows), then each of the four rows.
// Column 4 and row 4 of the coefficients have zero weight.
func idct4x4(b *block, q *block, dst []byte, stride int) {
	var t [4][8]int64 // t[i][u]: output row i, horizontal frequency u; 2^scaledBits
	a01, a02, a06 := w4[0][1], w4[0][2], w4[0][6]
	a03, a05, a07 := w4[0][3], w4[0][5], w4[0][7]
	b01, b03, b05, b07 := w4[1][1], w4[1][3], w4[1][5], w4[1][7]
	for _, u := range [...]int{0, 1, 2, 3, 5, 6, 7} {
		x0 := int64(b[u]) * int64(q[u])
		if b[8+u]|b[16+u]|b[24+u]|b[40+u]|b[48+u]|b[56+u] == 0 {
			v := wDC * x0
			t[0][u], t[1][u], t[2][u], t[3][u] = v, v, v, v
			continue
		}
		x1 := int64(b[8+u]) * int64(q[8+u])
		x2 := int64(b[16+u]) * int64(q[16+u])
		x3 := int64(b[24+u]) * int64(q[24+u])
		x5 := int64(b[40+u]) * int64(q[40+u])
		x6 := int64(b[48+u]) * int64(q[48+u])
		x7 := int64(b[56+u]) * int64(q[56+u])
		e0, e1 := wDC*x0, a02*x2+a06*x6
		o0 := a01*x1 + a03*x3 + a05*x5 + a07*x7
		o1 := b01*x1 + b03*x3 + b05*x5 + b07*x7
		t[0][u], t[3][u] = e0+e1+o0, e0+e1-o0
		t[1][u], t[2][u] = e0-e1+o1, e0-e1-o1
	}
	const frac = 2 * scaledBits
	for i := range 4 {
		r := &t[i]
		out := dst[i*stride : i*stride+4 : i*stride+4]
		e0, e1 := wDC*r[0], a02*r[2]+a06*r[6]
		o0 := a01*r[1] + a03*r[3] + a05*r[5] + a07*r[7]
		o1 := b01*r[1] + b03*r[3] + b05*r[5] + b07*r[7]
		out[0], out[3] = clampPixel(e0+e1+o0, frac), clampPixel(e0+e1-o0, frac)
		out[1], out[2] = clampPixel(e0-e1+o1, frac), clampPixel(e0-e1-o1, frac)
	}
}

// idct2x2: the even part is the DC term alone; the odd part reads frequencies 1, 3, 5, 7.
func idct2x2(b *block, q *block, dst []byte, stride int) {
	var t [2][8]int64
	c1, c3, c5, c7 := w2[0][1], w2[0][3], w2[0][5], w2[0][7]
	for _, u := range [...]int{0, 1, 3, 5, 7} {
		e := wDC * int64(b[u]) * int64(q[u])
		o := c1*int64(b[8+u])*int64(q[8+u]) + c3*int64(b[24+u])*int64(q[24+u]) +
			c5*int64(b[40+u])*int64(q[40+u]) + c7*int64(b[56+u])*int64(q[56+u])
		t[0][u], t[1][u] = e+o, e-o
	}
	const frac = 2 * scaledBits
	for i := range 2 {
		r := &t[i]
		e := wDC * r[0]
		o := c1*r[1] + c3*r[3] + c5*r[5] + c7*r[7]
		out := dst[i*stride : i*stride+2 : i*stride+2]
		out[0], out[1] = clampPixel(e+o, frac), clampPixel(e-o, frac)
	}
}
