// Package synth makes evidence photos with known answers for the forensics tests: it applies
// what a fraudulent buyer does to a merchant's photo (rotate, mirror, crop, zoom, resize,
// shift brightness/contrast/saturation, re-save as JPEG) and paints damage (cracks, stains,
// tears, scratches) while recording exactly where the paint went.
//
// Everything is deterministic given the *rand.Rand passed in. The package is test support:
// nothing outside tests imports it.
package synth

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"golang.org/x/image/draw"
)

// ToRGBA copies any image into a fresh *image.RGBA with bounds at the origin.
func ToRGBA(src image.Image) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	return dst
}

// Remap returns the dihedral transform of src described by sourceOf, which has the meaning
// of forensics.Transform.SourceOf (pass that method): given a destination pixel and the
// source's width and height it returns the source pixel. swap says whether the transform
// exchanges width and height. Taking the mapping as a function keeps this package free of
// a dependency on forensics, whose in-package tests import it.
func Remap(src *image.RGBA, swap bool, sourceOf func(x, y, w, h int) (int, int)) *image.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	ow, oh := w, h
	if swap {
		ow, oh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := sourceOf(x, y, w, h)
			copy(dst.Pix[dst.PixOffset(x, y):dst.PixOffset(x, y)+4], src.Pix[src.PixOffset(sx, sy):src.PixOffset(sx, sy)+4])
		}
	}
	return dst
}

// Crop returns a copy of r of src.
func Crop(src *image.RGBA, r image.Rectangle) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(dst, dst.Bounds(), src, r.Min, draw.Src)
	return dst
}

// Scaler names a resampling kernel, as photo apps differ in how they resize.
type Scaler int

const (
	ScaleBiLinear Scaler = iota
	ScaleCatmullRom
	ScaleApprox // nearest-ish bilinear without prefiltering: aliases like cheap apps do
)

// Resize returns src resampled to w×h with the given kernel.
func Resize(src *image.RGBA, w, h int, s Scaler) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	var k draw.Scaler
	switch s {
	case ScaleCatmullRom:
		k = draw.CatmullRom
	case ScaleApprox:
		k = draw.ApproxBiLinear
	default:
		k = draw.BiLinear
	}
	k.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// Tone is a global photometric change, as editors and phone filters apply them.
type Tone struct {
	Brightness float64 // added to every channel, in 0..255 units
	Contrast   float64 // gain about mid-grey (1 = unchanged)
	Saturation float64 // blend with the grey (luma) image: 0 grey, 1 unchanged, >1 more colourful
	Gamma      float64 // exponent on 0..1 values after the above (1 = unchanged)
}

// Apply changes src in place, clipping to 0..255 like any 8-bit editor.
func (t Tone) Apply(img *image.RGBA) {
	if t.Contrast == 0 {
		t.Contrast = 1
	}
	if t.Gamma == 0 {
		t.Gamma = 1
	}
	sat := t.Saturation
	if sat == 0 {
		sat = 1
	}
	var lut [256]uint8
	for i := range lut {
		v := (float64(i)-128)*t.Contrast + 128 + t.Brightness
		v = 255 * math.Pow(math.Max(0, math.Min(255, v))/255, t.Gamma)
		lut[i] = clip8(v)
	}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		r, g, b := float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2])
		if sat != 1 {
			y := 0.299*r + 0.587*g + 0.114*b
			r, g, b = y+(r-y)*sat, y+(g-y)*sat, y+(b-y)*sat
		}
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = lut[clip8(r)], lut[clip8(g)], lut[clip8(b)]
	}
}

func clip8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// JPEG encodes img at quality q and decodes it again, returning both.
func JPEG(img image.Image, q int) (image.Image, []byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, nil, err
	}
	data := buf.Bytes()
	dec, err := jpeg.Decode(bytes.NewReader(data))
	return dec, data, err
}

// Planes returns BT.601 full-range luma and chroma of img as float32 planes (chroma
// centred on 128), reading *image.YCbCr (what image/jpeg returns) directly and anything
// else through its RGB values.
func Planes(img image.Image) (w, h int, y, cb, cr []float32) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	y, cb, cr = make([]float32, w*h), make([]float32, w*h), make([]float32, w*h)
	if yc, ok := img.(*image.YCbCr); ok {
		for j := 0; j < h; j++ {
			for i := 0; i < w; i++ {
				yi := yc.YOffset(b.Min.X+i, b.Min.Y+j)
				ci := yc.COffset(b.Min.X+i, b.Min.Y+j)
				y[j*w+i], cb[j*w+i], cr[j*w+i] = float32(yc.Y[yi]), float32(yc.Cb[ci]), float32(yc.Cr[ci])
			}
		}
		return
	}
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			r16, g16, b16, _ := img.At(b.Min.X+i, b.Min.Y+j).RGBA()
			r, g, bb := float64(r16)/257, float64(g16)/257, float64(b16)/257
			y[j*w+i] = float32(0.299*r + 0.587*g + 0.114*bb)
			cb[j*w+i] = float32(128 - 0.168736*r - 0.331264*g + 0.5*bb)
			cr[j*w+i] = float32(128 + 0.5*r - 0.418688*g - 0.081312*bb)
		}
	}
	return
}

// over blends colour c with alpha a (0..1) onto pixel (x, y) of img.
func over(img *image.RGBA, x, y int, c color.RGBA, a float64) {
	if !(image.Point{x, y}.In(img.Rect)) || a <= 0 {
		return
	}
	i := img.PixOffset(x, y)
	a = math.Min(a, 1)
	img.Pix[i] = uint8(float64(img.Pix[i])*(1-a) + float64(c.R)*a + 0.5)
	img.Pix[i+1] = uint8(float64(img.Pix[i+1])*(1-a) + float64(c.G)*a + 0.5)
	img.Pix[i+2] = uint8(float64(img.Pix[i+2])*(1-a) + float64(c.B)*a + 0.5)
}
