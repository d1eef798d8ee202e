package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden reports in testdata/analyze")

// TestAnalyzeGoldenReport runs the command as a user would on real files: the merchant's
// catalog photo as the reference, the buyer's painted and mirrored copy of it, an old camera
// photo, an AI-labelled picture and a truncated file. The pure-Go decoder keeps the output
// identical with and without libjpeg-turbo.
func TestAnalyzeGoldenReport(t *testing.T) {
	dir := "testdata/analyze"
	heatmaps := t.TempDir()
	args := []string{"--json", "--pure-go", "--heatmap", heatmaps,
		"--ref", filepath.Join(dir, "catalog.jpg"),
		"--placed-at", "2026-10-28T10:00:00+08:00", "--shipped-at", "2026-10-29T10:00:00+08:00",
		"--delivered-at", "2026-11-01T10:00:00+08:00",
		filepath.Join(dir, "painted.jpg"), filepath.Join(dir, "camera.jpg"),
		filepath.Join(dir, "midjourney.png"), filepath.Join(dir, "truncated.jpg")}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"analyze"}, args...), func(string) string { return "" }, &stdout, &stderr)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("exit: %v, want status 1 for the truncated file; stderr: %s", err, stderr.String())
	}

	golden := filepath.Join(dir, "report.golden.json")
	if *updateGolden {
		if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Errorf("report differs from %s (run with -update after checking the change):\n%s", golden, stdout.String())
	}

	var rep forensics.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	codes := func(i int) string {
		var cs []string
		for _, f := range rep.Evidence[i].Findings {
			cs = append(cs, f.Code)
		}
		return strings.Join(cs, ",")
	}
	// What the golden file must keep saying, whatever else changes in it.
	for i, want := range []string{"reference_match", "capture_time_conflict", "ai_generated_label"} {
		if !strings.Contains(codes(i), want) {
			t.Errorf("%s: findings %s lack %s", rep.Evidence[i].File, codes(i), want)
		}
	}
	if !strings.Contains(codes(0), "localized_edit") {
		t.Errorf("painted.jpg: findings %s lack localized_edit", codes(0))
	}
	if e := rep.Evidence[3].Error; e == nil || e.Code != forensics.ErrCodeCorrupt {
		t.Errorf("truncated.jpg: error %+v, want corrupt", e)
	}
	if rep.Risk < 60 {
		t.Errorf("overall risk %d for a painted merchant photo", rep.Risk)
	}

	t.Run("a heatmap is written for the edited photo only", func(t *testing.T) {
		entries, err := os.ReadDir(heatmaps)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "painted.heatmap.png" {
			t.Fatalf("heatmaps: %v", entries)
		}
		f, err := os.Open(filepath.Join(heatmaps, entries[0].Name()))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := png.Decode(f); err != nil {
			t.Fatalf("heatmap is not a PNG: %v", err)
		}
	})
}

func TestAnalyzeUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no evidence", []string{"analyze", "--json"}},
		{"a missing reference", []string{"analyze", "--ref", "testdata/analyze/nope.jpg", "testdata/analyze/painted.jpg"}},
		{"a time that is not RFC 3339", []string{"analyze", "--delivered-at", "yesterday", "testdata/analyze/painted.jpg"}},
		{"an unknown flag", []string{"analyze", "--frobnicate", "testdata/analyze/painted.jpg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("err = %v, want exit status 2", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("bad usage printed a report: %s", stdout.String())
			}
		})
	}
}

func TestHeatmapFileNamesDoNotCollide(t *testing.T) {
	seen := map[string]int{}
	got := []string{heatmapFileName("a/claim.jpg", seen), heatmapFileName("b/claim.png", seen), heatmapFileName("claim", seen)}
	want := []string{"claim.heatmap.png", "claim-2.heatmap.png", "claim-3.heatmap.png"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("name %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestAnalyzeELA: --ela finds the patch pasted from a coarser JPEG into spliced.jpg where it
// was pasted, and nothing on the untouched camera photo or the merchant's photo; without
// --ela there is no ela_anomaly at all.
func TestAnalyzeELA(t *testing.T) {
	dir := "testdata/analyze"
	files := []string{filepath.Join(dir, "spliced.jpg"), filepath.Join(dir, "camera.jpg"), filepath.Join(dir, "catalog.jpg")}
	patch := forensics.Region{X: 200, Y: 160, W: 160, H: 120} // make_spliced.go
	for _, withELA := range []bool{true, false} {
		args := []string{"analyze", "--json", "--pure-go"}
		if withELA {
			args = append(args, "--ela")
		}
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), append(args, files...), func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v; stderr: %s", args, err, stderr.String())
		}
		var rep forensics.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		for i, ev := range rep.Evidence {
			var regions []forensics.Region
			found := false
			for _, f := range ev.Findings {
				if f.Code == forensics.CodeELAAnomaly {
					found = true
					regions = f.Regions
				}
			}
			want := withELA && i == 0
			if found != want {
				t.Errorf("--ela=%v %s: ela_anomaly %v, want %v", withELA, ev.File, found, want)
			}
			if found && !overlapsMost(regions, patch) {
				t.Errorf("%s: regions %+v do not cover the pasted patch %+v", ev.File, regions, patch)
			}
		}
	}
}

// overlapsMost says whether the regions cover at least half of want and stay near it.
func overlapsMost(regions []forensics.Region, want forensics.Region) bool {
	covered := 0
	for _, r := range regions {
		x0, y0 := max(r.X, want.X), max(r.Y, want.Y)
		x1, y1 := min(r.X+r.W, want.X+want.W), min(r.Y+r.H, want.Y+want.H)
		if x1 <= x0 || y1 <= y0 {
			return false // a region off the patch
		}
		covered += (x1 - x0) * (y1 - y0)
	}
	return 2*covered >= want.W*want.H
}
