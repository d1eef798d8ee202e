package forensics

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"strings"
)

// Error-level analysis (the ela_anomaly finding) asks whether one part of a JPEG was
// compressed differently from the rest. Re-saving a JPEG and looking at the difference — the
// classic ELA picture — mostly shows texture: busy areas change more than flat ones
// whatever their history, which is why ELA images fool people. This implementation makes
// the comparison exact instead:
//
//  1. The file is decoded at full resolution (image/jpeg) and its luma cut into the file's
//     own 8×8 blocks. Each block is transformed (the encoder's DCT) and divided by the
//     file's luminance table: the quotients are the levels the last save wrote.
//  2. Re-saving at quality Q is, per coefficient, rounding to Q's step: the error level.
//     A block that was saved at Q before the last save sits on Q's lattice (its error is
//     ~0); one that was not does not. Rather than thresholding error energies, each level
//     is scored by the log-likelihood ratio of "saved at Q before" against "not"
//     (ela_model.go), which does not grow with texture: flat blocks and saturated ones
//     simply carry little or no evidence.
//  3. Q runs over IJG qualities 20-90 and the table the picture's own level histograms
//     point to (cameras use tables of their own). For each, the picture's typical score is
//     the background; regions whose blocks say the opposite — they lack an earlier save
//     the rest shows (pasted or painted before the last save), or carry one the rest does
//     not (cut from another JPEG) — by robust z ≥ 5, with ≥ 25 nats of evidence spread
//     over ≥ 3 frequencies, are reported.
//
// It costs one image/jpeg decode plus a DCT of the luma and the likelihood sums (about 2.4
// image/jpeg decodes in all on a 12 MP photo: see BenchmarkELA12MP), so Analyzer runs it
// only when AnalyzerOptions.ELA is set. Limits: a
// region pasted off the 8×8 grid from a copy with no earlier save in common, or a picture
// whose last save was coarser than every earlier one, leaves no trace in the levels; and a
// photo resized after the edit has no grid left to read. ELA is weak evidence on its own;
// the finding is medium at most.

// ELAOptions tune ErrorLevelAnalysis. Zero values take the defaults.
type ELAOptions struct {
	Limits Limits // largest file and picture (defaults as Decode)
	// MinEvidence is the log-likelihood ratio (nats) a region needs (default 25): higher
	// finds fewer, surer regions.
	MinEvidence float64
}

// ELAResult is what error-level analysis found in one JPEG.
type ELAResult struct {
	// Skipped says why the file was not analysed ("" when it was): not a JPEG, a colour
	// model without luma, a table that does not fit the pixels, too few blocks.
	Skipped string
	// Width and Height are the displayed size (after EXIF orientation).
	Width, Height int
	// FileQuality is the IJG quality estimate of the file's last save.
	FileQuality int
	// Blocks is how many 8×8 luma blocks were judged (saturated ones are left out).
	Blocks int
	// Regions are the areas compressed differently from the rest, strongest first.
	Regions []ELARegion
}

// ELARegion is one area whose compression history differs from the rest of the picture.
type ELARegion struct {
	Region // displayed pixels (after EXIF orientation)
	// Kind is ELAMissingEarlierSave or ELAExtraEarlierSave.
	Kind string
	// EarlierQuality is the IJG quality of the earlier save in question; 0 when its table
	// was estimated from the picture (a camera's own table).
	EarlierQuality int
	// Evidence is the log-likelihood ratio (nats) of the region against the background,
	// each frequency's share capped; Z its departure from the background in robust
	// standard deviations.
	Evidence float64
	Z        float64
	// Mean and Background are the mean log-likelihood ratio per coefficient of "saved at
	// the earlier quality" in the region and over the whole picture.
	Mean, Background float64
	// Matched is the mean the region would have if its blocks behaved like the rest of
	// the picture's blocks of the same brightness (regions that lack an earlier save).
	Matched      float64
	Coefficients int // levels judged in the region
	Frequencies  int // DCT frequencies that agree
	Confidence   float64
}

// ErrorLevelAnalysis runs error-level analysis on a JPEG. Files that are not JPEGs, or
// JPEGs it cannot judge, come back with Skipped set and no error; errors are *Error
// (corrupt, too_large, canceled), as Decode's.
func ErrorLevelAnalysis(ctx context.Context, data []byte, opts ELAOptions) (*ELAResult, error) {
	return errorLevelAnalysis(ctx, data, opts, nil)
}

// errorLevelAnalysis is ErrorLevelAnalysis with the file's metadata when the caller has
// already read it (fm may be nil: it is read here).
func errorLevelAnalysis(ctx context.Context, data []byte, opts ELAOptions, fm *FileMetadata) (*ELAResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceledError(err)
	}
	if opts.MinEvidence <= 0 {
		opts.MinEvidence = elaDefaultMinEvidence
	}
	lim := opts.Limits.withDefaults()
	if err := lim.checkBytes(len(data)); err != nil {
		return nil, err
	}
	if sniffFormat(data) != "jpeg" {
		return &ELAResult{Skipped: "not a JPEG"}, nil
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, classify("jpeg", err, "cannot read the JPEG header")
	}
	if err := lim.checkPixels(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if err := checkJPEGScans(data); err != nil {
		return nil, err
	}
	orientation := Orientation(data)
	res := &ELAResult{Width: cfg.Width, Height: cfg.Height}
	t := transformOf(orientation)
	if t.SwapsAxes() {
		res.Width, res.Height = cfg.Height, cfg.Width
	}
	if fm == nil {
		fm, _ = ReadMetadata(data)
	}
	if fm == nil || fm.JPEG == nil || fm.JPEG.QuantTables[0] == nil {
		res.Skipped = "no quantisation table"
		return res, nil
	}
	res.FileQuality = fm.JPEG.Quality.Quality

	img, err := jpeg.Decode(&ctxReader{ctx: ctx, r: bytes.NewReader(data)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, canceledError(ctx.Err())
		}
		return nil, classify("jpeg", err, "cannot decode the JPEG image")
	}
	var planes *lumaPlanes
	switch m := img.(type) {
	case *image.YCbCr:
		planes = &lumaPlanes{y: m.Y, ystride: m.YStride, cb: m.Cb, cr: m.Cr, cstride: m.CStride}
		planes.sx, planes.sy = chromaShift(m.SubsampleRatio)
	case *image.Gray:
		planes = &lumaPlanes{y: m.Pix, ystride: m.Stride}
	default:
		res.Skipped = "CMYK JPEG: no luma plane"
		return res, nil
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w < 64 || h < 64 {
		res.Skipped = "too small"
		return res, nil
	}
	planes.setClipBounds(res.FileQuality, w/8, h/8, blockStep(w/8, h/8))
	table, ok := lumaTable(planes, w/8, h/8, fm.JPEG.QuantTables)
	if !ok {
		res.Skipped = "no quantisation table fits the pixels"
		return res, nil
	}
	eb, err := blockLevels(ctx, planes, w, h, table)
	if err != nil {
		return nil, err
	}
	img, planes = nil, nil // the levels are all that is needed from here
	for i, st := range eb.state {
		if st != blockSkipped && eb.start[i+1] > eb.start[i] {
			res.Blocks++
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, canceledError(err)
	}
	found, err := findRegions(ctx, eb, opts.MinEvidence)
	if err != nil {
		return nil, err
	}
	for _, f := range found {
		res.Regions = append(res.Regions, ELARegion{
			Region:         orientRegion(Region{X: f.bx0 * 8, Y: f.by0 * 8, W: (f.bx1 - f.bx0) * 8, H: (f.by1 - f.by0) * 8}, t, w, h),
			Kind:           f.kind,
			EarlierQuality: f.quality,
			Evidence:       f.evidence,
			Z:              f.z,
			Mean:           f.mean,
			Background:     f.background,
			Matched:        f.matched,
			Coefficients:   f.coefficients,
			Frequencies:    f.frequencies,
			Confidence:     elaConfidence(f.evidence, opts.MinEvidence),
		})
	}
	return res, nil
}

// lumaTable picks, among the file's tables, the one the luma's coefficients sit on (table 0
// in every encoder we know, but a file may say otherwise), and refuses when none fits:
// then the decode is not what the levels model assumes. Tables too fine to check (every
// step under 3) are taken as they are.
func lumaTable(p *lumaPlanes, bw, bh int, tables [4]*[64]uint16) (*[64]uint16, bool) {
	best, bestFit := -1, -1.0
	for i, t := range tables {
		if t == nil {
			continue
		}
		fit := lumaTableFit(p, bw, bh, t)
		if math.IsNaN(fit) {
			fit = 1 // nothing to contradict it
		}
		if fit > bestFit {
			best, bestFit = i, fit
		}
	}
	if best < 0 || bestFit < elaMinTableFit {
		return nil, false
	}
	return tables[best], true
}

// orientRegion maps a rectangle of the stored w×h picture to the displayed one.
func orientRegion(r Region, t Transform, w, h int) Region {
	ow, oh := w, h
	if t.SwapsAxes() {
		ow, oh = h, w
	}
	inv := t.Inverse()
	x0, y0 := inv.SourceOf(r.X, r.Y, ow, oh)
	x1, y1 := inv.SourceOf(r.X+r.W-1, r.Y+r.H-1, ow, oh)
	return Region{X: min(x0, x1), Y: min(y0, y1), W: absInt(x1-x0) + 1, H: absInt(y1-y0) + 1}
}

// elaConfidence grows with the evidence beyond the threshold and stays under 0.9: a
// compression inconsistency is never proof of an edit by itself.
func elaConfidence(evidence, minEvidence float64) float64 {
	c := 0.5 + 0.4*(1-math.Exp(-(evidence-minEvidence)/minEvidence))
	return round3(math.Min(math.Max(c, 0.5), 0.9))
}

// ELAFinding is the ela_anomaly finding for the regions found, if any: medium when the
// strongest region is confident (≥ 0.7), low otherwise.
func ELAFinding(r *ELAResult) (Finding, bool) {
	if r == nil || len(r.Regions) == 0 {
		return Finding{}, false
	}
	top := r.Regions[0]
	sev := SeverityLow
	if top.Confidence >= 0.7 {
		sev = SeverityMedium
	}
	regions := make([]Region, len(r.Regions))
	scores := make([]map[string]any, len(r.Regions))
	for i, g := range r.Regions {
		regions[i] = g.Region
		scores[i] = map[string]any{
			"kind": g.Kind, "earlier_quality": g.EarlierQuality, "evidence": round3(g.Evidence),
			"z": round3(g.Z), "mean": round3(g.Mean), "background": round3(g.Background),
			"coefficients": g.Coefficients, "frequencies": g.Frequencies, "confidence": g.Confidence,
		}
	}
	return Finding{
		Code:       CodeELAAnomaly,
		Severity:   sev,
		Confidence: top.Confidence,
		Message:    elaMessage(r),
		Regions:    regions,
		Details: map[string]any{
			"method":        "double-quantisation error levels of 8×8 luma blocks",
			"block_size":    8,
			"file_quality":  r.FileQuality,
			"blocks":        r.Blocks,
			"min_evidence":  elaDefaultMinEvidence,
			"min_z":         elaMinZ,
			"region_scores": scores,
		},
	}, true
}

func elaMessage(r *ELAResult) string {
	top := r.Regions[0]
	earlier := "an earlier save (with the camera's own table)"
	if top.EarlierQuality > 0 {
		earlier = fmt.Sprintf("an earlier save at about quality %d", top.EarlierQuality)
	}
	var what string
	if top.Kind == ELAMissingEarlierSave {
		what = fmt.Sprintf("the picture shows %s before its last save, but this region does not: it was pasted or painted in between", earlier)
	} else {
		what = fmt.Sprintf("this region carries %s that the rest of the picture does not: it may come from another JPEG", earlier)
	}
	n := "1 region is"
	if len(r.Regions) > 1 {
		n = fmt.Sprintf("%d regions are", len(r.Regions))
	}
	return strings.Join([]string{n, "compressed differently from the rest:", what}, " ")
}
