package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/refundguard/refundguard/forensics"
)

// repeatedFlag collects a flag given several times (--ref a.jpg --ref b.jpg).
type repeatedFlag []string

func (r *repeatedFlag) String() string     { return strings.Join(*r, ",") }
func (r *repeatedFlag) Set(v string) error { *r = append(*r, v); return nil }

// timeFlag parses an RFC 3339 time.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(v string) error {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-11-02T15:04:05+08:00")
	}
	f.t = t
	return nil
}

const analyzeUsage = `usage: refundguard analyze [--ref FILE]... [--placed-at T] [--shipped-at T] [--delivered-at T]
                           [--heatmap DIR] [--json] [--pure-go] [--ela] EVIDENCE...

Analyses each evidence photo against the reference photos (the merchant's catalog or packing
photos). Times are RFC 3339. Exit status: 0 when every file was analysed, 1 when a file could
not be (it still gets an entry with an "error"), 2 on bad usage.

`

func runAnalyze(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, analyzeUsage); fs.PrintDefaults() }
	var refs repeatedFlag
	var placed, shipped, delivered timeFlag
	fs.Var(&refs, "ref", "a reference photo (repeatable)")
	fs.Var(&placed, "placed-at", "when the order was placed")
	fs.Var(&shipped, "shipped-at", "when the order was shipped")
	fs.Var(&delivered, "delivered-at", "when the order was delivered")
	heatmapDir := fs.String("heatmap", "", "write a PNG per evidence with the edited regions outlined into `DIR`")
	asJSON := fs.Bool("json", false, "print one JSON report on stdout")
	pureGo := fs.Bool("pure-go", false, "decode with the pure-Go decoder even where libjpeg-turbo is built in (identical output across builds)")
	ela := fs.Bool("ela", false, "also run error-level analysis on JPEG evidence (ela_anomaly; costs about 2.4 decodes per photo)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, err: err}
	}
	evidence := fs.Args()
	if len(evidence) == 0 {
		fs.Usage()
		return usageError("analyze: name at least one evidence photo")
	}
	if *heatmapDir != "" {
		if err := os.MkdirAll(*heatmapDir, 0o755); err != nil {
			return usageError("analyze: --heatmap: %v", err)
		}
	}

	analyzer := forensics.NewAnalyzer(forensics.AnalyzerOptions{PureGo: *pureGo, ELA: *ela})
	limit := analyzer.MaxBytes()
	references := make([]forensics.Reference, 0, len(refs))
	for _, path := range refs {
		if _, err := os.Stat(path); err != nil {
			return usageError("analyze: --ref %s: %v", path, errors.Unwrap(err))
		}
		path := path
		references = append(references, forensics.Reference{
			Name: path,
			Load: func(context.Context) ([]byte, error) { return readLimited(path, limit) },
		})
	}
	references = forensics.ShareDecodes(references)
	times := forensics.Times{PlacedAt: placed.t, ShippedAt: shipped.t, DeliveredAt: delivered.t}

	report := forensics.Report{Version: forensics.ReportVersion, Evidence: []forensics.EvidenceReport{}}
	failed := 0
	heatmapNames := map[string]int{}
	for _, path := range evidence {
		if err := ctx.Err(); err != nil {
			return err
		}
		var res forensics.Result
		data, err := readLimited(path, limit)
		if err != nil {
			res.Report = forensics.EvidenceReport{File: path, Findings: []forensics.Finding{}, Error: forensics.AsError(err)}
		} else {
			res = analyzer.Analyze(ctx, forensics.Input{Name: path, Data: data}, references, times)
		}
		if res.Report.Error != nil {
			failed++
		}
		if *heatmapDir != "" && res.Heatmap != nil {
			name := heatmapFileName(path, heatmapNames)
			if err := os.WriteFile(filepath.Join(*heatmapDir, name), res.Heatmap, 0o644); err != nil {
				return fmt.Errorf("analyze: writing heatmap: %w", err)
			}
		}
		report.Risk = max(report.Risk, res.Report.Risk)
		report.Evidence = append(report.Evidence, res.Report)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		printReport(stdout, report)
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("analyze: %d of %d files could not be analysed", failed, len(evidence))}
	}
	return nil
}

// readLimited reads a whole file, refusing files over limit bytes without reading them.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &forensics.Error{Code: forensics.ErrCodeIO, Message: err.Error(), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &forensics.Error{Code: forensics.ErrCodeIO, Message: err.Error(), Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &forensics.Error{Code: forensics.ErrCodeTooLarge, Message: fmt.Sprintf("file is larger than the %d-byte limit", limit)}
	}
	return data, nil
}

// heatmapFileName derives "<base>.heatmap.png", numbering repeats so two evidence files
// with the same base name in different folders do not overwrite each other.
func heatmapFileName(path string, seen map[string]int) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	seen[base]++
	if n := seen[base]; n > 1 {
		base = fmt.Sprintf("%s-%d", base, n)
	}
	return base + ".heatmap.png"
}

// printReport is the human-readable form: one block per evidence file.
func printReport(w io.Writer, r forensics.Report) {
	for _, ev := range r.Evidence {
		if ev.Error != nil {
			fmt.Fprintf(w, "%s: error %s: %s\n", ev.File, ev.Error.Code, ev.Error.Message)
			continue
		}
		fmt.Fprintf(w, "%s: %s %d×%d, risk %d\n", ev.File, ev.Format, ev.Width, ev.Height, ev.Risk)
		for _, f := range ev.Findings {
			fmt.Fprintf(w, "  [%s] %s: %s\n", f.Severity, f.Code, f.Message)
			for _, reg := range f.Regions {
				fmt.Fprintf(w, "      region x=%d y=%d w=%d h=%d\n", reg.X, reg.Y, reg.W, reg.H)
			}
		}
		if len(ev.Findings) == 0 {
			fmt.Fprintln(w, "  no findings")
		}
	}
	fmt.Fprintf(w, "overall risk %d\n", r.Risk)
}
