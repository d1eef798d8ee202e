package forensics

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	_ "image/gif" // registered for DecodeConfig until the full decoder lands
	_ "image/jpeg"
	_ "image/png"
)

// AnalyzerOptions configure an Analyzer. Zero values take the defaults.
type AnalyzerOptions struct {
	MaxBytes  int64 // largest file accepted (default 20 MB)
	MaxPixels int64 // largest picture accepted (default 50 MP)
}

// Analyzer runs the forensic pipeline. It is safe for concurrent use.
type Analyzer struct {
	opts AnalyzerOptions
}

// NewAnalyzer returns an Analyzer with opts, defaults filled in.
func NewAnalyzer(opts AnalyzerOptions) *Analyzer {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 20 << 20
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = 50_000_000
	}
	return &Analyzer{opts: opts}
}

// Input is one evidence photo.
type Input struct {
	Name string // shown in the report's "file"
	Data []byte
}

// Reference is a merchant photo evidence is compared with. Hashes, when the caller stored
// them at upload (Fingerprint), let the analyzer skip references that cannot match; Load
// fetches the bytes only when pixels are needed.
type Reference struct {
	Name   string
	Hashes *Hashes
	Load   func(ctx context.Context) ([]byte, error)
}

// Result is the analysis of one evidence photo: its report and, when a localised edit was
// found, a PNG heatmap with the regions outlined for reviewers.
type Result struct {
	Report  EvidenceReport
	Heatmap []byte
}

// Fingerprint is what is computed once when a photo is stored.
type Fingerprint struct {
	SHA256 string
	Format string
	Width  int // after EXIF orientation
	Height int
	Hashes Hashes
}

// Fingerprint validates a photo and computes its identity and hashes. It returns an
// *Error (unsupported_format, corrupt, too_large) for files that cannot be analysed.
//
// Interim: format and dimensions only, until the decoder and hashes land.
func (a *Analyzer) Fingerprint(ctx context.Context, data []byte) (Fingerprint, error) {
	sum := sha256.Sum256(data)
	fp := Fingerprint{SHA256: hex.EncodeToString(sum[:])}
	if int64(len(data)) > a.opts.MaxBytes {
		return fp, newError(ErrCodeTooLarge, nil, "file is %d bytes, the limit is %d", len(data), a.opts.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fp, newError(ErrCodeUnsupportedFormat, err, "not a supported image (JPEG, PNG, WebP or GIF)")
	}
	if int64(cfg.Width)*int64(cfg.Height) > a.opts.MaxPixels {
		return fp, newError(ErrCodeTooLarge, nil, "image is %d×%d pixels, the limit is %d", cfg.Width, cfg.Height, a.opts.MaxPixels)
	}
	fp.Format, fp.Width, fp.Height = format, cfg.Width, cfg.Height
	return fp, ctx.Err()
}

// Analyze analyses one evidence photo against the references. It never fails as a whole:
// a file that cannot be analysed gets Report.Error, like the CLI's per-file entries.
//
// Interim: identity only, until decoding, matching and metadata land.
func (a *Analyzer) Analyze(ctx context.Context, ev Input, refs []Reference, times Times) Result {
	rep := EvidenceReport{File: ev.Name, Findings: []Finding{}}
	fp, err := a.Fingerprint(ctx, ev.Data)
	rep.SHA256 = fp.SHA256
	if err != nil {
		rep.Error = AsError(err)
		return Result{Report: rep}
	}
	rep.Format, rep.Width, rep.Height = fp.Format, fp.Width, fp.Height
	return Result{Report: rep}
}

// MaxBytes is the largest file the analyzer accepts; callers reading files use it to stop early.
func (a *Analyzer) MaxBytes() int64 { return a.opts.MaxBytes }
