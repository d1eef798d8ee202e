package forensics

import (
	"bytes"
	"context"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestELANoAnomalyOnHonestPhotos: every JPEG of exif-samples (camera and phone files, the
// Photoshop and GIMP re-saves among them) and every scene gets no ela_anomaly. False alarms
// cost honest buyers their refund.
func TestELANoAnomalyOnHonestPhotos(t *testing.T) {
	var files []string
	for _, root := range []string{filepath.Join(metaTestdata, "exif-samples", "jpg"), filepath.Join("testdata", "scenes")} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(p))
			if !d.IsDir() && (ext == ".jpg" || ext == ".jpeg") && !strings.Contains(p, "/invalid/") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	judged := 0
	for _, p := range files {
		t.Run(strings.TrimPrefix(p, "testdata/"), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ErrorLevelAnalysis(context.Background(), data, ELAOptions{})
			if err != nil {
				t.Skipf("not analysable: %v", err)
			}
			if res.Skipped == "" {
				judged++
			} else {
				t.Logf("skipped: %s", res.Skipped)
			}
			if f, ok := ELAFinding(res); ok {
				t.Errorf("honest photo got %s (%s): %s %+v", f.Code, f.Severity, f.Message, res.Regions)
			}
		})
	}
	if judged < 60 {
		t.Errorf("only %d of %d photos were judged", judged, len(files))
	}
}

// TestAnalyzerELA: with AnalyzerOptions.ELA a splice from a coarse JPEG gets an ela_anomaly
// finding over the pasted area that raises the risk; without it, or on an honest camera
// photo, or on a PNG, there is none.
func TestAnalyzerELA(t *testing.T) {
	scenes := elaScenes(t)
	var spliced elaCase
	for i := range scenes {
		rng := rand.New(rand.NewPCG(elaSeed("analyzer", scenes[i].name), 1))
		c := spliceCase(t, "analyzer", scenes[i].img, scenes[(i+1)%len(scenes)].img, rng, 40, 95, true)
		if res, err := ErrorLevelAnalysis(context.Background(), c.data, ELAOptions{}); err == nil && len(res.Regions) > 0 {
			spliced = c
			break
		}
	}
	if spliced.data == nil {
		t.Fatal("no generated splice was found by ErrorLevelAnalysis")
	}
	camera, err := os.ReadFile(filepath.Join(metaTestdata, "exif-samples", "jpg", "gps", "DSCN0010.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var pngFile bytes.Buffer
	if err := png.Encode(&pngFile, scenes[0].img); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		data    []byte
		ela     bool
		wantELA bool
	}{
		{"splice with ELA", spliced.data, true, true},
		{"splice without ELA", spliced.data, false, false},
		{"camera photo with ELA", camera, true, false},
		{"PNG with ELA", pngFile.Bytes(), true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAnalyzer(AnalyzerOptions{ELA: tc.ela})
			res := a.Analyze(context.Background(), Input{Name: "e.jpg", Data: tc.data}, nil, Times{})
			if res.Report.Error != nil {
				t.Fatalf("analysis failed: %v", res.Report.Error)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			var ela *Finding
			for i, f := range res.Report.Findings {
				if f.Code == CodeELAAnomaly {
					ela = &res.Report.Findings[i]
				}
			}
			if (ela != nil) != tc.wantELA {
				t.Fatalf("ela_anomaly present=%v, want %v (findings %+v)", ela != nil, tc.wantELA, res.Report.Findings)
			}
			if ela == nil {
				return
			}
			if ela.Severity != SeverityLow && ela.Severity != SeverityMedium {
				t.Errorf("severity %s: ELA alone is at most medium", ela.Severity)
			}
			if res.Report.Risk <= 0 {
				t.Errorf("risk %d with an ela_anomaly finding", res.Report.Risk)
			}
			cover, stray := elaCovered(spliced, &ELAResult{Regions: toELARegions(ela.Regions)})
			if cover < 0.5 || stray > 0 {
				t.Errorf("regions %+v cover %.2f of the splice, %d miss it", ela.Regions, cover, stray)
			}
		})
	}
}

func toELARegions(rs []Region) []ELARegion {
	out := make([]ELARegion, len(rs))
	for i, r := range rs {
		out[i] = ELARegion{Region: r}
	}
	return out
}

// FuzzErrorLevelAnalysis: no input panics, and regions stay inside the picture.
//
//	go test -run '^$' -fuzz FuzzErrorLevelAnalysis ./forensics
func FuzzErrorLevelAnalysis(f *testing.F) {
	for _, dir := range []string{"corrupt", "invalid", "orientation"} {
		files, _ := filepath.Glob(filepath.Join("testdata/decode", dir, "*.jpg"))
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ErrorLevelAnalysis(context.Background(), data, ELAOptions{Limits: Limits{MaxPixels: 4_000_000}})
		if err != nil {
			if AsError(err) == nil {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		for _, r := range res.Regions {
			if r.X < 0 || r.Y < 0 || r.W <= 0 || r.H <= 0 || r.X+r.W > res.Width || r.Y+r.H > res.Height {
				t.Fatalf("region %+v outside %dx%d", r.Region, res.Width, res.Height)
			}
		}
	})
}
