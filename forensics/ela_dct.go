package forensics

import "math"

// The 8×8 forward DCT of JPEG (ITU-T T.81 A.3.3), orthonormal: a block's coefficients are
// what an encoder divides by the quantisation table, so a decoded JPEG's blocks transform
// back to (nearly) whole multiples of the table the file was saved with.

// zigzagToNatural maps a coefficient's zig-zag index (the order DQT stores tables in) to
// its row-major index in the 8×8 block.
var zigzagToNatural = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// dctOdd[u][i] is the weight of d_i = f(i) − f(7−i) in the odd coefficient 2u+1, scaled
// by ½ (the orthonormal factor of every AC row).
var dctOdd = func() (m [4][4]float32) {
	for u := range 4 {
		for i := range 4 {
			m[u][i] = float32(0.5 * math.Cos(float64((2*i+1)*(2*u+1))*math.Pi/16))
		}
	}
	return m
}()

var (
	dctC0 = float32(math.Sqrt(1.0 / 8))           // DC row
	dctC4 = float32(0.5 * math.Cos(4*math.Pi/16)) // coefficient 4
	dctC2 = float32(0.5 * math.Cos(2*math.Pi/16)) // coefficients 2 and 6
	dctC6 = float32(0.5 * math.Cos(6*math.Pi/16)) // coefficients 2 and 6
)

// dct8 transforms 8 values at v[0], v[stride], … in place. The even half uses the
// symmetries of the cosines (s_i = f(i) + f(7−i)), the odd half a 4×4 product.
func dct8(v []float32, stride int) {
	f0, f1, f2, f3 := v[0], v[stride], v[2*stride], v[3*stride]
	f4, f5, f6, f7 := v[4*stride], v[5*stride], v[6*stride], v[7*stride]
	s0, s1, s2, s3 := f0+f7, f1+f6, f2+f5, f3+f4
	d0, d1, d2, d3 := f0-f7, f1-f6, f2-f5, f3-f4
	e0, e1 := s0+s3, s1+s2
	g0, g1 := s0-s3, s1-s2
	v[0] = dctC0 * (e0 + e1)
	v[4*stride] = dctC4 * (e0 - e1)
	v[2*stride] = dctC2*g0 + dctC6*g1
	v[6*stride] = dctC6*g0 - dctC2*g1
	for u := range 4 {
		m := &dctOdd[u]
		v[(2*u+1)*stride] = m[0]*d0 + m[1]*d1 + m[2]*d2 + m[3]*d3
	}
}

// fdct8x8 transforms a row-major 8×8 block in place (rows, then columns).
func fdct8x8(b *[64]float32) {
	for r := range 8 {
		dct8(b[r*8:], 1)
	}
	for c := range 8 {
		dct8(b[c:], 8)
	}
}
