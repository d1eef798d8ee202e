package forensics

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// PDQ, Meta's 256-bit perceptual hash, written from the published algorithm
// (facebook/ThreatExchange pdq/hashing.pdf and the C++ reference): float luma, a two-pass
// Jarosz (tent) filter sized for 64 output cells, decimation to 64×64, a DCT keeping the
// 16×16 lowest frequencies without the DC row and column, and one bit per coefficient above
// the median. Arithmetic is float32 like the reference so hashes agree to a few bits.

const (
	// PDQMatchDistance is Meta's recommended threshold: hashes at most this far apart are
	// the same picture.
	PDQMatchDistance = 31
	// PDQMinQuality: hashes of pictures with a quality at or below 49 (flat, blank, tiny)
	// should not be trusted for matching.
	PDQMinQuality = 50
	// pdqInputSide is the long side PDQ's input is reduced to first, as the reference does
	// before its Jarosz filter (which costs too much on full-resolution pictures).
	pdqInputSide   = 512
	pdqMinDim      = 5 // smaller pictures get an all-zero hash with quality 0
	pdqJaroszPases = 2
)

// PDQHash is a 256-bit PDQ hash in the byte order of its hex form, which is Meta's
// (64 hex digits, the 16th row of coefficients first).
type PDQHash [32]byte

// String is the hash in Meta's 64-digit hex form.
func (h PDQHash) String() string { return hex.EncodeToString(h[:]) }

// ParsePDQHash reads a 64-digit hex PDQ hash.
func ParsePDQHash(s string) (PDQHash, error) {
	var h PDQHash
	if len(s) != 64 {
		return h, fmt.Errorf("pdq hash: want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("pdq hash: %w", err)
	}
	return h, nil
}

// Distance is the Hamming distance between two hashes (0-256).
func (h PDQHash) Distance(o PDQHash) int {
	d := 0
	for i := 0; i < 32; i += 8 {
		d += bits.OnesCount64(binary.BigEndian.Uint64(h[i:]) ^ binary.BigEndian.Uint64(o[i:]))
	}
	return d
}

// setBit sets bit k = 16·row + column of the 16×16 coefficient block. Meta stores the hash
// as sixteen 16-bit words, word row at bit column, and prints word 15 first.
func (h *PDQHash) setBit(k int) {
	word, bit := k/16, k%16
	i := 2 * (15 - word)
	if bit >= 8 {
		h[i] |= 1 << (bit - 8)
	} else {
		h[i+1] |= 1 << bit
	}
}

// PDQ is a picture's PDQ hash with its quality and the hashes of its seven rotations and
// mirrorings, all from one DCT.
type PDQ struct {
	Hash    PDQHash
	Quality int // 0-100: how much gradient the picture has; distrust hashes below PDQMinQuality
	// Dihedral[t-1] is the hash the picture would have after Transform t (Dihedral[0] is
	// Hash). If a picture Q is a picture P transformed by t, Q's Hash is close to P's
	// Dihedral[t-1]; see NearestDihedral.
	Dihedral [8]PDQHash
}

// Variant is the hash of the picture transformed by t.
func (p *PDQ) Variant(t Transform) PDQHash { return p.Dihedral[transformOf(int(t))-1] }

// NearestDihedral compares q with every variant of a reference picture and returns the
// smallest distance and the transform that turns the reference into q.
func NearestDihedral(variants [8]PDQHash, q PDQHash) (int, Transform) {
	best, bt := 257, Identity
	for i, v := range variants {
		if d := v.Distance(q); d < best {
			best, bt = d, Transform(i+1)
		}
	}
	return best, bt
}

// PDQFromLuma hashes a w×h luma picture (row-major, 0..255). luma is used as scratch space
// and overwritten. Pictures with a side under 5 pixels get a zero hash and quality 0.
func PDQFromLuma(luma []float32, w, h int) PDQ {
	var p PDQ
	if w < pdqMinDim || h < pdqMinDim || len(luma) < w*h {
		return p
	}
	var a [64][64]float32
	if w == 64 && h == 64 {
		for i := range a {
			copy(a[i][:], luma[i*64:])
		}
	} else {
		jaroszFilter(luma[:w*h], w, h, jaroszWindow(w), jaroszWindow(h))
		for i := range 64 {
			ii := int((float64(i) + 0.5) * float64(h) / 64)
			for j := range 64 {
				jj := int((float64(j) + 0.5) * float64(w) / 64)
				a[i][j] = luma[ii*w+jj]
			}
		}
	}
	p.Quality = pdqQuality(&a)
	b := pdqDCT(&a)
	for _, t := range AllTransforms {
		v := dihedralDCT(&b, t)
		p.Dihedral[t-1] = pdqBits(&v)
	}
	p.Hash = p.Dihedral[0]
	return p
}

// jaroszWindow is the box width per pass for 64 output cells: two passes of half a cell
// each add up to a tent one cell wide.
func jaroszWindow(n int) int { return (n + 2*64 - 1) / (2 * 64) }

// jaroszFilter runs the two-pass separable box filter in place.
func jaroszFilter(buf []float32, w, h, winX, winY int) {
	tmp := make([]float32, len(buf))
	colSum := make([]float32, w)
	for range pdqJaroszPases {
		for y := range h {
			box1D(buf[y*w:], tmp[y*w:], w, 1, winX)
		}
		boxColumns(tmp, buf, w, h, winY, colSum)
	}
}

// boxColumns is box1D down every column at once, row by row, so memory is read in order;
// each column sees the same float32 operations in the same order as box1D would give it.
func boxColumns(in, out []float32, w, h, window int, sum []float32) {
	clear(sum)
	half := (window + 2) / 2
	row := func(i int) []float32 { return in[i*w : i*w+w] }
	li, ri, oi, cur := 0, 0, 0, 0
	write := func() {
		o, n := out[oi*w:oi*w+w], float32(cur)
		for x, s := range sum {
			o[x] = s / n
		}
		oi++
	}
	for range half - 1 {
		for x, v := range row(ri) {
			sum[x] += v
		}
		cur++
		ri++
	}
	for range window - half + 1 {
		for x, v := range row(ri) {
			sum[x] += v
		}
		cur++
		ri++
		write()
	}
	for range h - window {
		add, sub := row(ri), row(li)
		for x := range sum {
			sum[x] += add[x]
			sum[x] -= sub[x]
		}
		ri++
		li++
		write()
	}
	for range half - 1 {
		for x, v := range row(li) {
			sum[x] -= v
		}
		cur--
		li++
		write()
	}
}

// box1D is a running mean over a window centred on each sample, shrinking at the ends,
// accumulated in float32 as the reference does.
func box1D(in, out []float32, n, stride, window int) {
	half := (window + 2) / 2
	phase1 := half - 1
	phase2 := window - half + 1
	phase3 := n - window
	phase4 := half - 1
	li, ri, oi := 0, 0, 0
	var sum float32
	cur := 0
	for range phase1 {
		sum += in[ri]
		cur++
		ri += stride
	}
	for range phase2 {
		sum += in[ri]
		cur++
		out[oi] = sum / float32(cur)
		ri += stride
		oi += stride
	}
	for range phase3 {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / float32(cur)
		li += stride
		ri += stride
		oi += stride
	}
	for range phase4 {
		sum -= in[li]
		cur--
		out[oi] = sum / float32(cur)
		li += stride
		oi += stride
	}
}

// pdqQuality counts significant luma steps in the 64×64 picture (the reference's heuristic).
func pdqQuality(a *[64][64]float32) int {
	sum := 0
	for i := range 63 {
		for j := range 64 {
			sum += absInt(int((a[i][j] - a[i+1][j]) * 100 / 255))
		}
	}
	for i := range 64 {
		for j := range 63 {
			sum += absInt(int((a[i][j] - a[i][j+1]) * 100 / 255))
		}
	}
	return min(sum/90, 100)
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// pdqDCTMatrix holds rows 1..16 of the 64-point DCT-II: sqrt(2/64)·cos(π/128·(i+1)·(2j+1)).
var pdqDCTMatrix = func() (m [16][64]float32) {
	scale := math.Sqrt(2.0 / 64)
	for i := range 16 {
		for j := range 64 {
			m[i][j] = float32(scale * math.Cos(math.Pi/2/64*float64(i+1)*float64(2*j+1)))
		}
	}
	return m
}()

// pdqDCT computes B = D·A·Dᵀ for the 16×16 lowest non-DC frequencies.
func pdqDCT(a *[64][64]float32) (b [16][16]float32) {
	d := &pdqDCTMatrix
	var t [16][64]float32
	for i := range 16 {
		for j := range 64 {
			var s float32
			for k := range 64 {
				s += d[i][k] * a[k][j]
			}
			t[i][j] = s
		}
	}
	for i := range 16 {
		for j := range 16 {
			var s float32
			for k := range 64 {
				s += t[i][k] * d[j][k]
			}
			b[i][j] = s
		}
	}
	return b
}

// dihedralDCT gives the coefficients of the picture transformed by t from the original's.
// Mirroring a 64-point axis multiplies frequency k (1-based) by (-1)^k; swapping axes
// transposes the block. Coefficient (i, j) is row frequency i+1, column frequency j+1.
func dihedralDCT(b *[16][16]float32, t Transform) (v [16][16]float32) {
	for i := range 16 {
		for j := range 16 {
			var c float32
			var flipRow, flipCol bool // which frequency index changes sign
			switch t {
			case Identity:
				c = b[i][j]
			case MirrorH: // columns reversed
				c, flipCol = b[i][j], true
			case MirrorV: // rows reversed
				c, flipRow = b[i][j], true
			case Rotate180:
				c, flipRow, flipCol = b[i][j], true, true
			case Transpose:
				c = b[j][i]
			case Rotate90: // new pixel (x, y) is old (y, 63-x)
				c, flipCol = b[j][i], true
			case Rotate270: // new pixel (x, y) is old (63-y, x)
				c, flipRow = b[j][i], true
			case Transverse: // new pixel (x, y) is old (63-y, 63-x)
				c, flipRow, flipCol = b[j][i], true, true
			}
			if flipRow && i%2 == 0 { // odd 1-based frequency
				c = -c
			}
			if flipCol && j%2 == 0 {
				c = -c
			}
			v[i][j] = c
		}
	}
	return v
}

// pdqBits sets one bit per coefficient above the median (the 128th smallest of 256, as
// the reference's Torben selection returns).
func pdqBits(b *[16][16]float32) PDQHash {
	flat := make([]float32, 0, 256)
	for i := range 16 {
		flat = append(flat, b[i][:]...)
	}
	sorted := slices.Clone(flat)
	slices.Sort(sorted)
	median := sorted[127]
	var h PDQHash
	for k, c := range flat {
		if c > median {
			h.setBit(k)
		}
	}
	return h
}
