package forensics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Reference matching: is an evidence photo the merchant's own photo, re-saved, shrunk,
// cropped or zoomed, colour-shifted, mirrored or turned by a right angle? Perceptual hashes
// cannot say once the photo is cropped or turned, so the match is found on pixels, coarse
// to fine on small luma rasters:
//
//  1. coarse: for each of the 8 dihedral transforms, the reference at coarseSide pixels and
//     the evidence resampled to every template size that keeps its aspect, scored by
//     normalised cross-correlation at every offset (brightness and contrast drop out);
//  2. refine: the best distinct hypotheses on evidence grids of 48, 96 and matchFineSide
//     pixels, shifting by whole grid pixels and scaling by one, with parabolic sub-pixel
//     peaks, keeping fewer hypotheses as the grids grow;
//  3. polish: Gauss-Newton on crop position and size per axis with a gain and offset, Huber
//     weighted, on a matchPolishSide grid, so the local diff can compare pixel for pixel;
//  4. verify: the median, over blocks, of the correlation of fine detail. Different photos
//     of a similar scene can be aligned in layout by the search but not in texture, so they
//     score at most 0.31 where the same shot scores 0.56-1 after any of a buyer's edits,
//     painted blocks notwithstanding (TestDetectionRates' cases; 99% under 0.08 and over
//     0.8).
//
// When the evidence is not found inside the reference, the same search runs with the roles
// swapped (matchInset): the reference inside the evidence, as in a screenshot of the shop
// app, a collage or a photo given a border. The Match then says so (Inset) and where.
//
// Resampling is area-weighted from 2× pyramids, and transforms are applied to the small
// resampled result, never to a work raster (align.go). README "Forensics: matching and
// local edits" has the measured rates and costs.

// Match is how an evidence photo derives from a reference photo: the reference, turned by
// Transform, cropped to Crop and scaled by Scale, with a global tone change, gives the
// evidence. Coordinates are full-resolution pixels of the transformed reference (the
// reference after EXIF orientation, then Transform).
type Match struct {
	Transform Transform
	// Crop is the part of the transformed reference the evidence shows.
	CropX, CropY, CropW, CropH float64
	// Scale is evidence pixels per reference pixel: 0.4 for a photo shrunk to 40%, 2 for a
	// close-up enlarged to twice the size.
	Scale float64
	// Coverage is the fraction of the reference's area the evidence shows.
	Coverage float64
	// Gain and Offset fit the evidence's luma to the reference's: evidence ≈ Gain·ref + Offset.
	Gain, Offset float64
	// Correlation is the median, over blocks of the aligned pair, of the correlation of fine
	// detail (luma minus its 5×5 mean) at up to matchFineSide pixels: 0.56-1 for the same
	// shot after a buyer's edits, at most 0.31 for different photos of similar scenes, whatever
	// the global tone change. The match decision is taken on it.
	Correlation float64
	// Distance is the PDQ distance (0..256) between the evidence and the part of the
	// reference it shows, both hashed from the same aligned grid: what PDQ would say had
	// the buyer not cropped, rotated or mirrored. Painted damage moves it by a few bits;
	// Meta's match threshold is 31. It is reported, not used for the decision.
	Distance int
	// Confidence that the evidence derives from the reference, 0..1.
	Confidence float64
	// Inset is true when the evidence shows the whole (transformed) reference inside a
	// larger picture — a screenshot of the shop app, a collage, a border — rather than a
	// part of it. The crop is then the whole transformed reference, Coverage is 1, and
	// InsetX/Y/W/H is where the reference lies in the evidence, in the evidence's
	// full-resolution pixels (after EXIF orientation). LocalEdits compares only that part.
	Inset                          bool
	InsetX, InsetY, InsetW, InsetH float64

	// The crop as fractions of the transformed reference, for the local diff.
	u0, v0, u1, v1 float64
}

// Description names what was done to the reference, e.g. "identity", "rotate90+crop",
// "mirror+closeup+scale+tone": the dihedral transform (Transform.String) when not the
// identity, then "inset" (the whole reference shown inside a larger picture), "crop" (a
// margin over 2% cut) or "closeup" (under half the area kept), "scale" (resized by more
// than 3%) and "tone" (brightness/contrast changed by over 3%).
func (m Match) Description() string {
	var parts []string
	if m.Transform != Identity {
		parts = append(parts, m.Transform.String())
	}
	switch {
	case m.Inset:
		parts = append(parts, "inset")
	case m.Coverage < 0.5:
		parts = append(parts, "closeup")
	case m.u0 > 0.02 || m.v0 > 0.02 || m.u1 < 0.98 || m.v1 < 0.98:
		parts = append(parts, "crop")
	}
	if math.Abs(m.Scale-1) > 0.03 {
		parts = append(parts, "scale")
	}
	if math.Abs(m.Gain-1) > 0.03 || math.Abs(m.Offset) > 0.03*255 {
		parts = append(parts, "tone")
	}
	if len(parts) == 0 {
		return "identity"
	}
	return strings.Join(parts, "+")
}

// MatchOptions tune reference matching. Zero values take the defaults.
type MatchOptions struct {
	// MinCoverage is the smallest fraction of the reference's area an evidence photo may
	// show and still be matched (a close-up of half the width and height shows 0.25).
	// Default 0.2; smaller values cost time and raise the chance of chance matches.
	MinCoverage float64
	// MinCorrelation is the detail correlation a match needs. Default 0.45: the same shot
	// measures 0.56-1 after the edits a buyer makes, different shots of similar scenes at
	// most 0.31 (TestDetectionRates' cases).
	MinCorrelation float64
	// MinInset is the smallest fraction of the evidence's area the reference may cover
	// when it is found inside the evidence (Match.Inset). Default 0.2 (a photo in a 2×2
	// collage covers a quarter); smaller values cost time and raise the chance of chance
	// matches with a part of a busy photo.
	MinInset float64
	// NoInset skips the search for the reference inside the evidence, which otherwise runs
	// whenever the evidence is not found inside the reference.
	NoInset bool
}

func (o MatchOptions) withDefaults() MatchOptions {
	if o.MinCoverage <= 0 {
		o.MinCoverage = 0.2
	}
	if o.MinInset <= 0 {
		o.MinInset = 0.2
	}
	if o.MinCorrelation <= 0 {
		o.MinCorrelation = 0.45
	}
	return o
}

// Search geometry. The coarse search runs on the transformed reference at coarseSide
// pixels (long side), where a full search of 8 transforms × ~20 scales × every offset costs
// a few million multiply-adds; candidates are then refined on grids of the evidence of
// increasing size up to matchFineSide, where the verdict is taken.
const (
	coarseSide    = 32
	coarseKeep    = 4
	matchFineSide = 160
	// matchPolishSide is the grid of the final least-squares alignment, fine enough for the
	// local diff (512 px) to see the pair within a fraction of its pixel.
	matchPolishSide = 256
	minMatchPixels  = 16 // an evidence or reference smaller than this on a side cannot be matched
)

// ReferenceMatchFinding is the reference_match finding for a match of the evidence with
// the reference named ref (as the report names it). Severity is high: evidence that is
// the merchant's own photo shows nothing the buyer received; medium below 0.75 confidence.
func ReferenceMatchFinding(ref string, m Match) Finding {
	dist := m.Distance
	sev := SeverityHigh
	if m.Confidence < 0.75 {
		sev = SeverityMedium
	}
	f := Finding{
		Code:       CodeReferenceMatch,
		Severity:   sev,
		Confidence: round3(m.Confidence),
		Message:    fmt.Sprintf("the evidence is the reference photo %s (%s), not a new photo of the item", ref, m.Description()),
		Reference:  ref,
		Distance:   &dist,
		Transform:  m.Description(),
		Details: map[string]any{
			"correlation": round3(m.Correlation),
			"scale":       round3(m.Scale),
			"coverage":    round3(m.Coverage),
			"crop":        Region{X: int(math.Round(m.CropX)), Y: int(math.Round(m.CropY)), W: int(math.Round(m.CropW)), H: int(math.Round(m.CropH))},
			"dihedral":    m.Transform.String(),
		},
	}
	if m.Inset {
		f.Message = fmt.Sprintf("the evidence shows the reference photo %s inside a larger picture (%s), not a new photo of the item", ref, m.Description())
		f.Details["inset"] = m.insetRegion()
	}
	return f
}

// insetRegion is the inset rectangle in whole evidence pixels.
func (m Match) insetRegion() Region {
	x0, y0 := int(math.Round(m.InsetX)), int(math.Round(m.InsetY))
	return Region{X: x0, Y: y0, W: int(math.Round(m.InsetX+m.InsetW)) - x0, H: int(math.Round(m.InsetY+m.InsetH)) - y0}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// MatchReference decides whether ev derives from ref and how (see Match). It returns false
// when it does not, when either picture is too small or flat to tell, or when ctx ends.
// It reads only the rasters' luma.
func MatchReference(ctx context.Context, ev, ref *Raster) (Match, bool) {
	return MatchReferenceWith(ctx, ev, ref, MatchOptions{})
}

// MatchReferenceWith is MatchReference with explicit options.
func MatchReferenceWith(ctx context.Context, ev, ref *Raster, opts MatchOptions) (Match, bool) {
	if ev == nil || ref == nil || min(ev.W, ev.H, ref.W, ref.H) < minMatchPixels {
		return Match{}, false
	}
	opts = opts.withDefaults()
	evPyr, refPyr := buildPyramid(plane{ev.W, ev.H, ev.Y}), buildPyramid(plane{ref.W, ref.H, ref.Y})
	m, ok := matchInside(ctx, newMatchContext(ev, ref, evPyr, refPyr), opts.MinCoverage, opts.MinCorrelation)
	if ok || opts.NoInset || ctx.Err() != nil {
		return m, ok
	}
	if im, ok := matchInset(ctx, newMatchContext(ref, ev, refPyr, evPyr), opts); ok {
		return im, true
	}
	return m, false
}

// matchInset looks for the reference inside the evidence: the search of matchInside with
// the roles swapped (mc's "evidence" is the reference), the reference covering at least
// opts.MinInset of the evidence's area. The swapped match says the evidence, transformed by
// T and cropped, shows the reference; so the evidence shows the reference transformed by
// T's inverse, whole, at the crop mapped back into the evidence's frame.
func matchInset(ctx context.Context, mc *matchContext, opts MatchOptions) (Match, bool) {
	mc.inset = true
	s, ok := matchInside(ctx, mc, opts.MinInset, opts.MinCorrelation)
	if !ok {
		return Match{}, false
	}
	ev, ref := mc.ref, mc.ev
	t := s.Transform.Inverse()
	in := sourceRect(s.Transform, rect{s.CropX, s.CropY, s.CropX + s.CropW, s.CropY + s.CropH}, float64(ev.FullW), float64(ev.FullH))
	fw, fh := float64(ref.FullW), float64(ref.FullH)
	if t.SwapsAxes() {
		fw, fh = fh, fw
	}
	// The swapped fit is reference ≈ g·evidence + o.
	gain, offset := 1.0, 0.0
	if math.Abs(s.Gain) > 1e-3 {
		gain, offset = 1/s.Gain, -s.Offset/s.Gain
	}
	return Match{
		Transform: t,
		CropW:     fw, CropH: fh,
		Scale:       in.w() / fw,
		Coverage:    1,
		Gain:        gain,
		Offset:      offset,
		Correlation: s.Correlation,
		Distance:    s.Distance,
		Confidence:  s.Confidence,
		Inset:       true,
		InsetX:      in.x0, InsetY: in.y0, InsetW: in.w(), InsetH: in.h(),
		u1: 1, v1: 1,
	}, true
}

// matchInside finds the evidence inside the reference (the coarse-to-fine search above),
// showing at least minCoverage of the reference's area.
func matchInside(ctx context.Context, mc *matchContext, minCoverage, minCorrelation float64) (Match, bool) {
	opts := MatchOptions{MinCoverage: minCoverage, MinCorrelation: minCorrelation}
	cands := mc.coarseSearch(ctx, opts)
	if len(cands) == 0 || ctx.Err() != nil {
		return Match{}, false
	}
	// Refine on successively finer grids, dropping the weaker hypotheses as the grids grow.
	keep := []int{coarseKeep, 2, 1}
	sides := []int{48, 96, matchFineSide}
	for i, side := range sides {
		pad := 1
		if i == 0 {
			pad = 2 // the coarse grid is two thirds as fine: allow for its larger error
		}
		for j := range cands {
			cands[j] = mc.refine(cands[j], side, pad)
		}
		slices.SortFunc(cands, func(a, b hypothesis) int { return cmpDesc(a.score, b.score) })
		cands = cands[:min(len(cands), keep[i])]
		if ctx.Err() != nil {
			return Match{}, false
		}
	}
	best := mc.polish(cands[0], matchPolishSide)
	m, ok := mc.verify(best, opts)
	return m, ok
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// hypothesis is a candidate alignment: the evidence shows [u0,u0+cu]×[v0,v0+cv] (fractions)
// of the reference transformed by t. score is the luma correlation at the last grid.
type hypothesis struct {
	t              Transform
	u0, v0, cu, cv float64
	score          float64
}

// matchContext holds what one evidence/reference comparison computes once.
type matchContext struct {
	ev, ref       *Raster
	evPyr, refPyr pyramid
	// inset is set for the swapped search (the reference inside the evidence), whose
	// coarse estimate is cruder (a quarter of the evidence is 16 coarse pixels wide) and
	// whose photo often fills one side of the picture: refine may move its window four
	// times instead of two when the peak sits on its edge, and keeps the crop's size
	// within the picture.
	inset bool
	// Scratch reused across steps.
	sc       resampleScratch
	integ    integrals
	evg, win plane
	e0       []float32
}

// newMatchContext compares ev with ref, given their luma pyramids (shared by the swapped
// attempt: a pyramid is only read, its lazy level made once).
func newMatchContext(ev, ref *Raster, evPyr, refPyr pyramid) *matchContext {
	return &matchContext{ev: ev, ref: ref, evPyr: evPyr, refPyr: refPyr}
}

// refDims returns the reference's raster and full-resolution extents after t.
func (mc *matchContext) refDims(t Transform) (w, h int, fw, fh float64) {
	w, h, fw, fh = mc.ref.W, mc.ref.H, float64(mc.ref.FullW), float64(mc.ref.FullH)
	if t.SwapsAxes() {
		w, h, fw, fh = h, w, fh, fw
	}
	return
}

// gridDims fits a grid of the given long side to a w×h extent (at least 1×1).
func gridDims(w, h float64, side int) (int, int) {
	if w >= h {
		return side, max(1, int(math.Round(float64(side)*h/w)))
	}
	return max(1, int(math.Round(float64(side)*w/h))), side
}

// coarseSearch scores every transform, scale and offset by normalised cross-correlation
// of luma at coarseSide pixels and returns the best distinct hypotheses.
func (mc *matchContext) coarseSearch(ctx context.Context, opts MatchOptions) []hypothesis {
	evAspect := float64(mc.ev.FullW) / float64(mc.ev.FullH)
	var all []hypothesis
	var refC, tmpl plane
	for _, t := range AllTransforms {
		if ctx.Err() != nil {
			return nil
		}
		rw, rh, fw, fh := mc.refDims(t)
		cw, ch := gridDims(float64(rw), float64(rh), coarseSide)
		sampleTransformed(mc.refPyr, t, rect{0, 0, float64(rw), float64(rh)}, cw, ch, &refC, &mc.sc)
		mc.integ.reset(refC)
		// Coarse pixels are (fw/cw)×(fh/ch) full-resolution pixels; a template tw wide keeps
		// the evidence's aspect at th = tw·(fw/cw)/evAspect/(fh/ch).
		pxAspect := (fw / float64(cw)) / (fh / float64(ch))
		minArea := opts.MinCoverage * float64(cw*ch)
		for tw := cw; tw >= 4; tw-- {
			thf := float64(tw) * pxAspect / evAspect
			th := int(math.Round(thf))
			if th > ch {
				// Tolerate a few per cent of anisotropy (rounding, sloppy resizes).
				if thf > float64(ch)*1.06 {
					continue
				}
				th = ch
			}
			if th < 4 {
				continue
			}
			if float64(tw*th) < minArea {
				break
			}
			sampleTransformed(mc.evPyr, Identity, rect{0, 0, float64(mc.ev.W), float64(mc.ev.H)}, tw, th, &tmpl, &mc.sc)
			ox, oy, score := bestOffset(refC, &mc.integ, tmpl, &mc.e0)
			if score <= 0 {
				continue
			}
			all = append(all, hypothesis{
				t:  t,
				u0: float64(ox) / float64(cw), v0: float64(oy) / float64(ch),
				cu: float64(tw) / float64(cw), cv: float64(th) / float64(ch),
				score: score,
			})
		}
	}
	slices.SortFunc(all, func(a, b hypothesis) int { return cmpDesc(a.score, b.score) })
	var kept []hypothesis
	for _, h := range all {
		dup := false
		for _, k := range kept {
			if k.t == h.t && math.Abs(k.u0-h.u0) < 0.08 && math.Abs(k.v0-h.v0) < 0.08 && math.Abs(k.cu-h.cu) < 0.1 {
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, h)
			if len(kept) == coarseKeep {
				break
			}
		}
	}
	return kept
}

// integrals are summed-area tables of a plane and of its square, (w+1)×(h+1).
type integrals struct {
	sum, sq  []float64
	rowPitch int
}

// reset recomputes the tables for p, reusing their storage.
func (in *integrals) reset(p plane) {
	pitch := p.w + 1
	n := pitch * (p.h + 1)
	if cap(in.sum) < n {
		in.sum, in.sq = make([]float64, n), make([]float64, n)
	}
	in.sum, in.sq, in.rowPitch = in.sum[:n], in.sq[:n], pitch
	clear(in.sum[:pitch])
	clear(in.sq[:pitch])
	for y := 0; y < p.h; y++ {
		var rs, rq float64
		in.sum[(y+1)*pitch], in.sq[(y+1)*pitch] = 0, 0
		for x := 0; x < p.w; x++ {
			v := float64(p.p[y*p.w+x])
			rs += v
			rq += v * v
			in.sum[(y+1)*pitch+x+1] = in.sum[y*pitch+x+1] + rs
			in.sq[(y+1)*pitch+x+1] = in.sq[y*pitch+x+1] + rq
		}
	}
}

func (in *integrals) window(x, y, w, h int) (s, q float64) {
	p := in.rowPitch
	a, b, c, d := y*p+x, y*p+x+w, (y+h)*p+x, (y+h)*p+x+w
	return in.sum[d] - in.sum[b] - in.sum[c] + in.sum[a], in.sq[d] - in.sq[b] - in.sq[c] + in.sq[a]
}

// bestOffset slides tmpl over img and returns the offset with the highest normalised
// cross-correlation. A flat template scores 0.
func bestOffset(img plane, in *integrals, tmpl plane, buf *[]float32) (bx, by int, best float64) {
	n := float64(tmpl.w * tmpl.h)
	t0, tn := zeroMean(tmpl.p, buf)
	if tn == 0 {
		return 0, 0, 0
	}
	tn *= tn
	best = -2
	for oy := 0; oy+tmpl.h <= img.h; oy++ {
		for ox := 0; ox+tmpl.w <= img.w; ox++ {
			var num float32
			for y := 0; y < tmpl.h; y++ {
				row := img.p[(oy+y)*img.w+ox : (oy+y)*img.w+ox+tmpl.w]
				trow := t0[y*tmpl.w : (y+1)*tmpl.w]
				for x, tv := range trow {
					num += tv * row[x]
				}
			}
			s, q := in.window(ox, oy, tmpl.w, tmpl.h)
			v := q - s*s/n
			if v <= n*1e-2 {
				continue
			}
			c := float64(num) / math.Sqrt(tn*v)
			if c > best {
				bx, by, best = ox, oy, c
			}
		}
	}
	return bx, by, best
}

// refine searches shifts of ±pad grid pixels and scales of ±1 grid pixel around h on an
// evidence grid of the given long side, with a parabolic fit for sub-pixel precision. It
// searches again around the peak when the peak sits on the window's edge.
func (mc *matchContext) refine(h hypothesis, side, pad int) hypothesis {
	rw, rh, _, _ := mc.refDims(h.t)
	gw, gh := mc.fineGrid(h, side)
	if gw < 4 || gh < 4 {
		return h
	}
	sampleTransformed(mc.evPyr, Identity, rect{0, 0, float64(mc.ev.W), float64(mc.ev.H)}, gw, gh, &mc.evg, &mc.sc)
	e0, en := zeroMean(mc.evg.p, &mc.e0)
	if en == 0 {
		h.score = 0
		return h
	}
	span := 2*pad + 1
	scores := make([]float64, 3*span*span)
	at := func(si, dx, dy int) float64 { return scores[(si*span+dy)*span+dx] }
	iters := 2
	if mc.inset {
		iters = 4
	}
	for iter := 0; iter < iters; iter++ {
		bestS, bestX, bestY, best := 1, pad, pad, math.Inf(-1)
		for si := 0; si < 3; si++ {
			// Scale the hypothesis about its centre by one grid pixel of the long side.
			f := 1 + float64(si-1)/float64(max(gw, gh))
			cu, cv := h.cu*f, h.cv*f
			u0 := h.u0 + (h.cu-cu)/2
			v0 := h.v0 + (h.cv-cv)/2
			stepU, stepV := cu/float64(gw), cv/float64(gh)
			r := rect{
				(u0 - float64(pad)*stepU) * float64(rw), (v0 - float64(pad)*stepV) * float64(rh),
				(u0 + cu + float64(pad)*stepU) * float64(rw), (v0 + cv + float64(pad)*stepV) * float64(rh),
			}
			sampleTransformed(mc.refPyr, h.t, r, gw+2*pad, gh+2*pad, &mc.win, &mc.sc)
			mc.integ.reset(mc.win)
			for dy := 0; dy < span; dy++ {
				for dx := 0; dx < span; dx++ {
					i := (si*span+dy)*span + dx
					// Keep the crop (nearly) inside the reference.
					nu0, nv0 := u0+float64(dx-pad)*stepU, v0+float64(dy-pad)*stepV
					if nu0 < -stepU/2 || nv0 < -stepV/2 || nu0+cu > 1+stepU/2 || nv0+cv > 1+stepV/2 {
						scores[i] = math.Inf(-1)
						continue
					}
					c := windowNCC(e0, en, gw, gh, mc.win, &mc.integ, dx, dy)
					scores[i] = c
					if c > best {
						bestS, bestX, bestY, best = si, dx, dy, c
					}
				}
			}
		}
		if math.IsInf(best, -1) {
			h.score = 0
			return h
		}
		// Sub-pixel refinement along each axis through the best sample's neighbours.
		fx, fy, fs := float64(bestX), float64(bestY), float64(bestS)
		if bestX > 0 && bestX < 2*pad {
			fx += parabolaPeak(at(bestS, bestX-1, bestY), best, at(bestS, bestX+1, bestY))
		}
		if bestY > 0 && bestY < 2*pad {
			fy += parabolaPeak(at(bestS, bestX, bestY-1), best, at(bestS, bestX, bestY+1))
		}
		if bestS == 1 {
			fs += parabolaPeak(at(0, bestX, bestY), best, at(2, bestX, bestY))
		}
		f := 1 + (fs-1)/float64(max(gw, gh))
		cu, cv := h.cu*f, h.cv*f
		h.u0 += (h.cu-cu)/2 + (fx-float64(pad))*cu/float64(gw)
		h.v0 += (h.cv-cv)/2 + (fy-float64(pad))*cv/float64(gh)
		h.cu, h.cv, h.score = cu, cv, best
		if bestX > 0 && bestX < 2*pad && bestY > 0 && bestY < 2*pad && bestS == 1 {
			break
		}
	}
	if mc.inset {
		// A crop larger than the picture (a photo filling one side of the picture it is
		// found in, scaled a little past it) would leave the next, finer refinement no
		// position inside.
		h.cu, h.cv = math.Min(h.cu, 1), math.Min(h.cv, 1)
	}
	h.u0 = clamp(h.u0, 0, math.Max(0, 1-h.cu))
	h.v0 = clamp(h.v0, 0, math.Max(0, 1-h.cv))
	return h
}

// fineGrid sizes the evidence grid for a refinement or verification step: the requested
// long side, but never finer than the evidence's raster or the reference's raster over the
// matched area (finer grids would only interpolate).
func (mc *matchContext) fineGrid(h hypothesis, side int) (int, int) {
	rw, rh, _, _ := mc.refDims(h.t)
	side = min(side, max(mc.ev.W, mc.ev.H), int(math.Max(h.cu*float64(rw), h.cv*float64(rh))))
	return gridDims(float64(mc.ev.W), float64(mc.ev.H), side)
}

// polish refines h by Gauss-Newton (Lucas-Kanade) on a grid of the given long side:
// crop position and size per axis together with a luma gain and offset, with Huber
// weights so that painted areas do not pull the fit. It samples every other pixel in a
// checkerboard (half the cost, the same precision on photos) and keeps h when the fit
// fails or wanders off.
func (mc *matchContext) polish(h hypothesis, side int) hypothesis {
	rw, rh, _, _ := mc.refDims(h.t)
	gw, gh := mc.fineGrid(h, side)
	if gw < 8 || gh < 8 {
		return h
	}
	sampleTransformed(mc.evPyr, Identity, rect{0, 0, float64(mc.ev.W), float64(mc.ev.H)}, gw, gh, &mc.evg, &mc.sc)
	ev := mc.evg.p
	cur := h
	if cap(mc.e0) < len(ev) {
		mc.e0 = make([]float32, len(ev))
	}
	resid := mc.e0[:len(ev)]
	for iter := 0; iter < 3; iter++ {
		sampleTransformed(mc.refPyr, cur.t, rect{cur.u0 * float64(rw), cur.v0 * float64(rh), (cur.u0 + cur.cu) * float64(rw), (cur.v0 + cur.cv) * float64(rh)}, gw, gh, &mc.win, &mc.sc)
		s := mc.win.p
		gain, offset := lumaFit(ev, s)
		g32, o32 := float32(gain), float32(offset)
		for i := range ev {
			resid[i] = ev[i] - g32*s[i] - o32
		}
		k := float32(1.345 * math.Max(madAll(resid), 0.5))
		// Normal equations in float32 per row, summed into float64.
		var A [6][6]float64
		var B [6]float64
		ax, ay := float32(float64(gw)/cur.cu), float32(float64(gh)/cur.cv)
		for y := 1; y < gh-1; y++ {
			fy := (float32(y) + 0.5) / float32(gh)
			var ra [6][6]float32
			var rb [6]float32
			for x := 1 + y%2; x < gw-1; x += 2 {
				i := y*gw + x
				sx := 0.5 * (s[i+1] - s[i-1])
				sy := 0.5 * (s[i+gw] - s[i-gw])
				fx := (float32(x) + 0.5) / float32(gw)
				// Derivatives of gain·S + offset by (u0, v0, cu, cv, gain, offset); moving u0
				// by δ moves every sample by δ·gw/cu grid pixels.
				j0 := g32 * sx * ax
				j1 := g32 * sy * ay
				j := [6]float32{j0, j1, j0 * fx, j1 * fy, s[i], 1}
				r := resid[i]
				w := float32(1)
				if a := abs32(r); a > k {
					w = k / a
				}
				for p := 0; p < 6; p++ {
					wj := w * j[p]
					rb[p] += wj * r
					for q := p; q < 6; q++ {
						ra[p][q] += wj * j[q]
					}
				}
			}
			for p := 0; p < 6; p++ {
				B[p] += float64(rb[p])
				for q := p; q < 6; q++ {
					A[p][q] += float64(ra[p][q])
				}
			}
		}
		for p := 0; p < 6; p++ {
			for q := 0; q < p; q++ {
				A[p][q] = A[q][p]
			}
		}
		d, ok := solve6(A, B)
		if !ok {
			return h
		}
		next := cur
		next.u0 += d[0]
		next.v0 += d[1]
		next.cu += d[2]
		next.cv += d[3]
		// A polish that moves by more than a coarse pixel has left the basin: distrust it.
		if math.Abs(next.cu/h.cu-1) > 0.05 || math.Abs(next.cv/h.cv-1) > 0.05 || math.Abs(next.u0-h.u0) > 0.05 || math.Abs(next.v0-h.v0) > 0.05 {
			return h
		}
		cur = next
		// Converged when the crop's corners move by under a twentieth of a grid pixel.
		if math.Abs(d[0])*float64(ax)+math.Abs(d[2])*float64(ax) < 0.05 && math.Abs(d[1])*float64(ay)+math.Abs(d[3])*float64(ay) < 0.05 {
			break
		}
	}
	return cur
}

// madAll is 1.4826 × the median |r|: the robust σ of a residual, from a histogram in
// quarter levels.
func madAll(r []float32) float64 {
	var hist [257]int32
	for _, v := range r {
		hist[min(int(abs32(v)*4), 256)]++
	}
	half := int32(len(r) / 2)
	var acc int32
	for k, c := range hist {
		acc += c
		if acc > half {
			return 1.4826 * (float64(k) + 0.5) / 4
		}
	}
	return 1.4826 * 64
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// solve6 solves the symmetric system A·x = b by Gaussian elimination with partial pivoting.
func solve6(A [6][6]float64, b [6]float64) ([6]float64, bool) {
	const n = 6
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(A[r][c]) > math.Abs(A[p][c]) {
				p = r
			}
		}
		if math.Abs(A[p][c]) < 1e-12 {
			return b, false
		}
		A[c], A[p] = A[p], A[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := A[r][c] / A[c][c]
			for k := c; k < n; k++ {
				A[r][k] -= f * A[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	var x [6]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= A[r][k] * x[k]
		}
		x[r] = s / A[r][r]
	}
	return x, true
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// parabolaPeak returns the offset in (-0.5, 0.5) of the vertex of the parabola through
// (−1, a), (0, b), (1, c), for b the largest.
func parabolaPeak(a, b, c float64) float64 {
	if math.IsInf(a, 0) || math.IsInf(c, 0) {
		return 0
	}
	d := a - 2*b + c
	if d >= 0 {
		return 0
	}
	return clamp(0.5*(a-c)/d, -0.5, 0.5)
}

// zeroMean returns p minus its mean (in buf, reused) and the norm of the result; the norm
// is 0 for a flat p.
func zeroMean(p []float32, buf *[]float32) ([]float32, float64) {
	var mean float64
	for _, v := range p {
		mean += float64(v)
	}
	mean /= float64(len(p))
	if cap(*buf) < len(p) {
		*buf = make([]float32, len(p))
	}
	out := (*buf)[:len(p)]
	var norm float64
	for i, v := range p {
		d := float64(v) - mean
		out[i] = float32(d)
		norm += d * d
	}
	if norm < float64(len(p))*1e-2 {
		return out, 0
	}
	return out, math.Sqrt(norm)
}

// windowNCC correlates the zero-mean grid e0 (norm en, gw×gh) with the window of win at
// (dx, dy); in holds win's summed-area tables.
func windowNCC(e0 []float32, en float64, gw, gh int, win plane, in *integrals, dx, dy int) float64 {
	var num float32
	for y := 0; y < gh; y++ {
		row := win.p[(dy+y)*win.w+dx : (dy+y)*win.w+dx+gw]
		er := e0[y*gw : (y+1)*gw]
		for x, v := range row {
			num += er[x] * v
		}
	}
	n := float64(gw * gh)
	s, q := in.window(dx, dy, gw, gh)
	v := q - s*s/n
	if v <= n*1e-2 {
		return 0
	}
	return float64(num) / (en * math.Sqrt(v))
}

// verify compares the aligned pair on the finest grid: fine detail must correlate block by
// block (the median resists painted damage), which different photos of a similar scene do
// not do even where their coarse layout agrees.
func (mc *matchContext) verify(h hypothesis, opts MatchOptions) (Match, bool) {
	rw, rh, fw, fh := mc.refDims(h.t)
	gw, gh := mc.fineGrid(h, matchFineSide)
	var evg, refg plane
	sampleTransformed(mc.evPyr, Identity, rect{0, 0, float64(mc.ev.W), float64(mc.ev.H)}, gw, gh, &evg, &mc.sc)
	sampleTransformed(mc.refPyr, h.t, rect{h.u0 * float64(rw), h.v0 * float64(rh), (h.u0 + h.cu) * float64(rw), (h.v0 + h.cv) * float64(rh)}, gw, gh, &refg, &mc.sc)
	corr, ok := detailCorrelation(evg, refg)
	if !ok {
		return Match{}, false
	}
	gain, offset := lumaFit(evg.p, refg.p)
	// PDQ of both sides of the aligned pair, from the same grid (PDQFromLuma overwrites
	// its input, which is not needed any more).
	pe, pr := PDQFromLuma(evg.p, gw, gh), PDQFromLuma(refg.p, gw, gh)
	m := Match{
		Transform:   h.t,
		CropX:       h.u0 * fw,
		CropY:       h.v0 * fh,
		CropW:       h.cu * fw,
		CropH:       h.cv * fh,
		Scale:       float64(mc.ev.FullW) / (h.cu * fw),
		Coverage:    h.cu * h.cv,
		Gain:        gain,
		Offset:      offset,
		Correlation: corr,
		Distance:    pe.Hash.Distance(pr.Hash),
		u0:          h.u0, v0: h.v0, u1: h.u0 + h.cu, v1: h.v0 + h.cv,
	}
	if corr < opts.MinCorrelation || h.score < 0.5 {
		return m, false
	}
	// Confidence rises from 0.6 at the threshold to 0.99 at a correlation of 0.85.
	m.Confidence = clamp(0.6+0.39*(corr-opts.MinCorrelation)/math.Max(0.85-opts.MinCorrelation, 0.05), 0.6, 0.99)
	return m, true
}

// detailBlock is the block size of the detail correlation, in fine-grid pixels, and
// detailMargin the frame it leaves out.
const (
	detailBlock  = 24
	detailMargin = 3
)

// detailCorrelation returns the median correlation, over blocks, of the two planes' fine
// detail (each minus its 5×5 box mean). Blocks where either picture has no detail (sky,
// walls, blown highlights) are skipped; ok is false when fewer than 4 blocks remain. A
// margin of detailMargin pixels is left out: frame lines, resampling at the crop's edge
// and edge replication make detail there that is not the picture's.
func detailCorrelation(a, b plane) (float64, bool) {
	da, db := highPass(a), highPass(b)
	w, h := a.w-2*detailMargin, a.h-2*detailMargin
	if w < detailBlock/2 || h < detailBlock/2 {
		return 0, false
	}
	bx := max(1, (w+detailBlock/2)/detailBlock)
	by := max(1, (h+detailBlock/2)/detailBlock)
	var corrs []float64
	for j := 0; j < by; j++ {
		y0, y1 := detailMargin+j*h/by, detailMargin+(j+1)*h/by
		for i := 0; i < bx; i++ {
			x0, x1 := detailMargin+i*w/bx, detailMargin+(i+1)*w/bx
			var saa, sbb, sab float64
			n := float64((x1 - x0) * (y1 - y0))
			for y := y0; y < y1; y++ {
				ra, rb := da[y*a.w+x0:y*a.w+x1], db[y*a.w+x0:y*a.w+x1]
				for x, u := range ra {
					v := rb[x]
					saa += float64(u * u)
					sbb += float64(v * v)
					sab += float64(u * v)
				}
			}
			// Detail under 3 grey levels RMS is compression noise (JPEG's 8×8 grid on flat sky
			// correlates across unrelated photos), not structure.
			if saa < n*9 || sbb < n*9 {
				continue
			}
			corrs = append(corrs, sab/math.Sqrt(saa*sbb))
		}
	}
	if len(corrs) < 4 {
		return 0, false
	}
	slices.Sort(corrs)
	return corrs[len(corrs)/2], true
}

// highPass returns p minus its 5×5 box mean (edges replicated).
func highPass(p plane) []float32 {
	blur := boxBlur(p, 2)
	out := make([]float32, len(p.p))
	for i, v := range p.p {
		out[i] = v - blur[i]
	}
	return out
}

// boxBlur returns the (2r+1)² box mean of p, separably, edges replicated.
func boxBlur(p plane, r int) []float32 {
	tmp := make([]float32, len(p.p))
	out := make([]float32, len(p.p))
	inv := 1 / float32(2*r+1)
	for y := 0; y < p.h; y++ {
		row := p.p[y*p.w : (y+1)*p.w]
		dst := tmp[y*p.w : (y+1)*p.w]
		var acc float32
		for k := -r; k <= r; k++ {
			acc += row[max(0, min(k, p.w-1))]
		}
		for x := 0; x < p.w; x++ {
			dst[x] = acc * inv
			acc += row[min(x+r+1, p.w-1)] - row[max(x-r, 0)]
		}
	}
	for x := 0; x < p.w; x++ {
		var acc float32
		for k := -r; k <= r; k++ {
			acc += tmp[max(0, min(k, p.h-1))*p.w+x]
		}
		for y := 0; y < p.h; y++ {
			out[y*p.w+x] = acc * inv
			acc += tmp[min(y+r+1, p.h-1)*p.w+x] - tmp[max(y-r, 0)*p.w+x]
		}
	}
	return out
}

// lumaFit is the least-squares gain and offset with e ≈ gain·r + offset.
func lumaFit(e, r []float32) (gain, offset float64) {
	var se, sr, srr, ser float64
	for i := range e {
		a, b := float64(e[i]), float64(r[i])
		se += a
		sr += b
		srr += b * b
		ser += a * b
	}
	n := float64(len(e))
	den := srr - sr*sr/n
	if den <= 1e-9 {
		return 1, (se - sr) / n
	}
	gain = (ser - se*sr/n) / den
	return gain, (se - gain*sr) / n
}
