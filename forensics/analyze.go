package forensics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// AnalyzerOptions configure an Analyzer. Zero values take the defaults.
type AnalyzerOptions struct {
	MaxBytes  int64 // largest file accepted (default DefaultMaxBytes, 20 MB)
	MaxPixels int64 // largest picture accepted (default DefaultMaxPixels, 50 MP)
	// PureGo skips the libjpeg-turbo backend where it is built in (see Decoder.PureGo).
	PureGo bool
	// ELA runs error-level analysis on JPEG evidence (the ela_anomaly finding). It costs
	// about 2.4 image/jpeg decodes per photo (BenchmarkELA12MP), and catches edits with no reference
	// to compare against: see ela.go for what it can and cannot see.
	ELA bool
	// ReferenceCache, when set, keeps decoded references with a Key between Analyze calls
	// (and analyzers: one cache may serve several, each finding only decodes made under its
	// own limits and backend). Nil: every call decodes its references (once per call, or
	// once per ShareDecodes slice).
	ReferenceCache *ReferenceCache
}

// Analyzer runs the forensic pipeline: decode once, then hashes, metadata, reference
// matching, local edits and the risk that the findings explain. It holds no state between
// calls apart from its optional ReferenceCache, and is safe for concurrent use.
type Analyzer struct {
	decoder Decoder
	ela     bool
	refs    *ReferenceCache
	// refKeySuffix is appended to Reference.Key in the cache: a decode is only reused by
	// analyzers with the same limits and backend choice.
	refKeySuffix string
}

// NewAnalyzer returns an Analyzer with opts, defaults filled in.
func NewAnalyzer(opts AnalyzerOptions) *Analyzer {
	limits := Limits{MaxBytes: opts.MaxBytes, MaxPixels: opts.MaxPixels}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultMaxBytes
	}
	if limits.MaxPixels <= 0 {
		limits.MaxPixels = DefaultMaxPixels
	}
	return &Analyzer{decoder: Decoder{Limits: limits, PureGo: opts.PureGo}, ela: opts.ELA,
		refs: opts.ReferenceCache, refKeySuffix: fmt.Sprintf("\x00%d:%d:%t", limits.MaxBytes, limits.MaxPixels, opts.PureGo)}
}

// MaxBytes is the largest file the analyzer accepts; callers reading files use it to stop early.
func (a *Analyzer) MaxBytes() int64 { return a.decoder.Limits.MaxBytes }

// Input is one evidence photo.
type Input struct {
	Name string // shown in the report's "file"
	Data []byte
}

// Reference is a merchant photo evidence is compared with. Hashes, when the caller stored
// them at upload (Fingerprint), let matching try the likeliest reference first; Load
// fetches the bytes when pixels are needed. References passed through ShareDecodes are
// decoded at most once however many evidence photos are analysed against them; those with
// a Key are also kept in the analyzer's ReferenceCache, if it has one, across calls.
type Reference struct {
	Name   string
	Hashes *Hashes
	Load   func(ctx context.Context) ([]byte, error)
	// Key identifies the bytes Load returns, stably across calls (their hex sha256, say):
	// references with the same Key share one cached decode. Empty: not cached.
	Key string

	memo *referenceMemo
}

// referenceMemo keeps one reference's decode for the analyses that share it.
type referenceMemo struct {
	once sync.Once
	dec  *Decoded
	err  error
}

// ShareDecodes returns refs set up so that every Analyze call given the returned slice
// decodes each reference at most once. Use it when one claim has several evidence photos;
// the decoded rasters live as long as the returned slice.
func ShareDecodes(refs []Reference) []Reference {
	out := make([]Reference, len(refs))
	for i, r := range refs {
		if r.memo == nil {
			r.memo = &referenceMemo{}
		}
		out[i] = r
	}
	return out
}

// Result is the analysis of one evidence photo: its report and, when a localised edit was
// found, a PNG heatmap with the regions outlined for reviewers. Warnings name references
// that could not be used (unreadable or undecodable), which the report does not list.
type Result struct {
	Report   EvidenceReport
	Heatmap  []byte
	Warnings []string
}

// Fingerprint is what is computed once when a photo is stored.
type Fingerprint struct {
	SHA256 string
	Format string
	Width  int // after EXIF orientation
	Height int
	Hashes Hashes
}

// Fingerprint validates a photo by decoding it and computes its identity and hashes, through
// the same path Analyze uses, so stored and query hashes are comparable. It returns an
// *Error (unsupported_format, corrupt, too_large, canceled) for files that cannot be analysed.
func (a *Analyzer) Fingerprint(ctx context.Context, data []byte) (Fingerprint, error) {
	fp := Fingerprint{SHA256: sha256Hex(data)}
	dec, err := a.decoder.Decode(ctx, data)
	if err != nil {
		return fp, err
	}
	fp.Format, fp.Width, fp.Height = dec.Format, dec.Width, dec.Height
	fp.Hashes = ComputeHashes(dec).Report()
	return fp, nil
}

// Analyze analyses one evidence photo against the references. It never fails as a whole:
// a file that cannot be analysed gets Report.Error (with whatever metadata could still be
// read), like the CLI's per-file entries.
func (a *Analyzer) Analyze(ctx context.Context, ev Input, refs []Reference, times Times) Result {
	rep := EvidenceReport{File: ev.Name, SHA256: sha256Hex(ev.Data), Findings: []Finding{}}
	fm, metaErr := ReadMetadata(ev.Data)
	if metaErr == nil {
		rep.Metadata = fm.Report
	}
	dec, err := a.decoder.Decode(ctx, ev.Data)
	if err != nil {
		rep.Error = AsError(err)
		if fm != nil {
			rep.Format = fm.Format
		}
		return Result{Report: rep}
	}
	rep.Format, rep.Width, rep.Height = dec.Format, dec.Width, dec.Height
	hashes := ComputeHashes(dec)
	h := hashes.Report()
	rep.Hashes = &h

	if fm != nil {
		rep.Findings = append(rep.Findings, MetadataFindings(fm, dec.Work, times)...)
	}
	if f, ok := lowQualityFinding(dec, hashes); ok {
		rep.Findings = append(rep.Findings, f)
	}

	res := Result{}
	match, ref, matched, warnings := a.bestReference(ctx, dec, hashes, refs)
	res.Warnings = warnings
	if err := ctx.Err(); err != nil {
		rep.Error = &Error{Code: ErrCodeCanceled, Message: "analysis canceled", Err: err}
		res.Report = rep
		return res
	}
	if matched {
		rep.Findings = append(rep.Findings, ReferenceMatchFinding(ref.name, match))
		edits := LocalEdits(ctx, dec.Work, ref.dec.Work, match)
		if f, ok := LocalEditFinding(ref.name, edits); ok {
			rep.Findings = append(rep.Findings, f)
			if png, err := heatmapPNG(dec.Work, edits); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("heatmap: %v", err))
			} else {
				res.Heatmap = png
			}
		}
	}
	if a.ela && dec.Format == "jpeg" {
		f, ok, err := a.elaFinding(ctx, ev.Data, fm)
		switch {
		case err != nil:
			res.Warnings = append(res.Warnings, fmt.Sprintf("error-level analysis: %v", err))
		case ok:
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.Risk = Risk(rep.Findings)
	res.Report = rep
	return res
}

// elaFinding runs error-level analysis within the analyzer's limits, on the metadata
// Analyze already read (nil when it could not be read).
func (a *Analyzer) elaFinding(ctx context.Context, data []byte, fm *FileMetadata) (Finding, bool, error) {
	r, err := errorLevelAnalysis(ctx, data, ELAOptions{Limits: a.decoder.Limits}, fm)
	if err != nil {
		return Finding{}, false, err
	}
	f, ok := ELAFinding(r)
	return f, ok, nil
}

// decodedReference is a reference whose pixels are at hand.
type decodedReference struct {
	name string
	dec  *Decoded
}

// bestReference matches the evidence against every reference and keeps the most confident
// match. Hash distances only order the attempts: crops, close-ups and rotations defeat
// hashes, so a far hash never rules a reference out.
func (a *Analyzer) bestReference(ctx context.Context, ev *Decoded, evHashes HashSet, refs []Reference) (best Match, bestRef decodedReference, found bool, warnings []string) {
	order := make([]int, len(refs))
	dist := make([]int, len(refs))
	for i, r := range refs {
		order[i] = i
		dist[i] = 257
		if r.Hashes != nil {
			if q, err := ParsePDQHash(r.Hashes.PDQ); err == nil {
				// The reference's hash against the evidence's 8 dihedral variants: a mirrored
				// or rotated copy is as close as an untouched one.
				dist[i], _ = NearestDihedral(evHashes.PDQ.Dihedral, q)
			}
		}
	}
	slices.SortStableFunc(order, func(x, y int) int { return dist[x] - dist[y] })

	for _, i := range order {
		if ctx.Err() != nil {
			return best, bestRef, found, warnings
		}
		r := refs[i]
		dec, err := a.decodeReference(ctx, r)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				warnings = append(warnings, fmt.Sprintf("reference %s could not be used: %v", r.Name, err))
			}
			continue
		}
		m, ok := MatchReference(ctx, ev.Work, dec.Work)
		// Confidence saturates near its cap, so equal confidences are told apart by the
		// correlation the decision was taken on.
		better := m.Confidence > best.Confidence || (m.Confidence == best.Confidence && m.Correlation > best.Correlation)
		if ok && (!found || better) {
			best, bestRef, found = m, decodedReference{name: r.Name, dec: dec}, true
		}
	}
	return best, bestRef, found, warnings
}

// decodeReference loads and decodes a reference within the analyzer's limits: through the
// reference cache when it has a Key, and once per memo when it has one. The *Decoded may be
// shared with other analyses: it is only read.
func (a *Analyzer) decodeReference(ctx context.Context, r Reference) (*Decoded, error) {
	load := func(ctx context.Context) (*Decoded, error) {
		if r.Load == nil {
			return nil, errors.New("no loader")
		}
		data, err := r.Load(ctx)
		if err != nil {
			return nil, err
		}
		return a.decoder.Decode(ctx, data)
	}
	decode := func() (*Decoded, error) {
		if r.Key == "" {
			return load(ctx)
		}
		return a.refs.get(ctx, r.Key+a.refKeySuffix, load)
	}
	if r.memo == nil {
		return decode()
	}
	r.memo.once.Do(func() { r.memo.dec, r.memo.err = decode() })
	return r.memo.dec, r.memo.err
}

// Thresholds for low_quality: below them a photo cannot show damage convincingly.
const (
	minJudgeableSide = 320 // pixels, the shorter side
)

// lowQualityFinding flags photos too small or too flat/blurred to judge. It describes the
// evidence's usefulness, not forgery, so it stays low.
func lowQualityFinding(d *Decoded, hs HashSet) (Finding, bool) {
	short := min(d.Width, d.Height)
	switch {
	case short < minJudgeableSide:
		return Finding{
			Code: CodeLowQuality, Severity: SeverityLow, Confidence: 0.9,
			Message: fmt.Sprintf("the photo is only %d×%d pixels: too small to show damage", d.Width, d.Height),
			Details: map[string]any{"width": d.Width, "height": d.Height, "min_side": minJudgeableSide},
		}, true
	case hs.PDQ.Quality < PDQMinQuality:
		return Finding{
			Code: CodeLowQuality, Severity: SeverityLow, Confidence: 0.6,
			Message: "the photo has little detail (blurred, dark or nearly blank): too little to judge damage",
			Details: map[string]any{"pdq_quality": hs.PDQ.Quality, "min_quality": PDQMinQuality},
		}, true
	}
	return Finding{}, false
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
