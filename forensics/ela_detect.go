package forensics

import (
	"context"
	"math"
	"slices"
)

// Region finding: for every candidate earlier save at once, the blocks' log-likelihood
// ratios are summed over cells; per candidate, the picture's typical value per coefficient
// is the background, and cells that say the opposite of it — clearly, over several
// frequencies, and against blocks of the same tone (brightness and colourfulness) elsewhere — grow into regions.

// ELA region kinds: what a region's compression history says.
const (
	// ELAMissingEarlierSave: the rest of the picture was saved at an earlier quality before
	// its last save and this region was not — it was pasted or painted in between.
	ELAMissingEarlierSave = "missing_earlier_save"
	// ELAExtraEarlierSave: this region carries an earlier save the rest of the picture does
	// not show — it was cut from another JPEG.
	ELAExtraEarlierSave = "extra_earlier_save"
)

const (
	// elaMaxK: zig-zag coefficients 1..elaMaxK−1 are judged. The DC term is left out (the
	// levels of a smooth sky or wall repeat from block to block, so a coincidence would
	// cover the whole area); higher frequencies are nearly always zero.
	elaMaxK = 28
	// elaMinQuality..elaMaxQuality: the IJG qualities tried as earlier saves, every one
	// (neighbouring qualities' tables differ at most frequencies, and a lattice fits only
	// exactly).
	elaMinQuality = 20
	elaMaxQuality = 95
	// elaMinInformative: frequencies (of elaMaxK−1) whose candidate step is coarse enough
	// against the file's for the candidate to be tried.
	elaMinInformative = 6
	// elaMinEstimated: frequencies whose earlier step the histograms must show before the
	// estimated table is tried. A global tone or colour change applied between two saves
	// scales and bends the lattice: the histograms still show it at a few low frequencies,
	// and only in some tones, which would make every vivid or clipped area "lack" it. A
	// real earlier save shows at most of the frequencies it left nonzero.
	elaMinEstimated = 12
	// elaCellsAcross: the long side of the cell grid; a cell is a square of blocks.
	elaCellsAcross = 96
	// elaMinWindow: levels a 3×3-cell window needs to be judged at all.
	elaMinWindow = 24
	// elaBackgroundMean: |mean log-LR per level| the picture needs before it is a
	// background to stand out from (either it shows the earlier save or clearly does not).
	elaBackgroundMean = 0.25
	// elaRegionMean: a region's own mean must lie this far on the other side of zero, and
	// this far from blocks of the same tone elsewhere.
	elaRegionMean = 0.3
	// elaMinZ: a window's departure from the background in robust standard deviations;
	// elaGrowMean and elaGrowZ: what a neighbouring window needs to join a region.
	elaMinZ     = 5
	elaGrowMean = 0.1
	elaGrowZ    = 2
	// elaDefaultMinEvidence: nats (log-likelihood ratio) a region needs, after capping each
	// frequency's share at elaFrequencyCap, so one coincidental frequency cannot carry it.
	elaDefaultMinEvidence = 30
	elaFrequencyCap       = 8
	// elaMinFrequencies: distinct frequencies that must speak for a region.
	elaMinFrequencies = 3
	// elaMinMatched: share of a region's levels in tones that the rest of the
	// picture covers well enough (elaMinBin levels) to compare with, when the picture's
	// tones differ by more than elaToneShift from its background.
	elaMinMatched = 0.5
	elaMinBin     = 200
	elaToneShift  = 0.4
	// elaMaxRegionShare: a "region" over this share of the judged blocks is the background.
	elaMaxRegionShare = 0.4
	// elaMaxRegions reported at most.
	elaMaxRegions = 5
)

// elaRegionFound is a region in block units on the stored grid, before orientation.
type elaRegionFound struct {
	bx0, by0, bx1, by1 int // blocks [bx0, bx1) × [by0, by1)
	kind               string
	quality            int
	evidence           float64 // capped nats in the region's direction
	mean, background   float64
	matched            float64 // mean of blocks of the same tone elsewhere
	z                  float64
	coefficients       int
	frequencies        int
}

// elaCandidates lists the earlier saves worth testing: the table the picture's own level
// histograms point to, when they point to one (cameras use tables of their own), and every
// IJG quality from elaMinQuality to elaMaxQuality coarse enough against the file's table.
func elaCandidates(eb *elaBlocks) []*lrTable {
	var out []*lrTable
	cache := newLRCache(eb.maxLevel)
	if est, ok := estimateEarlierTable(eb, cache); ok {
		out = append(out, newLRTable(0, &est, &eb.table, cache))
	}
	for q := elaMinQuality; q <= elaMaxQuality; q++ {
		s := ijgLuminance(q)
		lt := newLRTable(q, &s, &eb.table, cache)
		if informativeCount(lt) >= elaMinInformative {
			out = append(out, lt)
		}
	}
	return out
}

func informativeCount(lt *lrTable) int {
	n := 0
	for k := 1; k < elaMaxK; k++ {
		if lt.informative[k] {
			n++
		}
	}
	return n
}

// estimateEarlierTable looks, per frequency, for the step an earlier save used: the one
// whose double-quantisation model explains the picture's level histogram best, when it
// explains it better than no earlier save. Frequencies without one stay zero.
func estimateEarlierTable(eb *elaBlocks, cache *lrCache) ([64]uint16, bool) {
	var est [64]uint16
	found := 0
	for k := 1; k < elaMaxK; k++ {
		t := int(eb.table[k])
		if t == 0 {
			continue
		}
		h := &eb.hist[k]
		total := 0
		for _, c := range h {
			total += int(c)
		}
		if total < 100 {
			continue
		}
		best, bestS := 0.0, 0
		for s := int(math.Ceil(elaMinRatio * float64(t))); s <= min(16*t, 255); s++ {
			row := cache.row(uint16(s), uint16(t))
			score := 0.0
			for m, c := range h[:cache.maxLevel+1] {
				if c != 0 {
					score += float64(c) * float64(row[m])
				}
			}
			if score/float64(total) > 0.1 && score > best {
				best, bestS = score, s
			}
		}
		if bestS > 0 {
			est[k] = uint16(bestS)
			found++
		}
	}
	return est, found >= elaMinEstimated
}

// elaSums are every candidate's log-LR sums over cells and tone bins.
type elaSums struct {
	cands  []*lrTable
	c      int // blocks per cell side
	gw, gh int // cells across and down
	// cellL[ci*cells+cell] is candidate ci's log-LR sum over the cell's unclipped blocks,
	// clipL the same over its clipped ones; cellCount[cell*elaMaxK+k] and clipCount count the
	// levels of frequency k (a candidate counts those it finds informative).
	cellL, clipL         []float32
	cellCount, clipCount []int32
	// binL[ci*elaToneBins+bin] and binCount: the same per tone bin, unclipped.
	binL     []float64
	binCount [elaToneBins][elaMaxK]int64
	judged   int // read blocks with levels
}

// sumCandidates accumulates every candidate in one pass over the levels: per level, one
// contiguous row of the interleaved table adds into every candidate's running sum.
func sumCandidates(ctx context.Context, eb *elaBlocks, cands []*lrTable) (*elaSums, error) {
	nc := len(cands)
	c := max(1, (max(eb.bw, eb.bh)+elaCellsAcross-1)/elaCellsAcross)
	c = (c + eb.step - 1) / eb.step * eb.step // whole sampling steps per cell
	s := &elaSums{cands: cands, c: c, gw: (eb.bw + c - 1) / c, gh: (eb.bh + c - 1) / c}
	cells := s.gw * s.gh
	s.cellL = make([]float32, nc*cells)
	s.clipL = make([]float32, nc*cells)
	s.cellCount = make([]int32, cells*elaMaxK)
	s.clipCount = make([]int32, cells*elaMaxK)
	s.binL = make([]float64, nc*elaToneBins)
	// lut[(k<<8|m)*nc + ci]: the entry's own value indexes its row.
	lut := make([]float32, elaMaxK*256*nc)
	for ci, lt := range cands {
		for k := 1; k < elaMaxK; k++ {
			if !lt.informative[k] {
				continue
			}
			for m, v := range lt.logLR[k] {
				lut[(k<<8|m)*nc+ci] = v
			}
		}
	}
	acc := make([]float32, nc)
	for by := 0; by < eb.bh; by += eb.step {
		if by%64 == 0 && ctx.Err() != nil {
			return nil, canceledError(ctx.Err())
		}
		for bx := 0; bx < eb.bw; bx += eb.step {
			i := by*eb.bw + bx
			ents := eb.ent[eb.start[i]:eb.start[i+1]]
			if eb.state[i] == blockSkipped || len(ents) == 0 {
				continue
			}
			s.judged++
			clear(acc)
			cell := (by/c)*s.gw + bx/c
			clipped := eb.state[i] == blockClipped
			sumL, counts := s.cellL, s.cellCount
			if clipped {
				sumL, counts = s.clipL, s.clipCount
			}
			cnt := counts[cell*elaMaxK:][:elaMaxK]
			for _, e := range ents {
				row := lut[int(e)*nc:][:nc]
				for ci, v := range row {
					acc[ci] += v
				}
				cnt[e>>8]++
			}
			for ci, v := range acc {
				sumL[ci*cells+cell] += v
			}
			if clipped {
				continue
			}
			bin := int(eb.tone[i])
			for _, e := range ents {
				s.binCount[bin][e>>8]++
			}
			for ci, v := range acc {
				s.binL[ci*elaToneBins+bin] += float64(v)
			}
		}
	}
	return s, nil
}

// cellSums are candidate ci's per-cell sum and level count, over unclipped blocks or, with
// withClipped, over all.
func (s *elaSums) cellSums(ci int, withClipped bool) (sumL, sumN []float64) {
	lt := s.cands[ci]
	cells := s.gw * s.gh
	sumL, sumN = make([]float64, cells), make([]float64, cells)
	for cell := range cells {
		sumL[cell] = float64(s.cellL[ci*cells+cell])
		n := 0
		for k, v := range s.cellCount[cell*elaMaxK:][:elaMaxK] {
			if lt.informative[k] {
				n += int(v)
			}
		}
		if withClipped {
			sumL[cell] += float64(s.clipL[ci*cells+cell])
			for k, v := range s.clipCount[cell*elaMaxK:][:elaMaxK] {
				if lt.informative[k] {
					n += int(v)
				}
			}
		}
		sumN[cell] = float64(n)
	}
	return sumL, sumN
}

// elaWindows are 3×3-cell window sums and the picture's background over them: the median
// window mean (weighted by levels) and the robust spread of departures scaled by √n, so
// busy and quiet windows are judged alike.
type elaWindows struct {
	l, n       []float64
	bg, spread float64
	ok         bool // enough windows to tell a background
	// none: the background's sign is plain and no window lies on the other side of zero,
	// so there is nothing to find (bg and spread are then left unset).
	none bool
}

func windows(cellL, cellN []float64, gw, gh int) elaWindows {
	w := elaWindows{l: make([]float64, len(cellL)), n: make([]float64, len(cellL))}
	for y := range gh {
		for x := range gw {
			var l, n float64
			for yy := max(y-1, 0); yy <= min(y+1, gh-1); yy++ {
				for xx := max(x-1, 0); xx <= min(x+1, gw-1); xx++ {
					l += cellL[yy*gw+xx]
					n += cellN[yy*gw+xx]
				}
			}
			w.l[y*gw+x], w.n[y*gw+x] = l, n
		}
	}
	var means, weights []float64
	var sumL, sumN float64
	for i := range w.l {
		if w.n[i] >= elaMinWindow {
			means = append(means, w.l[i]/w.n[i])
			weights = append(weights, w.n[i])
			sumL += w.l[i]
			sumN += w.n[i]
		}
	}
	if len(means) < 9 {
		return w
	}
	w.ok = true
	// Most candidates leave nothing to find: with the background's sign plain from the
	// overall mean, no window on the other side of zero means no region, and the medians
	// (the costly part, for some 70 candidates) are skipped.
	if overall := sumL / sumN; math.Abs(overall) >= elaBackgroundMean {
		other := false
		for _, m := range means {
			if m*overall < 0 && math.Abs(m) >= elaRegionMean {
				other = true
				break
			}
		}
		if !other {
			w.bg, w.none = overall, true
			return w
		}
	}
	w.bg = weightedMedian(means, weights)
	dev := make([]float64, 0, len(means))
	for i := range w.l {
		if w.n[i] >= elaMinWindow {
			dev = append(dev, (w.l[i]/w.n[i]-w.bg)*math.Sqrt(w.n[i]))
		}
	}
	mid := median(dev)
	for i := range dev {
		dev[i] = math.Abs(dev[i] - mid)
	}
	w.spread = math.Max(1.4826*median(dev), 0.5)
	return w
}

// findRegions runs every candidate and keeps the strongest non-overlapping regions.
func findRegions(ctx context.Context, eb *elaBlocks, minEvidence float64) ([]elaRegionFound, error) {
	cands := elaCandidates(eb)
	if len(cands) == 0 {
		return nil, nil
	}
	sums, err := sumCandidates(ctx, eb, cands)
	if err != nil {
		return nil, err
	}
	var all []elaRegionFound
	for ci := range cands {
		all = append(all, regionsForCandidate(eb, sums, ci, minEvidence)...)
	}
	slices.SortStableFunc(all, func(a, b elaRegionFound) int {
		switch {
		case a.evidence > b.evidence:
			return -1
		case a.evidence < b.evidence:
			return 1
		}
		return 0
	})
	var kept []elaRegionFound
	for _, r := range all {
		overlaps := false
		for _, k := range kept {
			if r.bx0 < k.bx1 && k.bx0 < r.bx1 && r.by0 < k.by1 && k.by0 < r.by1 {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, r)
		}
		if len(kept) == elaMaxRegions {
			break
		}
	}
	return kept, nil
}

// regionsForCandidate finds the regions that contradict the picture's background under
// candidate ci.
func regionsForCandidate(eb *elaBlocks, s *elaSums, ci int, minEvidence float64) []elaRegionFound {
	lt := s.cands[ci]
	gw, gh := s.gw, s.gh
	cells := gw * gh
	// The background is judged without clipped blocks. When it shows the earlier save, the
	// regions sought lack it and clipped blocks stay out; when it does not, the regions
	// sought carry it, which clipping cannot fake, and every block is judged.
	cellL, cellN := s.cellSums(ci, false)
	win := windows(cellL, cellN, gw, gh)
	if !win.ok {
		return nil
	}
	var sign float64
	switch {
	case win.bg >= elaBackgroundMean:
		sign = -1
	case win.bg <= -elaBackgroundMean && lt.quality != 0: // an estimated table is the background's own
		sign = 1
		cellL, cellN = s.cellSums(ci, true)
		win = windows(cellL, cellN, gw, gh)
	default:
		return nil
	}
	if !win.ok || win.none {
		return nil
	}
	bg, spread := win.bg, win.spread
	winL, winN := win.l, win.n
	// Hysteresis: windows that clearly contradict the background seed regions, which grow
	// over neighbours that lean the same way (a pasted area's quiet blocks say less).
	strong := make([]bool, cells)
	weak := make([]bool, cells)
	for i := range winL {
		n := winN[i]
		if n < elaMinWindow {
			continue
		}
		m := winL[i] / n
		z := (m - bg) * math.Sqrt(n) / spread
		strong[i] = sign*m >= elaRegionMean && sign*z >= elaMinZ
		weak[i] = sign*m >= elaGrowMean && sign*z >= elaGrowZ
	}
	kind := ELAExtraEarlierSave
	if sign < 0 {
		kind = ELAMissingEarlierSave
	}
	var out []elaRegionFound
	judge := func(blocks []int) {
		r := elaRegionFound{kind: kind, quality: lt.quality, background: bg}
		if judgeRegion(eb, s, ci, blocks, sign, spread, minEvidence, &r) {
			out = append(out, r)
		}
	}
	for _, comp := range components(grow(strong, weak, gw, gh), gw, gh) {
		judge(cellBlocks(eb, s, comp.cells))
	}
	return out
}

// cellBlocks lists the sampled blocks of the cells.
func cellBlocks(eb *elaBlocks, s *elaSums, cells []int) []int {
	var out []int
	for _, cell := range cells {
		cx, cy := cell%s.gw, cell/s.gw
		for by := cy * s.c; by < min((cy+1)*s.c, eb.bh); by += eb.step {
			for bx := cx * s.c; bx < min((cx+1)*s.c, eb.bw); bx += eb.step {
				out = append(out, by*eb.bw+bx)
			}
		}
	}
	return out
}

// judgeRegion sums the region's own blocks (those of its cells) per frequency and per
// tone bin and decides whether it is a region: enough evidence after capping each
// frequency, enough frequencies agreeing, clearly unlike blocks of its tone
// elsewhere, and not so large that it is the background itself.
func judgeRegion(eb *elaBlocks, s *elaSums, ci int, members []int, sign, spread, minEvidence float64, r *elaRegionFound) bool {
	lt := s.cands[ci]
	var perK [elaMaxK]float64
	var binL [elaToneBins]float64
	var binN [elaToneBins]int64
	var l float64
	n, blocks := 0, 0
	r.bx0, r.by0, r.bx1, r.by1 = eb.bw, eb.bh, 0, 0
	for _, i := range members {
		if eb.state[i] == blockSkipped || (eb.state[i] == blockClipped && sign < 0) || eb.start[i+1] == eb.start[i] {
			continue
		}
		bx, by := i%eb.bw, i/eb.bw
		r.bx0, r.by0 = min(r.bx0, bx), min(r.by0, by)
		r.bx1, r.by1 = max(r.bx1, bx+eb.step), max(r.by1, by+eb.step)
		blocks++
		bin := eb.tone[i]
		for _, e := range eb.ent[eb.start[i]:eb.start[i+1]] {
			k, m := elaEntryParts(e)
			if !lt.informative[k] {
				continue
			}
			v := float64(lt.logLR[k][m])
			perK[k] += v
			binL[bin] += v
			binN[bin]++
			l += v
			n++
		}
	}
	r.bx1, r.by1 = min(r.bx1, eb.bw), min(r.by1, eb.bh)
	if n == 0 || float64(blocks) > elaMaxRegionShare*float64(s.judged) {
		return false
	}
	// The rest of the picture's blocks of each tone: where a tone curve or clipping touched
	// some tones and not others, they show what the region would look like had it been
	// there all along. A region that carries an earlier save needs no such
	// care (nothing global puts a lattice back), one that lacks it does.
	if sign < 0 {
		matched, ok := s.toneMatched(ci, &binL, &binN, r.background)
		if !ok {
			return false
		}
		r.matched = matched
	}
	// Evidence for the region's history: each frequency's share capped.
	var capped float64
	agree := 0
	for k := range perK {
		v := sign * perK[k]
		if v > 0 {
			agree++
		}
		capped += math.Min(v, elaFrequencyCap)
	}
	r.mean = l / float64(n)
	r.z = (r.mean - r.background) * math.Sqrt(float64(n)) / spread
	r.coefficients = n
	r.frequencies = agree
	r.evidence = capped
	return sign*r.mean >= elaRegionMean && sign*(r.mean-r.matched) >= elaRegionMean &&
		capped >= minEvidence && agree >= elaMinFrequencies
}

// toneMatched is the mean log-LR per level the region's levels would have if each behaved
// like the rest of the picture's levels in blocks of its tone (elaToneBins). Tones the rest
// covers thinly take the picture's background mean when the well-covered tones agree with
// it (no tone curve to speak of); when they do not, the region must lie mostly in
// well-covered tones to be judged at all.
func (s *elaSums) toneMatched(ci int, binL *[elaToneBins]float64, binN *[elaToneBins]int64, bg float64) (float64, bool) {
	lt := s.cands[ci]
	var restMean [elaToneBins]float64
	var covered [elaToneBins]bool
	toneDependent := false
	for b := range elaToneBins {
		var all int64
		for k := 1; k < elaMaxK; k++ {
			if lt.informative[k] {
				all += s.binCount[b][k]
			}
		}
		restN := all - binN[b]
		if restN < max(elaMinBin, binN[b]) {
			continue
		}
		covered[b] = true
		restMean[b] = (s.binL[ci*elaToneBins+b] - binL[b]) / float64(restN)
		if math.Abs(restMean[b]-bg) > elaToneShift {
			toneDependent = true
		}
	}
	var sum, n, matchedN float64
	for b := range elaToneBins {
		if binN[b] == 0 {
			continue
		}
		switch {
		case covered[b]:
			sum += float64(binN[b]) * restMean[b]
			matchedN += float64(binN[b])
		case !toneDependent:
			sum += float64(binN[b]) * bg
		default:
			continue
		}
		n += float64(binN[b])
	}
	if n == 0 || (toneDependent && matchedN < elaMinMatched*float64(total(binN))) {
		return 0, false
	}
	return sum / n, true
}

func total(v *[elaToneBins]int64) int64 {
	var t int64
	for _, x := range v {
		t += x
	}
	return t
}

// grow keeps the weak cells connected (8-neighbours) to a strong one.
func grow(strong, weak []bool, w, h int) []bool {
	out := make([]bool, len(strong))
	var stack []int
	for i, s := range strong {
		if s && !out[i] {
			out[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		for yy := max(y-1, 0); yy <= min(y+1, h-1); yy++ {
			for xx := max(x-1, 0); xx <= min(x+1, w-1); xx++ {
				if j := yy*w + xx; (weak[j] || strong[j]) && !out[j] {
					out[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	return out
}

// component is a 4-connected set of flagged cells and its bounding box in cells.
type component struct {
	cells          []int
	x0, y0, x1, y1 int
}

func components(flag []bool, w, h int) []component {
	seen := make([]bool, len(flag))
	var out []component
	var stack []int
	for start := range flag {
		if !flag[start] || seen[start] {
			continue
		}
		comp := component{x0: w, y0: h}
		stack = append(stack[:0], start)
		seen[start] = true
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp.cells = append(comp.cells, i)
			x, y := i%w, i/w
			comp.x0, comp.y0 = min(comp.x0, x), min(comp.y0, y)
			comp.x1, comp.y1 = max(comp.x1, x+1), max(comp.y1, y+1)
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				xx, yy := x+d[0], y+d[1]
				if xx < 0 || yy < 0 || xx >= w || yy >= h {
					continue
				}
				if j := yy*w + xx; flag[j] && !seen[j] {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		out = append(out, comp)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := slices.Clone(v)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// weightedMedian is the value below which half the total weight lies.
func weightedMedian(v, w []float64) float64 {
	idx := make([]int, len(v))
	total := 0.0
	for i := range idx {
		idx[i] = i
		total += w[i]
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	acc := 0.0
	for _, i := range idx {
		acc += w[i]
		if acc >= total/2 {
			return v[i]
		}
	}
	return 0
}
