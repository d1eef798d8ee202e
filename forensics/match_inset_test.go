package forensics

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

func TestMatchFindsReferenceInsideEvidence(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, scene string
		rec         synth.Recipe
		want        Transform
		desc        string
	}{
		{"app screenshot with a stain", "bridge", synth.Recipe{Canvas: synth.AppScreenshot(), Scale: 0.8, Damage: []synth.Kind{synth.Stain}, Quality: 85}, Identity, "inset+scale"},
		{"rotated, framed, with a crack", "bag", withTransform(synth.Recipe{Canvas: synth.Border(), Damage: []synth.Kind{synth.Crack}, Quality: 80}, Rotate90), Rotate90, "rotate90+inset"},
		{"collage with a tear", "wedding", synth.Recipe{Damage: []synth.Kind{synth.Tear}, Quality: 85}, Identity, "inset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := sceneByName(t, c.scene)
			if c.rec.Canvas == nil {
				c.rec.Canvas = synth.Collage(nil, 2, 2)
			}
			ev, err := c.rec.Make(s.img, rand.New(rand.NewPCG(3, 3)))
			if err != nil {
				t.Fatal(err)
			}
			er := testRaster(ev.Image, workSide)
			if _, ok := MatchReferenceWith(ctx, er, s.raster, MatchOptions{NoInset: true}); ok {
				t.Fatal("matched with NoInset: the evidence is not inside the reference")
			}
			m, ok := MatchReference(ctx, er, s.raster)
			if !ok || !m.Inset || m.Transform != c.want || m.Description() != c.desc {
				t.Fatalf("ok=%v inset=%v %v %q corr %.2f", ok, m.Inset, m.Transform, m.Description(), m.Correlation)
			}
			in := ev.Inset
			if iou := rectIoU(m.InsetX, m.InsetY, m.InsetW, m.InsetH, float64(in.Min.X), float64(in.Min.Y), float64(in.Dx()), float64(in.Dy())); iou < 0.95 {
				t.Errorf("inset %.1f,%.1f %.1f×%.1f, want %v (IoU %.3f)", m.InsetX, m.InsetY, m.InsetW, m.InsetH, in, iou)
			}
			f := ReferenceMatchFinding("catalog.jpg", m)
			if f.Transform != c.desc || f.Details["inset"] == nil || !strings.Contains(f.Message, "inside a larger picture") {
				t.Errorf("finding %+v", f)
			}

			le := LocalEdits(ctx, er, s.raster, m)
			if got := maskCovered(ev.Damage[0], ev.Image.Bounds().Dx(), le.Regions); got < locatedCover {
				t.Errorf("paint at %v covered %.2f by regions %v", ev.Damage[0].Bounds, got, le.Regions)
			}
			for _, r := range le.Regions {
				if r.X < in.Min.X || r.Y < in.Min.Y || r.X+r.W > in.Max.X || r.Y+r.H > in.Max.Y {
					t.Errorf("region %v outside the inset %v", r, in)
				}
			}
			// The heat covers the whole evidence and is zero outside the inset.
			h := le.Heat
			if h.W == 0 || h.H == 0 || len(h.V) != h.W*h.H {
				t.Fatalf("heat %d×%d", h.W, h.H)
			}
			fw, fh := float64(ev.Image.Bounds().Dx()), float64(ev.Image.Bounds().Dy())
			for j := 0; j < h.H; j++ {
				for i := 0; i < h.W; i++ {
					x, y := (float64(i)+0.5)*fw/float64(h.W), (float64(j)+0.5)*fh/float64(h.H)
					outside := x < float64(in.Min.X) || x >= float64(in.Max.X) || y < float64(in.Min.Y) || y >= float64(in.Max.Y)
					if outside && h.V[j*h.W+i] != 0 {
						t.Fatalf("heat %.2f at %.0f,%.0f, outside the inset %v", h.V[j*h.W+i], x, y, in)
					}
				}
			}
			if img := HeatmapImage(er, le); img.Bounds().Empty() {
				t.Error("empty heatmap")
			}
		})
	}
}

func TestAnalyzeReportsAScreenshotOfTheReference(t *testing.T) {
	// The whole pipeline on JPEG bytes: a listing screenshot with a painted stain against
	// the catalogue photo gives reference_match "inset…" and the stain in the screenshot's
	// pixels.
	s := sceneByName(t, "pumpkin")
	_, refData, err := synth.JPEG(s.img, 90)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := synth.Recipe{Canvas: synth.AppScreenshot(), Damage: []synth.Kind{synth.Stain}, Quality: 85}.Make(s.img, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	res := NewAnalyzer(AnalyzerOptions{}).Analyze(context.Background(), Input{Name: "screenshot.jpg", Data: ev.JPEG},
		[]Reference{{Name: "catalog.jpg", Load: func(context.Context) ([]byte, error) { return refData, nil }}}, Times{})
	var match, edit *Finding
	for i, f := range res.Report.Findings {
		switch f.Code {
		case CodeReferenceMatch:
			match = &res.Report.Findings[i]
		case CodeLocalizedEdit:
			edit = &res.Report.Findings[i]
		}
	}
	if match == nil || !strings.Contains(match.Transform, "inset") {
		t.Fatalf("reference_match %+v", match)
	}
	if edit == nil || maskCovered(ev.Damage[0], ev.Image.Bounds().Dx(), edit.Regions) < locatedCover {
		t.Fatalf("localized_edit %+v, paint at %v", edit, ev.Damage[0].Bounds)
	}
	if len(res.Heatmap) == 0 {
		t.Error("no heatmap")
	}
}
