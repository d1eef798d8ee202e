package synth

import (
	"image"
	"math/rand/v2"
)

// Recipe is one way a buyer turns a merchant's photo into "evidence", applied in this
// order: dihedral transform, crop, resize, paint damage, canvas, tone change, JPEG re-save.
type Recipe struct {
	// SourceOf and Swap describe the dihedral transform (forensics.Transform.SourceOf and
	// SwapsAxes); a nil SourceOf is the identity.
	SourceOf func(x, y, w, h int) (int, int)
	Swap     bool
	// Crop is the kept part of the transformed photo, as fractions (x0, y0, x1, y1); the
	// zero value keeps everything.
	Crop [4]float64
	// Scale is output pixels per cropped pixel (0 or 1: unchanged).
	Scale  float64
	Scaler Scaler
	Damage []Kind
	// Canvas, when set, puts the photo inside a larger picture (Border, AppScreenshot,
	// Collage).
	Canvas Canvas
	Tone   Tone
	// Quality is the JPEG quality of the re-save.
	Quality int
}

// Evidence is a made evidence photo and its known answers.
type Evidence struct {
	Image image.Image // the decoded JPEG
	JPEG  []byte
	// Crop is the rectangle of the transformed reference the evidence shows, in its pixels.
	Crop image.Rectangle
	// Inset is where that crop lies in the evidence: its whole frame without a Canvas.
	Inset  image.Rectangle
	Damage []Damage // masks in the evidence's pixels
}

// Make applies the recipe to ref.
func (r Recipe) Make(ref *image.RGBA, rng *rand.Rand) (Evidence, error) {
	img := ref
	if r.SourceOf != nil {
		img = Remap(ref, r.Swap, r.SourceOf)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	crop := img.Rect
	if r.Crop != [4]float64{} {
		crop = image.Rect(int(r.Crop[0]*float64(w)+0.5), int(r.Crop[1]*float64(h)+0.5),
			int(r.Crop[2]*float64(w)+0.5), int(r.Crop[3]*float64(h)+0.5)).Intersect(img.Rect)
		img = Crop(img, crop)
	} else {
		img = Crop(img, crop) // a private copy to paint on
	}
	if r.Scale > 0 && r.Scale != 1 {
		nw := max(1, int(float64(crop.Dx())*r.Scale+0.5))
		nh := max(1, int(float64(crop.Dy())*r.Scale+0.5))
		img = Resize(img, nw, nh, r.Scaler)
	}
	ev := Evidence{Crop: crop}
	for _, k := range r.Damage {
		ev.Damage = append(ev.Damage, Paint(img, k, rng))
	}
	ev.Inset = img.Rect
	if r.Canvas != nil {
		canvas, at := r.Canvas(img, rng)
		ev.Inset = img.Rect.Add(at)
		for i, d := range ev.Damage {
			ev.Damage[i] = d.moved(img.Rect.Dx(), canvas.Rect.Dx(), canvas.Rect.Dy(), at)
		}
		img = canvas
	}
	r.Tone.Apply(img)
	q := r.Quality
	if q <= 0 {
		q = 85
	}
	dec, data, err := JPEG(img, q)
	if err != nil {
		return Evidence{}, err
	}
	ev.Image, ev.JPEG = dec, data
	return ev, nil
}
