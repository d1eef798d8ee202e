package forensics

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math"
)

// thumbnail_mismatch: the EXIF thumbnail is written by the camera at capture and most
// editors keep it untouched, so a thumbnail showing another picture (or a region that
// differs) betrays an edit made after capture. Both pictures are box-averaged to a small
// grid and compared after removing the thumbnail's letterbox bars, matching the aspect ratio
// (some cameras crop the thumbnail instead of letterboxing) and fitting brightness and
// contrast (thumbnails are rendered with different tone curves).

const (
	thumbGridLong      = 24      // cells along the longer side of the comparison grid
	maxThumbPixels     = 1 << 18 // 512×512: EXIF thumbnails are 160×120 to 512×384
	thumbMismatchCorr  = 0.5     // below: a different picture
	thumbLocalResidual = 50      // levels (0..255) a cell must differ by, after the fit, to count locally
	thumbLocalSigma    = 8.0     // ... and in units of the typical residual
	thumbLocalMinCells = 3       // honest camera thumbnails show at most one such cell (JPEG noise)
	thumbCropCorr      = 0.95    // a crop of the thumbnail this similar explains a weaker match
	thumbCropTry       = 0.95    // below this whole-picture correlation, look for a crop
	thumbCropMaxArea   = 0.75    // larger "crops" are framing differences (4:3 thumbnails of 3:2 pictures)
	thumbMinStd        = 4.0     // flatter pictures (blank thumbnails) cannot be judged
)

// thumbComparison is the outcome of comparing the thumbnail with the picture.
type thumbComparison struct {
	corr      float64 // Pearson correlation of the two grids under the best transform
	transform Transform
	hotCells  int     // cells differing locally
	maxResid  float64 // largest cell residual, levels
	medResid  float64
	region    Region // bounding box of the hot cells in main-image (display) pixels
	cropped   bool   // the thumbnail's aspect differs from the picture's
}

func thumbnailFinding(fm *FileMetadata, main *Raster) *Finding {
	if main == nil || len(fm.Thumbnail) == 0 || main.W < 8 || main.H < 8 {
		return nil
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(fm.Thumbnail))
	if err != nil || cfg.Width*cfg.Height > maxThumbPixels || cfg.Width < 16 || cfg.Height < 16 {
		return nil // not a JPEG thumbnail we can judge; absence of proof is not a finding
	}
	img, err := jpeg.Decode(bytes.NewReader(fm.Thumbnail))
	if err != nil {
		return nil
	}
	th := RasterFromImage(img, fm.Report.Orientation, 0, false)
	c, ok := compareThumbnail(th, main)
	if !ok {
		return nil
	}
	details := map[string]any{
		"correlation":    roundTo(c.corr, 3),
		"thumbnail_size": fmt.Sprintf("%dx%d", cfg.Width, cfg.Height),
	}
	if c.transform != Identity {
		details["thumbnail_transform"] = c.transform.String()
	}
	// A crop after capture leaves the thumbnail showing more: look for the picture inside
	// it when the two do not match closely.
	if c.corr < thumbCropTry {
		if crop, ok := findCrop(th, main); ok && crop.corr >= c.corr+0.1 {
			details["crop_correlation"] = roundTo(crop.corr, 3)
			details["crop_in_thumbnail"] = crop.region
			return &Finding{
				Code: CodeThumbnailMismatch, Severity: SeverityLow, Confidence: 0.7,
				Message: "the image was cropped after capture: the embedded EXIF thumbnail shows a wider view of the same scene",
				Details: details,
			}
		}
	}
	switch {
	case c.corr < thumbMismatchCorr:
		return &Finding{
			Code: CodeThumbnailMismatch, Severity: SeverityHigh, Confidence: 0.8,
			Message: fmt.Sprintf("the embedded EXIF thumbnail shows a different picture (correlation %.2f): the image was replaced or heavily edited after capture", c.corr),
			Details: details,
		}
	case c.hotCells > 0:
		details["cells"] = c.hotCells
		details["max_difference"] = roundTo(c.maxResid, 1)
		return &Finding{
			Code: CodeThumbnailMismatch, Severity: SeverityMedium, Confidence: 0.6,
			Message: fmt.Sprintf("the embedded EXIF thumbnail differs from the image in one region (%d cells, up to %.0f levels): that part may have been edited after capture", c.hotCells, c.maxResid),
			Regions: []Region{c.region},
			Details: details,
		}
	}
	return nil
}

// compareThumbnail compares a thumbnail (display orientation) with the main raster. ok is
// false when the pictures cannot be judged (too flat).
func compareThumbnail(th, main *Raster) (thumbComparison, bool) {
	th = cropBars(th)
	best := thumbComparison{corr: -2}
	ok := false
	for _, t := range AllTransforms {
		cand := th
		if t != Identity {
			cand = th.Apply(t)
		}
		c, judged := compareOriented(cand, main)
		if !judged {
			continue
		}
		ok = true
		c.transform = t
		// Prefer the stored orientation unless another one is clearly better (writers
		// that rotate the picture but not the thumbnail).
		if c.corr > best.corr+0.05 || (t == Identity && c.corr >= best.corr) {
			best = c
		}
		if t == Identity && c.corr >= 0.9 {
			break
		}
	}
	return best, ok
}

// compareOriented compares grids of the two rasters over the part of the main picture the
// thumbnail covers (the centre crop at the thumbnail's aspect).
func compareOriented(th, main *Raster) (thumbComparison, bool) {
	at := float64(th.W) / float64(th.H)
	am := float64(main.W) / float64(main.H)
	c := thumbComparison{cropped: math.Abs(math.Log(at/am)) > 0.05}
	// The region of the main raster the thumbnail shows.
	mx, my, mw, mh := 0.0, 0.0, float64(main.W), float64(main.H)
	if at > am {
		mh = mw / at
		my = (float64(main.H) - mh) / 2
	} else {
		mw = mh * at
		mx = (float64(main.W) - mw) / 2
	}
	gw, gh := gridSize(at)
	a := gridMeans(th, 0, 0, float64(th.W), float64(th.H), gw, gh)
	b := gridMeans(main, mx, my, mw, mh, gw, gh)
	ma, sa := meanStd(a)
	mb, sb := meanStd(b)
	if sa < thumbMinStd || sb < thumbMinStd {
		return c, false
	}
	c.corr = correlation(a, b, mb, sb)
	// Residuals after fitting the thumbnail's tones to the picture's: b ≈ mb + k·(a-ma).
	k := c.corr * sb / sa
	resid := make([]float64, len(a))
	for i := range a {
		resid[i] = math.Abs(b[i] - (mb + k*(a[i]-ma)))
	}
	sorted := append([]float64(nil), resid...)
	sortFloats(sorted)
	c.medResid = sorted[len(sorted)/2]
	scale := math.Max(c.medResid*1.4826, 2) // robust sigma, floored for very clean pairs
	x0, y0, x1, y1 := gw, gh, -1, -1
	for i, r := range resid {
		c.maxResid = math.Max(c.maxResid, r)
		if r >= thumbLocalResidual && r >= thumbLocalSigma*scale {
			c.hotCells++
			x, y := i%gw, i/gw
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
		}
	}
	// A few scattered hot cells over a large part of the grid are noise or a different
	// rendering; a local edit is compact and small.
	if c.hotCells < thumbLocalMinCells || c.hotCells > len(a)/4 {
		c.hotCells = 0
	}
	if c.hotCells > 0 {
		fx := main.Scale
		cellW, cellH := mw/float64(gw), mh/float64(gh)
		c.region = Region{
			X: int((mx + float64(x0)*cellW) * fx),
			Y: int((my + float64(y0)*cellH) * fx),
			W: int(float64(x1-x0+1) * cellW * fx),
			H: int(float64(y1-y0+1) * cellH * fx),
		}
	}
	return c, true
}

// gridSize is the comparison grid for a picture of the given aspect (width / height).
func gridSize(aspect float64) (gw, gh int) {
	if aspect >= 1 {
		return thumbGridLong, max(4, int(math.Round(thumbGridLong/aspect)))
	}
	return max(4, int(math.Round(thumbGridLong*aspect))), thumbGridLong
}

// gridMeans box-averages the rectangle (x, y, w, h) of r into gw×gh cells.
func gridMeans(r *Raster, x, y, w, h float64, gw, gh int) []float64 {
	out := make([]float64, gw*gh)
	for j := range gh {
		y0 := int(y + float64(j)*h/float64(gh))
		y1 := max(int(y+float64(j+1)*h/float64(gh)), y0+1)
		for i := range gw {
			x0 := int(x + float64(i)*w/float64(gw))
			x1 := max(int(x+float64(i+1)*w/float64(gw)), x0+1)
			var s float64
			n := 0
			for yy := y0; yy < y1 && yy < r.H; yy++ {
				for xx := x0; xx < x1 && xx < r.W; xx++ {
					s += float64(r.Y[yy*r.W+xx])
					n++
				}
			}
			if n > 0 {
				out[j*gw+i] = s / float64(n)
			}
		}
	}
	return out
}

func meanStd(v []float64) (float64, float64) {
	var s, ss float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)))
}

func sortFloats(v []float64) {
	// Insertion sort: the grid has a few hundred cells.
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// cropBars removes uniform dark (or light) letterbox bars that cameras add when the
// thumbnail's 4:3 frame does not fit the picture's aspect.
func cropBars(r *Raster) *Raster {
	isBar := func(vals func(i int) float32, n int) bool {
		var s, ss float64
		for i := range n {
			v := float64(vals(i))
			s += v
			ss += v * v
		}
		m := s / float64(n)
		sd := math.Sqrt(math.Max(ss/float64(n)-m*m, 0))
		return sd < 3 && (m < 24 || m > 240)
	}
	top, bottom, left, right := 0, r.H, 0, r.W
	for top < r.H/3 && isBar(func(i int) float32 { return r.Y[top*r.W+i] }, r.W) {
		top++
	}
	for bottom > r.H*2/3 && isBar(func(i int) float32 { return r.Y[(bottom-1)*r.W+i] }, r.W) {
		bottom--
	}
	for left < r.W/3 && isBar(func(i int) float32 { return r.Y[(top+i)*r.W+left] }, bottom-top) {
		left++
	}
	for right > r.W*2/3 && isBar(func(i int) float32 { return r.Y[(top+i)*r.W+right-1] }, bottom-top) {
		right--
	}
	// Letterbox bars come in symmetric pairs; a dark sky alone is not a bar.
	if metaAbs(top-(r.H-bottom)) > 2 {
		top, bottom = 0, r.H
	}
	if metaAbs(left-(r.W-right)) > 2 {
		left, right = 0, r.W
	}
	if top == 0 && bottom == r.H && left == 0 && right == r.W {
		return r
	}
	out := NewRaster(right-left, bottom-top, false)
	for y := top; y < bottom; y++ {
		copy(out.Y[(y-top)*out.W:], r.Y[y*r.W+left:y*r.W+right])
	}
	return out
}

// cropMatch is where the main picture was found inside the thumbnail.
type cropMatch struct {
	corr   float64
	region Region // in thumbnail pixels (after bar removal)
}

// findCrop looks for the main picture as a sub-rectangle of the thumbnail (the picture was
// cropped after capture and the thumbnail kept). It searches scales from 35% to 95% of the
// thumbnail at the main picture's aspect, on a grid of about 40 positions across, with a summed-area table so
// that each candidate costs a few hundred lookups.
func findCrop(th, main *Raster) (cropMatch, bool) {
	th = cropBars(th)
	am := float64(main.W) / float64(main.H)
	gw, gh := gridSize(am)
	b := gridMeans(main, 0, 0, float64(main.W), float64(main.H), gw, gh)
	mb, sb := meanStd(b)
	if sb < thumbMinStd {
		return cropMatch{}, false
	}
	sat := newSummedArea(th)
	best := cropMatch{corr: -2}
	a := make([]float64, len(b))
	// About 40 positions along the thumbnail's width: a 160 px thumbnail is searched on a
	// 4 px grid, which bounds the worst case (no match anywhere) to a few milliseconds.
	step := math.Max(2, float64(th.W)/40)
	for s := 0.35; s <= 0.851; s += 0.05 {
		w := s * float64(th.W)
		h := w / am
		if h > float64(th.H) {
			h = s * float64(th.H)
			w = h * am
		}
		if w < float64(gw) || h < float64(gh) || w*h > thumbCropMaxArea*float64(th.W*th.H) {
			continue
		}
		for y := 0.0; y+h <= float64(th.H); y += step {
			for x := 0.0; x+w <= float64(th.W); x += step {
				sat.grid(a, x, y, w, h, gw, gh)
				if c := correlation(a, b, mb, sb); c > best.corr {
					best = cropMatch{corr: c, region: Region{X: int(x), Y: int(y), W: int(w), H: int(h)}}
				}
			}
		}
	}
	// Refine around the coarse best: finer scales and single-pixel positions.
	if c := best.region; best.corr > 0.5 {
		for w := float64(c.W) - step; w <= float64(c.W)+step; w++ {
			h := w / am
			if w < float64(gw) || h < float64(gh) || w*h > thumbCropMaxArea*float64(th.W*th.H) {
				continue
			}
			for y := float64(c.Y) - step; y <= float64(c.Y)+step; y++ {
				for x := float64(c.X) - step; x <= float64(c.X)+step; x++ {
					if x < 0 || y < 0 || x+w > float64(th.W) || y+h > float64(th.H) {
						continue
					}
					sat.grid(a, x, y, w, h, gw, gh)
					if cc := correlation(a, b, mb, sb); cc > best.corr {
						best = cropMatch{corr: cc, region: Region{X: int(x), Y: int(y), W: int(w), H: int(h)}}
					}
				}
			}
		}
	}
	return best, best.corr >= thumbCropCorr
}

// correlation is the Pearson correlation of a with b, b's mean and deviation given; 0 when
// a is flat.
func correlation(a, b []float64, mb, sb float64) float64 {
	ma, sa := meanStd(a)
	if sa < thumbMinStd {
		return 0
	}
	var cov float64
	for i := range a {
		cov += (a[i] - ma) * (b[i] - mb)
	}
	return cov / float64(len(a)) / (sa * sb)
}

// summedArea is a summed-area table of a raster's luma.
type summedArea struct {
	w, h int
	s    []float64 // (w+1)×(h+1)
}

func newSummedArea(r *Raster) *summedArea {
	t := &summedArea{w: r.W, h: r.H, s: make([]float64, (r.W+1)*(r.H+1))}
	for y := 0; y < r.H; y++ {
		var row float64
		for x := 0; x < r.W; x++ {
			row += float64(r.Y[y*r.W+x])
			t.s[(y+1)*(r.W+1)+x+1] = t.s[y*(r.W+1)+x+1] + row
		}
	}
	return t
}

// grid fills out with the means of gw×gh cells over the rectangle (x, y, w, h), with cell
// edges rounded to whole pixels.
func (t *summedArea) grid(out []float64, x, y, w, h float64, gw, gh int) {
	for j := range gh {
		y0 := min(int(y+float64(j)*h/float64(gh)), t.h-1)
		y1 := min(max(int(y+float64(j+1)*h/float64(gh)), y0+1), t.h)
		for i := range gw {
			x0 := min(int(x+float64(i)*w/float64(gw)), t.w-1)
			x1 := min(max(int(x+float64(i+1)*w/float64(gw)), x0+1), t.w)
			W := t.w + 1
			sum := t.s[y1*W+x1] - t.s[y0*W+x1] - t.s[y1*W+x0] + t.s[y0*W+x0]
			out[j*gw+i] = sum / float64((x1-x0)*(y1-y0))
		}
	}
}
