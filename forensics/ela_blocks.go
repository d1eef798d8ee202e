package forensics

import (
	"context"
	"math"
)

// Block levels: the luma of a decoded JPEG cut into its 8×8 blocks (on the file's own grid:
// stored pixels, before any EXIF orientation), each transformed and divided by the file's
// luminance quantisation table. The quotients are (nearly) whole numbers — the levels the
// encoder wrote — and what the file was before its last save shows in which levels occur.

const (
	// elaMaxLevel caps the levels kept; larger ones (strong edges saved at a very fine
	// quality) are rare and add nothing the smaller ones do not say.
	elaMaxLevel = 255
	// elaMinMagnitude: coefficients smaller than this (in coefficient units) are not kept.
	// An earlier save zeroed them or not; the decode between the saves adds noise of about
	// this size, so after a fine last save (steps of 1-2) their levels say nothing either
	// way — and under a coarse candidate they would all read as its zero, at any texture.
	elaMinMagnitude = 2.5
	// elaMaxBlocks: larger pictures are judged on a regular sample of their blocks (every
	// 2nd block across and down for 12 MP). A pasted region big enough to matter in such a
	// photo still holds hundreds of sampled blocks, and the DCT and the candidates' sums
	// then cost in proportion to the sample, not the photo.
	elaMaxBlocks = 60000
	// elaToneBins: blocks are grouped by mean luma (8 ranges) and colourfulness (4) so a
	// region can be compared with blocks of its own tone. A tone curve applied to a decoded
	// JPEG keeps the earlier save's traces in some brightness ranges and not in others, and
	// in grey blocks more than in vivid ones (per-channel curves mix chroma, saved coarser,
	// into luma); clipping removes them near black, white and saturated colours.
	elaToneBins = 32
	// elaMinTableFit: share of coefficients that must sit on the chosen table's lattice.
	elaMinTableFit = 0.7
)

// elaBlocks are the kept levels of the sampled full 8×8 luma blocks.
type elaBlocks struct {
	bw, bh int     // blocks across and down (partial edge blocks are left out)
	step   int     // only blocks with bx%step == 0 && by%step == 0 are read
	start  []int32 // block i's entries are ent[start[i]:start[i+1]]
	// ent holds zig-zag index << 8 | |level| for the levels of usable blocks with
	// 1 ≤ index < elaMaxK and elaMinMagnitude ≤ |coefficient|, level ≤ elaMaxLevel.
	ent   []uint16
	state []uint8 // blockSkipped, blockRead or blockClipped
	// tone is the tone bin of each read block (see elaToneBins).
	tone  []uint8
	table [64]uint16
	// maxLevel is the largest level kept.
	maxLevel int
	// hist[k][m] counts level m of zig-zag coefficient k over read blocks not clipped.
	hist [elaMaxK][elaMaxLevel + 1]int32
}

// Block states.
const (
	blockSkipped = iota // not in the sample, or a partial edge block
	blockRead
	// blockClipped blocks come close to black or white in luma, R, G or B. Clipping in an
	// earlier decode, or in the RGB conversion every editor makes, moved their coefficients
	// off any lattice: they can hide an earlier save but never fake one, so they are judged
	// for regions that carry an earlier save and left out for regions that lack one.
	blockClipped
)

func elaEntry(k, m int) uint16          { return uint16(k)<<8 | uint16(m) }
func elaEntryParts(e uint16) (int, int) { return int(e >> 8), int(e & 0xFF) }

// lumaPlanes is a decoded JPEG's luma and, when it has colour, its chroma planes: enough to
// cut luma blocks and to tell which blocks hold colours that an editor's RGB conversion
// would have clipped.
type lumaPlanes struct {
	y       []byte
	ystride int
	cb, cr  []byte // nil for greyscale
	cstride int
	sx, sy  uint // chroma subsampling shifts (1 for halved)
	// A pixel whose luma, R, G or B (channels 0-3) lies outside [lo[c], hi[c]] marks its
	// block clipped.
	lo, hi [4]int16
}

// setClipBounds sets how close to the ends of each channel's range a pixel may come before
// its block counts as clipped. The ends are black and white, and also the picture's own
// extremes (0.05% and 99.95% of the sampled pixels): a global tone change applied after a
// decode that clipped moves the clipped pixels from 255 to wherever the curve sends 255.
// The margin is what the last save's error can have moved a clipped pixel by: more for
// coarser saves, and more for R, G and B, which chroma subsampling smears across edges
// between vivid colours.
func (p *lumaPlanes) setClipBounds(quality, bw, bh, step int) {
	if quality <= 0 {
		quality = 50
	}
	my := int16(4 + (100-min(quality, 100))/5)
	mc := my + 4
	var hist [4][256]int
	var b [64]float32
	p.lo, p.hi = [4]int16{}, [4]int16{255, 255, 255, 255}
	for by := 0; by < bh; by += step {
		for bx := 0; bx < bw; bx += step {
			p.visit(&b, bx, by, func(ch int, v int16) {
				if ch < 4 {
					hist[ch][min(max(v, 0), 255)]++
				}
			})
		}
	}
	for ch := range 4 {
		m := mc
		if ch == 0 {
			m = my
		}
		total := 0
		for _, c := range hist[ch] {
			total += c
		}
		if total == 0 {
			continue
		}
		tail := max(total/2000, 1)
		low, high := 0, 255
		for acc := 0; low < 255; low++ {
			if acc += hist[ch][low]; acc >= tail {
				break
			}
		}
		for acc := 0; high > 0; high-- {
			if acc += hist[ch][high]; acc >= tail {
				break
			}
		}
		p.lo[ch], p.hi[ch] = int16(low)+m, int16(high)-m
	}
}

// Offsets of R, G and B from luma per chroma value (BT.601 full range, as JFIF).
var rFromCr, gFromCb, gFromCr, bFromCb = func() (r, gb, gr, b [256]int16) {
	for i := range 256 {
		c := float64(i) - 128
		r[i] = int16(math.Round(1.402 * c))
		gb[i] = int16(math.Round(-0.344136 * c))
		gr[i] = int16(math.Round(-0.714136 * c))
		b[i] = int16(math.Round(1.772 * c))
	}
	return
}()

// toneBin is the tone bin of a block of mean luma y and mean |Cb−128| + |Cr−128| colour.
func toneBin(y float32, colour int) uint8 {
	bright := min(max(int(y), 0), 255) * (elaToneBins / 4) / 256
	c := 3
	switch {
	case colour < 6:
		c = 0
	case colour < 16:
		c = 1
	case colour < 32:
		c = 2
	}
	return uint8(bright*4 + c)
}

// visit copies the 8×8 luma block at (bx, by) into dst, level-shifted by −128 as an
// encoder does, and calls f with every pixel's luma (channel 0) and, in colour pictures,
// R, G and B (1-3).
func (p *lumaPlanes) visit(dst *[64]float32, bx, by int, f func(ch int, v int16)) {
	for r := range 8 {
		y := by*8 + r
		row := p.y[y*p.ystride+bx*8:][:8]
		var crow, rrow []byte
		if p.cb != nil {
			off := (y>>p.sy)*p.cstride + (bx*8)>>p.sx
			crow, rrow = p.cb[off:], p.cr[off:]
		}
		for c, v := range row {
			dst[r*8+c] = float32(v) - 128
			l := int16(v)
			f(0, l)
			if crow == nil {
				continue
			}
			cb, cr := crow[c>>p.sx], rrow[c>>p.sx]
			f(1, l+rFromCr[cr])
			f(2, l+gFromCb[cb]+gFromCr[cr])
			f(3, l+bFromCb[cb])
			f(4, int16(absDiff128(cb)+absDiff128(cr)))
		}
	}
}

// loadBlock copies the block at (bx, by) (see visit) and reports whether it may have been
// clipped (see blockClipped and setClipBounds) and its colourfulness, the mean
// |Cb−128| + |Cr−128| (0 for greyscale).
func (p *lumaPlanes) loadBlock(dst *[64]float32, bx, by int) (clipped bool, colour int) {
	p.visit(dst, bx, by, func(ch int, v int16) {
		if ch == 4 {
			colour += int(v)
		} else if v < p.lo[ch] || v > p.hi[ch] {
			clipped = true
		}
	})
	return clipped, colour / 64
}

func absDiff128(v byte) int {
	if v < 128 {
		return 128 - int(v)
	}
	return int(v) - 128
}

// lumaTableFit is the share of sampled coefficients (steps ≥ 3, not rounded to zero)
// whose quotient by the table's step lies within 0.2 of a whole number: about 0.9 for the
// table the file was saved with, 0.4 for an unrelated one. NaN when fewer than 50 such
// coefficients exist (fine tables, or a blank picture).
func lumaTableFit(p *lumaPlanes, bw, bh int, table *[64]uint16) float64 {
	fit, n := 0, 0
	var b [64]float32
	step := max(1, bw*bh/2000) // a few thousand blocks say it
	for i := 0; i < bw*bh; i += step {
		p.loadBlock(&b, i%bw, i/bw)
		fdct8x8(&b)
		for k := 1; k < 64; k++ {
			t := float64(table[k])
			if t < 3 {
				continue
			}
			x := math.Abs(float64(b[zigzagToNatural[k]]) / t)
			if x < 0.5 {
				continue // zeros fit every table
			}
			if math.Abs(x-math.Round(x)) < 0.2 {
				fit++
			}
			n++
		}
	}
	if n < 50 {
		return math.NaN()
	}
	return float64(fit) / float64(n)
}

// blockStep is the sampling step that keeps at most about elaMaxBlocks blocks.
func blockStep(bw, bh int) int {
	return max(1, int(math.Ceil(math.Sqrt(float64(bw*bh)/elaMaxBlocks))))
}

// blockLevels transforms the sampled full blocks of the luma plane and keeps their
// levels under table (zig-zag order).
func blockLevels(ctx context.Context, p *lumaPlanes, w, h int, table *[64]uint16) (*elaBlocks, error) {
	eb := &elaBlocks{bw: w / 8, bh: h / 8, table: *table}
	nb := eb.bw * eb.bh
	eb.step = blockStep(eb.bw, eb.bh)
	eb.start = make([]int32, nb+1)
	eb.state = make([]uint8, nb)
	eb.tone = make([]uint8, nb)
	eb.ent = make([]uint16, 0, nb/(eb.step*eb.step)*12)
	var inv [elaMaxK]float32
	var minLevel [elaMaxK]int
	for k := 1; k < elaMaxK; k++ {
		t := max(table[k], 1)
		inv[k] = 1 / float32(t)
		minLevel[k] = int(math.Ceil(elaMinMagnitude / float64(t)))
	}
	var b [64]float32
	for by := range eb.bh {
		if by%64 == 0 && ctx.Err() != nil {
			return nil, canceledError(ctx.Err())
		}
		for bx := range eb.bw {
			i := by*eb.bw + bx
			eb.start[i] = int32(len(eb.ent))
			if bx%eb.step != 0 || by%eb.step != 0 {
				continue
			}
			clipped, colour := p.loadBlock(&b, bx, by)
			eb.state[i] = blockRead
			if clipped {
				eb.state[i] = blockClipped
			}
			fdct8x8(&b)
			// The DC term is 8 × (mean − 128).
			eb.tone[i] = toneBin(b[0]/8+128, colour)
			for k := 1; k < elaMaxK; k++ {
				x := b[zigzagToNatural[k]] * inv[k]
				if x < 0 {
					x = -x
				}
				m := int(x + 0.5)
				if m < minLevel[k] || m > elaMaxLevel {
					continue
				}
				eb.ent = append(eb.ent, elaEntry(k, m))
				eb.maxLevel = max(eb.maxLevel, m)
				if !clipped {
					eb.hist[k][m]++
				}
			}
		}
	}
	eb.start[nb] = int32(len(eb.ent))
	return eb, nil
}
