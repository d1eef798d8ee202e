package forensics

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

func TestMatchReferenceFindsTransformAndCrop(t *testing.T) {
	ref := sceneByName(t, "bridge")
	for _, tr := range AllTransforms {
		for _, c := range []struct {
			name    string
			rec     synth.Recipe
			closeup bool
		}{
			{"whole", synth.Recipe{Quality: 80}, false},
			{"crop", synth.Recipe{Crop: [4]float64{0.07, 0.02, 0.95, 0.9}, Quality: 70}, false},
			{"scaled40", synth.Recipe{Scale: 0.4, Quality: 75}, false},
			{"closeup", synth.Recipe{Crop: [4]float64{0.4, 0.35, 0.92, 0.87}, Scale: 1.6, Scaler: synth.ScaleCatmullRom, Quality: 85}, true},
		} {
			t.Run(tr.String()+"/"+c.name, func(t *testing.T) {
				ev, err := withTransform(c.rec, tr).Make(ref.img, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					t.Fatal(err)
				}
				m, ok := MatchReference(context.Background(), testRaster(ev.Image, workSide), ref.raster)
				if !ok {
					t.Fatalf("not matched (corr %.2f)", m.Correlation)
				}
				if m.Transform != tr {
					t.Errorf("transform %v, want %v", m.Transform, tr)
				}
				want := ev.Crop
				if iou := rectIoU(m.CropX, m.CropY, m.CropW, m.CropH, float64(want.Min.X), float64(want.Min.Y), float64(want.Dx()), float64(want.Dy())); iou < 0.95 {
					t.Errorf("crop %.1f,%.1f %.1fx%.1f, want %v (IoU %.3f)", m.CropX, m.CropY, m.CropW, m.CropH, want, iou)
				}
				desc := m.Description()
				if tr != Identity && !strings.HasPrefix(desc, tr.String()) {
					t.Errorf("description %q does not start with %q", desc, tr)
				}
				if c.closeup != strings.Contains(desc, "closeup") {
					t.Errorf("description %q, close-up %v", desc, c.closeup)
				}
				if m.Distance > 40 {
					t.Errorf("aligned PDQ distance %d, want a near-duplicate's", m.Distance)
				}
				if m.Confidence < 0.6 || m.Confidence > 1 {
					t.Errorf("confidence %.2f", m.Confidence)
				}
			})
		}
	}
}

func TestMatchReferenceRejects(t *testing.T) {
	ctx := context.Background()
	tiny := NewRaster(12, 12, false)
	for _, c := range []struct {
		name    string
		ev, ref *Raster
	}{
		{"similar street scenes", sceneByName(t, "gps-0038").raster, sceneByName(t, "gps-0042").raster},
		{"similar street scenes, other way", sceneByName(t, "gps-0012").raster, sceneByName(t, "gps-0027").raster},
		{"same desk, another shot", sceneByName(t, "desk-1").raster, sceneByName(t, "desk-3").raster},
		{"separate exposures of one scene", sceneByName(t, "hdr-canon-no").raster, sceneByName(t, "hdr-canon-yes").raster},
		{"blank skies", sceneByName(t, "sky-blue").raster, sceneByName(t, "sky-grey").raster},
		{"sky inside a seascape", sceneByName(t, "sky-blue").raster, sceneByName(t, "sea").raster},
		{"tiny evidence", tiny, sceneByName(t, "bridge").raster},
		{"tiny reference", sceneByName(t, "bridge").raster, tiny},
		{"nil evidence", nil, sceneByName(t, "bridge").raster},
		{"nil reference", sceneByName(t, "bridge").raster, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if m, ok := MatchReference(ctx, c.ev, c.ref); ok {
				t.Errorf("matched: %s corr %.2f", m.Description(), m.Correlation)
			}
		})
	}
}

func TestMatchReferenceStopsWhenCanceled(t *testing.T) {
	s := sceneByName(t, "bridge")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := MatchReference(ctx, s.raster, s.raster); ok {
		t.Error("matched under a canceled context")
	}
}

func TestMatchReferenceAnisotropicResize(t *testing.T) {
	// A sloppy resize that changes the aspect ratio by 4% still matches.
	s := sceneByName(t, "cannon")
	big := synth.Resize(s.img, s.img.Rect.Dx()*96/100, s.img.Rect.Dy(), synth.ScaleBiLinear)
	img, _, err := synth.JPEG(big, 85)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := MatchReference(context.Background(), testRaster(img, workSide), s.raster); !ok {
		t.Errorf("not matched (corr %.2f)", m.Correlation)
	}
}

func TestMatchDescription(t *testing.T) {
	full := Match{Transform: Identity, Scale: 1, Gain: 1, Coverage: 1, u0: 0, v0: 0, u1: 1, v1: 1}
	for _, c := range []struct {
		name string
		edit func(*Match)
		want string
	}{
		{"untouched", func(*Match) {}, "identity"},
		{"rotated", func(m *Match) { m.Transform = Rotate90 }, "rotate90"},
		{"cropped", func(m *Match) { m.u0, m.Coverage = 0.05, 0.9 }, "crop"},
		{"close-up", func(m *Match) { m.u0, m.v0, m.u1, m.v1, m.Coverage = 0.2, 0.2, 0.7, 0.7, 0.25 }, "closeup"},
		{"shrunk", func(m *Match) { m.Scale = 0.4 }, "scale"},
		{"brightened", func(m *Match) { m.Offset = 20 }, "tone"},
		{"everything", func(m *Match) {
			m.Transform, m.u0, m.Coverage, m.Scale, m.Gain = MirrorH, 0.1, 0.8, 0.5, 1.3
		}, "mirror+crop+scale+tone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := full
			c.edit(&m)
			if got := m.Description(); got != c.want {
				t.Errorf("Description() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestReferenceMatchFinding(t *testing.T) {
	m := Match{Transform: Rotate270, CropX: 10.4, CropY: 0, CropW: 500, CropH: 380, Scale: 0.5, Gain: 1, Coverage: 0.9,
		Correlation: 0.91, Distance: 14, Confidence: 0.97, u0: 0.03, v0: 0, u1: 0.99, v1: 1}
	f := ReferenceMatchFinding("catalog.jpg", m)
	if f.Code != CodeReferenceMatch || f.Reference != "catalog.jpg" || f.Severity != SeverityHigh {
		t.Errorf("finding %+v", f)
	}
	if f.Distance == nil || *f.Distance != 14 || f.Transform != "rotate270+crop+scale" || f.Confidence != 0.97 {
		t.Errorf("distance/transform/confidence: %v %q %v", f.Distance, f.Transform, f.Confidence)
	}
	if crop, _ := f.Details["crop"].(Region); crop != (Region{X: 10, Y: 0, W: 500, H: 380}) {
		t.Errorf("crop detail %+v", f.Details["crop"])
	}
	m.Confidence = 0.7
	if f := ReferenceMatchFinding("catalog.jpg", m); f.Severity != SeverityMedium {
		t.Errorf("low-confidence severity %v", f.Severity)
	}
}

func TestSampleTransformedAgreesWithApply(t *testing.T) {
	// Sampling the transformed picture through sourceRect must equal transforming the
	// raster first, for every transform, at the pyramid level and directly, over a crop
	// that is not symmetric. (houses is 256×256, so its pyramid levels have even sides
	// and the pyramid of the turned raster is the turned pyramid.)
	s := sceneByName(t, "houses").raster
	pyr := buildPyramid(plane{s.W, s.H, s.Y})
	for _, tr := range AllTransforms {
		t.Run(tr.String(), func(t *testing.T) {
			turned := s.Apply(tr)
			turnedPyr := buildPyramid(plane{turned.W, turned.H, turned.Y})
			for _, size := range [][2]int{{64, 48}, {128, 96}, {200, 150}} {
				r := rect{17, 40, 17 + 128, 40 + 96}
				var got, want plane
				var sc resampleScratch
				sampleTransformed(pyr, tr, r, size[0], size[1], &got, &sc)
				sampleTransformed(turnedPyr, Identity, r, size[0], size[1], &want, &sc)
				for i := range want.p {
					if d := math.Abs(float64(got.p[i] - want.p[i])); d > 1e-3 {
						t.Fatalf("%v: pixel %d: %v, want %v", size, i, got.p[i], want.p[i])
					}
				}
			}
		})
	}
}

func TestResampleRect(t *testing.T) {
	src := newPlane(10, 6)
	for i := range src.p {
		src.p[i] = float32(i % 10) // a horizontal ramp 0..9
	}
	var dst plane
	var sc resampleScratch
	for _, c := range []struct {
		name string
		r    rect
		n, m int
		want []float32 // first row
	}{
		{"identity", rect{0, 0, 10, 6}, 10, 6, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"halve", rect{0, 0, 10, 6}, 5, 3, []float32{0.5, 2.5, 4.5, 6.5, 8.5}},
		{"fractional area", rect{0.5, 0, 3.5, 6}, 2, 1, []float32{2.0 / 3, 7.0 / 3}},
		{"edge replicated", rect{-2, 0, 2, 6}, 2, 1, []float32{0, 0.5}},
		{"upsample interpolates", rect{1, 0, 3, 6}, 4, 1, []float32{0.75, 1.25, 1.75, 2.25}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resampleRect(src, c.r, c.n, c.m, &dst, &sc)
			for i, w := range c.want {
				if math.Abs(float64(dst.p[i]-w)) > 1e-4 {
					t.Fatalf("row %v, want %v", dst.p[:c.n], c.want)
				}
			}
		})
	}
}

func TestDownsample2KeepsGeometry(t *testing.T) {
	// Odd sizes replicate the last column and row, so level pixel i still covers level-0
	// pixels [2i, 2i+2).
	src := newPlane(5, 3)
	for i := range src.p {
		src.p[i] = float32(i%5) * 10
	}
	d := downsample2(src)
	if d.w != 3 || d.h != 2 {
		t.Fatalf("size %dx%d, want 3x2", d.w, d.h)
	}
	want := []float32{5, 25, 40}
	for i, w := range want {
		if d.p[i] != w {
			t.Errorf("pixel %d = %v, want %v", i, d.p[i], w)
		}
	}
}

func TestParabolaPeakAndSolve(t *testing.T) {
	if p := parabolaPeak(1, 2, 1); p != 0 {
		t.Errorf("symmetric peak at %v", p)
	}
	// y = -(x-0.25)^2 sampled at -1, 0, 1.
	f := func(x float64) float64 { return -(x - 0.25) * (x - 0.25) }
	if p := parabolaPeak(f(-1), f(0), f(1)); math.Abs(p-0.25) > 1e-9 {
		t.Errorf("peak at %v, want 0.25", p)
	}
	var A [6][6]float64
	var b [6]float64
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			A[i][j] = 1 / float64(i+j+1) // Hilbert-like but well enough conditioned at n=6
		}
		A[i][i] += 1
	}
	x := [6]float64{1, -2, 3, 0.5, 0, 4}
	for i := 0; i < 6; i++ {
		for j := 0; j < 6; j++ {
			b[i] += A[i][j] * x[j]
		}
	}
	got, ok := solve6(A, b)
	if !ok {
		t.Fatal("singular")
	}
	for i := range x {
		if math.Abs(got[i]-x[i]) > 1e-9 {
			t.Fatalf("solve6 = %v, want %v", got, x)
		}
	}
}

func TestResampleRectWideSteps(t *testing.T) {
	// Steps wider than the tap buffer (a 1000-pixel axis to 3 cells) still average exactly.
	src := newPlane(1000, 2)
	for i := range src.p {
		src.p[i] = float32(i % 1000)
	}
	var dst plane
	var sc resampleScratch
	resampleRect(src, rect{0, 0, 1000, 2}, 4, 1, &dst, &sc)
	for i, want := range []float32{124.5, 374.5, 624.5, 874.5} {
		if math.Abs(float64(dst.p[i]-want)) > 0.01 {
			t.Fatalf("cell %d = %v, want %v", i, dst.p[i], want)
		}
	}
}
