package forensics

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/refundguard/refundguard/forensics/internal/synth"
)

// benchPair returns work-sized rasters (long side 1024, as Decode makes them from a 12 MP
// photo) of a reference and an evidence photo derived from it by the given recipe.
func benchPair(b *testing.B, name string, rec synth.Recipe) (ev, ref *Raster) {
	b.Helper()
	s := sceneByName(b, name)
	big := synth.Resize(s.img, 2*s.img.Rect.Dx(), 2*s.img.Rect.Dy(), synth.ScaleCatmullRom)
	refImg, _, err := synth.JPEG(big, 90)
	if err != nil {
		b.Fatal(err)
	}
	e, err := rec.Make(synth.ToRGBA(refImg), rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		b.Fatal(err)
	}
	return testRaster(e.Image, workSide), testRaster(refImg, workSide)
}

func BenchmarkMatchReference(b *testing.B) {
	for _, c := range []struct {
		name string
		rec  synth.Recipe
	}{
		{"resave", synth.Recipe{Quality: 80}},
		{"rotate90+crop", withTransform(synth.Recipe{Crop: [4]float64{0.05, 0.08, 0.93, 0.97}, Quality: 80}, Rotate90)},
		{"closeup", synth.Recipe{Crop: [4]float64{0.3, 0.2, 0.8, 0.7}, Scale: 2, Quality: 80}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev, ref := benchPair(b, "bridge", c.rec)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := MatchReference(context.Background(), ev, ref); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
	b.Run("unrelated", func(b *testing.B) {
		ev, _ := benchPair(b, "gps-0010", synth.Recipe{Quality: 80})
		_, ref := benchPair(b, "gps-0012", synth.Recipe{Quality: 80})
		b.ReportAllocs()
		for b.Loop() {
			MatchReference(context.Background(), ev, ref)
		}
	})
}

func BenchmarkLocalEdits(b *testing.B) {
	ev, ref := benchPair(b, "bridge", synth.Recipe{Quality: 80, Damage: []synth.Kind{synth.Crack, synth.Stain}})
	m, ok := MatchReference(context.Background(), ev, ref)
	if !ok {
		b.Fatal("no match")
	}
	b.ReportAllocs()
	for b.Loop() {
		LocalEdits(context.Background(), ev, ref, m)
	}
}
