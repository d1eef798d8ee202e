package forensics

import "math"

// This file holds the pixel plumbing shared by matching and the local diff: single-channel
// planes, 2× box pyramids, area resampling of an axis-aligned rectangle (the only geometry
// the matcher needs once the dihedral transform is factored out) and dihedral transforms of
// small planes. Coordinates are continuous: pixel i of a plane covers [i, i+1).

// plane is one channel of an image, row-major.
type plane struct {
	w, h int
	p    []float32
}

func newPlane(w, h int) plane { return plane{w: w, h: h, p: make([]float32, w*h)} }

// downsample2 halves a plane with a 2×2 box filter. An odd last row or column is averaged
// with itself (edge replication), so level pixel i always covers level-0 pixels
// [2^k·i, 2^k·(i+1)) and coordinates stay exact between levels.
func downsample2(src plane) plane {
	w, h := (src.w+1)/2, (src.h+1)/2
	dst := newPlane(w, h)
	for y := 0; y < h; y++ {
		halveRows(dst.p[y*w:(y+1)*w], src, y)
	}
	return dst
}

// downsample4 is downsample2(downsample2(src)), value for value, without the intermediate
// plane: the two half-resolution rows each output row needs are made in a scratch pair.
func downsample4(src plane) plane {
	hw, hh := (src.w+1)/2, (src.h+1)/2
	w, h := (hw+1)/2, (hh+1)/2
	dst := newPlane(w, h)
	half := plane{hw, 2, make([]float32, 2*hw)}
	for y := 0; y < h; y++ {
		halveRows(half.p[:hw], src, 2*y)
		half.h = 1
		if 2*y+1 < hh {
			halveRows(half.p[hw:], src, 2*y+1)
			half.h = 2
		}
		halveRows(dst.p[y*w:(y+1)*w], half, 0)
	}
	return dst
}

// halveRows writes row y of downsample2(src) to out.
func halveRows(out []float32, src plane, y int) {
	r0 := src.p[2*y*src.w : 2*y*src.w+src.w]
	r1 := r0
	if 2*y+1 < src.h {
		r1 = src.p[(2*y+1)*src.w : (2*y+1)*src.w+src.w]
	}
	pairs := src.w / 2 // output pixels with two source columns
	for x := 0; x < pairs; x++ {
		a, b := r0[2*x:2*x+2], r1[2*x:2*x+2]
		out[x] = 0.25 * (a[0] + a[1] + b[0] + b[1])
	}
	if pairs < len(out) { // odd width: the last column averaged with itself
		out[len(out)-1] = 0.5 * (r0[src.w-1] + r1[src.w-1])
	}
}

// pyramid is a plane and its successive 2× reductions, down to a few pixels. Level 1 is
// made only when a resample reads it (level 2 comes straight from level 0): matching reads
// it only for close-ups, and it is the largest level after the raster itself.
type pyramid []plane

// minPyramidSide is where a pyramid stops: coarser levels carry no usable structure.
const minPyramidSide = 8

func buildPyramid(base plane) pyramid {
	pyr := pyramid{base}
	for {
		top := pyr[len(pyr)-1]
		if min(top.w, top.h) < 2*minPyramidSide {
			return pyr
		}
		switch len(pyr) {
		case 1: // level 1, left to level() to fill in
			pyr = append(pyr, plane{w: (top.w + 1) / 2, h: (top.h + 1) / 2})
		case 2:
			pyr = append(pyr, downsample4(base))
		default:
			pyr = append(pyr, downsample2(top))
		}
	}
}

// level returns level k, making it first if it was left out. The pyramid's storage is
// shared by its copies, so it is made once per pyramid (which one goroutine uses).
func (pyr pyramid) level(k int) plane {
	if k > 0 && pyr[k].p == nil {
		pyr[k] = downsample2(pyr[k-1])
	}
	return pyr[k]
}

// levelFor returns the coarsest level whose pixels are no larger than step level-0 pixels,
// so that resampling from it averages (never skips) source pixels.
func (pyr pyramid) levelFor(step float64) int {
	k := 0
	for k+1 < len(pyr) && float64(int(1)<<(k+1)) <= step {
		k++
	}
	return k
}

// rect is an axis-aligned rectangle in continuous coordinates.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) w() float64 { return r.x1 - r.x0 }
func (r rect) h() float64 { return r.y1 - r.y0 }

// axisWeights is a resampling matrix for one axis: output i is the weighted sum of the taps
// source samples from start[i], with weights w[i·taps:(i+1)·taps]. Every output has the
// same number of taps (windows at the axis end move left, padded with zero weights), so
// the loops below run without per-output bookkeeping; steps under two source pixels, all
// the pyramid ever asks for (levelFor), need three.
type axisWeights struct {
	taps  int
	start []int
	w     []float32
}

// makeAxisWeights builds the weights that map n output cells spanning [a, b) of a source
// axis of length size into aw, reusing its storage. Steps of at least one source pixel
// average the covered pixels by their overlap (area resampling: no aliasing); smaller steps
// interpolate linearly. Source indices are clamped to the axis (edge replication).
func makeAxisWeights(aw *axisWeights, a, b float64, n, size int) {
	step := (b - a) / float64(n)
	taps := min(size, max(3, int(math.Ceil(step))+1))
	aw.taps = taps
	aw.start = reuse(aw.start, n)
	aw.w = reuse(aw.w, n*taps)
	clear(aw.w)
	var raw, fold [64]float32
	for i := 0; i < n; i++ {
		c0 := a + float64(i)*step
		c1 := c0 + step
		tw := raw[:0]
		var first int
		if step >= 1 {
			first = int(math.Floor(c0))
			last := int(math.Ceil(c1)) - 1
			for j := first; j <= last; j++ {
				lo := max(c0, float64(j))
				hi := min(c1, float64(j+1))
				tw = append(tw, float32((hi-lo)/step))
			}
		} else {
			c := 0.5*(c0+c1) - 0.5
			f := math.Floor(c)
			t := float32(c - f)
			first = int(f)
			tw = append(tw, 1-t, t)
		}
		// Fold taps that fall off the axis onto the edge pixels, then place the window.
		lo := max(0, min(first, size-1))
		hi := max(0, min(first+len(tw)-1, size-1))
		var folded []float32
		if hi-lo+1 <= len(fold) {
			folded = fold[:hi-lo+1]
			clear(folded)
		} else {
			folded = make([]float32, hi-lo+1) // steps over 64 pixels: only on odd shapes
		}
		for j, wt := range tw {
			folded[max(0, min(first+j, size-1))-lo] += wt
		}
		st := min(lo, size-taps)
		copy(aw.w[i*taps+lo-st:], folded)
		aw.start[i] = st
	}
}

// reuse returns s resliced to n elements, reallocated only when its capacity is short
// (the contents are not kept).
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// resampleScratch holds the buffers of a resample (axis weights, the ring of horizontally
// resampled rows, one output row), reused across calls.
type resampleScratch struct {
	xw, yw axisWeights
	ring   []float32
	held   []int
	row    []float32
}

// rowSampler produces the rows of an area resample of a plane one at a time. The
// horizontal pass runs once per source row the vertical weights touch, into a ring of as
// many rows as one output row reads (vertical windows only move down), so no intermediate
// plane is kept. Its values are those of a horizontal pass over every row followed by a
// vertical pass: each output is the same sum of the same products.
type rowSampler struct {
	src    plane
	xw, yw *axisWeights
	n      int
	ring   []float32 // yw.taps rows of n values
	held   []int     // the source row in each ring slot, -1 for none
}

// init prepares sampling src over r into rows of n values, m rows, with sc's storage.
func (rs *rowSampler) init(src plane, r rect, n, m int, sc *resampleScratch) {
	makeAxisWeights(&sc.xw, r.x0, r.x1, n, src.w)
	makeAxisWeights(&sc.yw, r.y0, r.y1, m, src.h)
	rs.src, rs.xw, rs.yw, rs.n = src, &sc.xw, &sc.yw, n
	sc.ring = reuse(sc.ring, sc.yw.taps*n)
	sc.held = reuse(sc.held, sc.yw.taps)
	rs.ring, rs.held = sc.ring, sc.held
	for i := range rs.held {
		rs.held[i] = -1
	}
}

// source returns the horizontally resampled source row y, computing it into its ring slot
// when the slot holds another row.
func (rs *rowSampler) source(y int) []float32 {
	T, n := rs.yw.taps, rs.n
	slot := y % T
	trow := rs.ring[slot*n : (slot+1)*n]
	if rs.held[slot] == y {
		return trow
	}
	rs.held[slot] = y
	srow := rs.src.p[y*rs.src.w : (y+1)*rs.src.w]
	xw := rs.xw
	if xw.taps == 3 {
		for i, st := range xw.start {
			s := srow[st : st+3]
			w := xw.w[3*i : 3*i+3]
			trow[i] = w[0]*s[0] + w[1]*s[1] + w[2]*s[2]
		}
		return trow
	}
	T = xw.taps
	for i, st := range xw.start {
		w := xw.w[i*T : (i+1)*T]
		s := srow[st : st+len(w)]
		var acc float32
		for j, wt := range w {
			acc += wt * s[j]
		}
		trow[i] = acc
	}
	return trow
}

// row writes output row j (n values) to out.
func (rs *rowSampler) row(j int, out []float32) {
	T := rs.yw.taps
	base := rs.yw.start[j]
	w := rs.yw.w[j*T : (j+1)*T]
	if T == 3 {
		r0, r1, r2 := rs.source(base), rs.source(base+1), rs.source(base+2)
		for i := range out {
			out[i] = w[0]*r0[i] + w[1]*r1[i] + w[2]*r2[i]
		}
		return
	}
	clear(out)
	for k, wt := range w {
		if wt == 0 {
			continue
		}
		trow := rs.source(base + k)
		for i := range out {
			out[i] += wt * trow[i]
		}
	}
}

// resampleRect samples src over r into an n×m plane (dst.p reused when large enough).
func resampleRect(src plane, r rect, n, m int, dst *plane, sc *resampleScratch) {
	resampleTransformed(src, r, n, m, Identity, dst, sc)
}

// resampleTransformed samples src over r into an n×m plane and writes it transformed by t
// into dst (reused when large enough): each row goes straight to its transformed place,
// so no untransformed copy is made.
func resampleTransformed(src plane, r rect, n, m int, t Transform, dst *plane, sc *resampleScratch) {
	var rs rowSampler
	rs.init(src, r, n, m, sc)
	ow, oh := n, m
	if t.SwapsAxes() {
		ow, oh = m, n
	}
	dst.w, dst.h, dst.p = ow, oh, reuse(dst.p, ow*oh)
	if t == Identity {
		for j := 0; j < m; j++ {
			rs.row(j, dst.p[j*n:(j+1)*n])
		}
		return
	}
	sc.row = reuse(sc.row, n)
	// The destination index is affine in the source coordinates: two strides.
	inv := t.Inverse()
	idx := func(x, y int) int {
		dx, dy := inv.SourceOf(x, y, ow, oh)
		return dy*ow + dx
	}
	base := idx(0, 0)
	dx, dy := idx(1, 0)-base, idx(0, 1)-base
	for j := 0; j < m; j++ {
		rs.row(j, sc.row)
		k := base + j*dy
		for _, v := range sc.row {
			dst.p[k] = v
			k += dx
		}
	}
}

// sourceRect maps a rectangle of the transformed picture t(src) back to the rectangle of
// src it shows; w and h are src's extent in the same units.
func sourceRect(t Transform, r rect, w, h float64) rect {
	switch t {
	case MirrorH:
		return rect{w - r.x1, r.y0, w - r.x0, r.y1}
	case Rotate180:
		return rect{w - r.x1, h - r.y1, w - r.x0, h - r.y0}
	case MirrorV:
		return rect{r.x0, h - r.y1, r.x1, h - r.y0}
	case Transpose:
		return rect{r.y0, r.x0, r.y1, r.x1}
	case Rotate90:
		return rect{r.y0, h - r.x1, r.y1, h - r.x0}
	case Transverse:
		return rect{w - r.y1, h - r.x1, w - r.y0, h - r.x0}
	case Rotate270:
		return rect{w - r.y1, r.x0, w - r.y0, r.x1}
	}
	return r
}

// sampleTransformed samples the picture t(src) over r (in the transformed picture's level-0
// pixels) into an n×m plane, reading from the pyramid level that suits the step. It
// resamples in src's own orientation and transforms only the small result.
func sampleTransformed(pyr pyramid, t Transform, r rect, n, m int, dst *plane, sc *resampleScratch) {
	base := pyr[0]
	sr := sourceRect(t, r, float64(base.w), float64(base.h))
	sn, sm := n, m
	if t.SwapsAxes() {
		sn, sm = m, n
	}
	step := min(sr.w()/float64(sn), sr.h()/float64(sm))
	k := pyr.levelFor(step)
	f := 1 / float64(int(1)<<k)
	lr := rect{sr.x0 * f, sr.y0 * f, sr.x1 * f, sr.y1 * f}
	resampleTransformed(pyr.level(k), lr, sn, sm, t, dst, sc)
}
