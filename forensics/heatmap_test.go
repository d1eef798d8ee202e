package forensics

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

func TestRenderHeatmap(t *testing.T) {
	ev, er, le := editCase(t, "bag", synth.Recipe{Quality: 85, Damage: []synth.Kind{synth.Stain}}, 5)
	if !le.Edited() {
		t.Fatal("no region to draw")
	}
	var buf bytes.Buffer
	if err := RenderHeatmap(&buf, er, le); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != er.W || b.Dy() != er.H {
		t.Errorf("size %v, want the raster's %dx%d", b, er.W, er.H)
	}
	// The outline is drawn just outside the first region's box, in magenta.
	r := le.Regions[0]
	sx := float64(b.Dx()) / float64(er.FullW)
	x, y := int(float64(r.X)*sx)-1, int(float64(r.Y+r.H/2)*sx)
	if cr, cg, cb, _ := img.At(max(x, 0), y).RGBA(); cr>>8 != 255 || cg>>8 != 0 || cb>>8 != 255 {
		t.Errorf("pixel left of region %v is %d,%d,%d, want the magenta outline", r, cr>>8, cg>>8, cb>>8)
	}
	// The heat is blended over the paint: some pixel inside the stain turned warm.
	warm := false
	d := ev.Damage[0]
	for py := d.Bounds.Min.Y; py < d.Bounds.Max.Y && !warm; py++ {
		for px := d.Bounds.Min.X; px < d.Bounds.Max.X; px++ {
			cr, _, cb, _ := img.At(px, py).RGBA()
			if cr>>8 > 200 && cb>>8 < 80 {
				warm = true
				break
			}
		}
	}
	if !warm {
		t.Error("no heat colour over the painted stain")
	}
}

func TestHeatmapImageEnlargesSmallEvidence(t *testing.T) {
	er := sceneByName(t, "houses").raster // 256×256
	img := HeatmapImage(er, LocalEditResult{Regions: []Region{{X: 10, Y: 10, W: 50, H: 40}}})
	if img.Rect.Dx() != 512 || img.Rect.Dy() != 512 {
		t.Errorf("size %v, want 512×512", img.Rect)
	}
}

func TestHeatmapImageReducesWorkRasters(t *testing.T) {
	// A 1024-pixel work raster is drawn at 768, regions scaled with it.
	er := testRaster(synth.Resize(sceneByName(t, "bridge").img, 2048, 1284, synth.ScaleBiLinear), workSide)
	img := HeatmapImage(er, LocalEditResult{Regions: []Region{{X: 1000, Y: 600, W: 200, H: 100}}})
	if img.Rect.Dx() != 768 || img.Rect.Dy() != 482 {
		t.Fatalf("size %v, want 768×482", img.Rect)
	}
	// Region x 1000 of 2048 full-resolution pixels lands at 375 of 768; its outline sits
	// just left of it.
	if c := img.RGBAAt(373, 250); c.R != 255 || c.G != 0 || c.B != 255 {
		t.Errorf("pixel at the outline is %v, want magenta", c)
	}
}

func TestRenderHeatmapRejectsEmptyRaster(t *testing.T) {
	if err := RenderHeatmap(&bytes.Buffer{}, &Raster{}, LocalEditResult{}); err == nil {
		t.Error("no error for an empty raster")
	}
	if err := RenderHeatmap(&bytes.Buffer{}, nil, LocalEditResult{}); err == nil {
		t.Error("no error for a nil raster")
	}
}
