package testphoto

import (
	"context"
	"testing"

	"github.com/refundguard/refundguard/forensics"
)

// The helpers' promises are what other packages' tests rely on: usable photos, and
// different seeds never taken for the same shot.
func TestPhotosAreUsableAndDistinct(t *testing.T) {
	a := forensics.NewAnalyzer(forensics.AnalyzerOptions{})
	ctx := context.Background()
	ref := forensics.Reference{Name: "seed1", Load: func(context.Context) ([]byte, error) { return JPEG(1), nil }}
	for seed := 1; seed <= 4; seed++ {
		res := a.Analyze(ctx, forensics.Input{Name: "p.jpg", Data: JPEG(seed)}, []forensics.Reference{ref}, forensics.Times{})
		if res.Report.Error != nil {
			t.Fatalf("seed %d: %v", seed, res.Report.Error)
		}
		matched := false
		for _, f := range res.Report.Findings {
			if f.Code == forensics.CodeLowQuality {
				t.Errorf("seed %d: judged low quality: %s", seed, f.Message)
			}
			matched = matched || f.Code == forensics.CodeReferenceMatch
		}
		if want := seed == 1; matched != want {
			t.Errorf("seed %d against seed 1: matched=%v, want %v", seed, matched, want)
		}
	}
}
