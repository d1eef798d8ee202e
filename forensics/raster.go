package forensics

import (
	"image"
	"image/color"
)

// Raster is an image reduced for analysis: planar float32 luma (and optionally chroma),
// already in display orientation, with the scale back to the full-resolution picture.
// Every pixel stage (hashes, matching, alignment, local diffs) works on Rasters so that no
// stage converts or copies the full-resolution decode again.
type Raster struct {
	W, H  int
	Y     []float32 // luma, 0..255, BT.601 weights (0.299 R + 0.587 G + 0.114 B)
	Cb    []float32 // optional chroma, centred on 128; nil when not kept
	Cr    []float32
	Scale float64 // full-resolution pixels per raster pixel along each axis (>= 1)
	FullW int     // oriented full-resolution width
	FullH int     // oriented full-resolution height
}

// NewRaster allocates a w×h raster; withChroma also allocates Cb and Cr.
func NewRaster(w, h int, withChroma bool) *Raster {
	r := &Raster{W: w, H: h, Y: make([]float32, w*h), Scale: 1, FullW: w, FullH: h}
	if withChroma {
		r.Cb = make([]float32, w*h)
		r.Cr = make([]float32, w*h)
	}
	return r
}

// At returns the luma at (x, y).
func (r *Raster) At(x, y int) float32 { return r.Y[y*r.W+x] }

// Transform is one of the eight rotations and mirrorings of the plane (the dihedral group),
// numbered like EXIF orientations: applying Transform(o) to stored pixels of an image with
// EXIF orientation o yields the picture as it should be displayed.
type Transform int

const (
	Identity   Transform = 1
	MirrorH    Transform = 2 // left-right
	Rotate180  Transform = 3
	MirrorV    Transform = 4 // top-bottom
	Transpose  Transform = 5 // mirror along the top-left/bottom-right diagonal
	Rotate90   Transform = 6 // clockwise
	Transverse Transform = 7 // mirror along the top-right/bottom-left diagonal
	Rotate270  Transform = 8 // clockwise (90 counter-clockwise)
)

// AllTransforms lists the dihedral group, identity first.
var AllTransforms = [8]Transform{Identity, MirrorH, Rotate180, MirrorV, Transpose, Rotate90, Transverse, Rotate270}

// String is the transform's name in reports.
func (t Transform) String() string {
	switch t {
	case Identity:
		return "identity"
	case MirrorH:
		return "mirror"
	case Rotate180:
		return "rotate180"
	case MirrorV:
		return "flip"
	case Transpose:
		return "transpose"
	case Rotate90:
		return "rotate90"
	case Transverse:
		return "transverse"
	case Rotate270:
		return "rotate270"
	}
	return "unknown"
}

// SwapsAxes reports whether the transform exchanges width and height.
func (t Transform) SwapsAxes() bool { return t >= Transpose && t <= Rotate270 }

// Inverse returns the transform that undoes t.
func (t Transform) Inverse() Transform {
	switch t {
	case Rotate90:
		return Rotate270
	case Rotate270:
		return Rotate90
	}
	return t
}

// SourceOf maps a destination pixel (x, y) of the transformed w×h image (w, h are the
// source's dimensions) to the source pixel it comes from.
func (t Transform) SourceOf(x, y, w, h int) (sx, sy int) {
	switch t {
	case MirrorH:
		return w - 1 - x, y
	case Rotate180:
		return w - 1 - x, h - 1 - y
	case MirrorV:
		return x, h - 1 - y
	case Transpose:
		return y, x
	case Rotate90:
		return y, h - 1 - x
	case Transverse:
		return w - 1 - y, h - 1 - x
	case Rotate270:
		return w - 1 - y, x
	}
	return x, y
}

// Apply returns the raster transformed by t (a new raster; r is unchanged).
func (r *Raster) Apply(t Transform) *Raster {
	if t == Identity || t < Identity || t > Rotate270 {
		c := *r
		c.Y = append([]float32(nil), r.Y...)
		if r.Cb != nil {
			c.Cb = append([]float32(nil), r.Cb...)
			c.Cr = append([]float32(nil), r.Cr...)
		}
		return &c
	}
	w, h := r.W, r.H
	ow, oh := w, h
	fw, fh := r.FullW, r.FullH
	if t.SwapsAxes() {
		ow, oh = h, w
		fw, fh = fh, fw
	}
	out := NewRaster(ow, oh, r.Cb != nil)
	out.Scale, out.FullW, out.FullH = r.Scale, fw, fh
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := t.SourceOf(x, y, w, h)
			i, j := y*ow+x, sy*w+sx
			out.Y[i] = r.Y[j]
			if r.Cb != nil {
				out.Cb[i], out.Cr[i] = r.Cb[j], r.Cr[j]
			}
		}
	}
	return out
}

// RasterFromImage box-averages img (stored pixels) down so its longer side is at most
// maxSide (never up), then applies the EXIF orientation. It is the generic path; decoders
// may build Rasters straight from their planes, but must give the same values.
func RasterFromImage(img image.Image, orientation int, maxSide int, withChroma bool) *Raster {
	return rasterFromImage(img, orientation, maxSide, withChroma, pathAuto)
}

func rasterFromImage(img image.Image, orientation int, maxSide int, withChroma bool, path rasterPath) *Raster {
	// The body reads decoded planes directly (decode_raster.go): one pass over the source,
	// integer sums for 8-bit planes, cells written straight to their oriented place. It
	// gives the values of the per-pixel definition above (tested against it).
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := rasterSize(w, h, maxSide)
	if w <= 0 || h <= 0 {
		r := NewRaster(ow, oh, withChroma)
		for i := range r.Y {
			r.Y[i] = 255 // an empty picture reads as white paper, like a transparent one
			if withChroma {
				r.Cb[i], r.Cr[i] = 128, 128
			}
		}
		return r
	}
	g := newRasterGrid(w, h, w, h, ow, oh, transformOf(orientation), withChroma, path)
	g.fillImage(img)
	return g.r
}

// ycc converts any colour to BT.601 full-range luma and chroma in 0..255. YCbCr and grey
// colours are already in that space and are returned as they are: converting them to RGB
// first would clamp and round them for nothing.
func ycc(c color.Color) (y, cb, cr float64) {
	switch c := c.(type) {
	case color.YCbCr:
		return float64(c.Y), float64(c.Cb), float64(c.Cr)
	case color.Gray:
		return float64(c.Y), 128, 128
	}
	r16, g16, b16, a16 := c.RGBA()
	return ycc16(r16, g16, b16, a16)
}

// ycc16 is ycc for alpha-premultiplied 16-bit channels.
func ycc16(r16, g16, b16, a16 uint32) (y, cb, cr float64) {
	if a16 == 0 {
		return 255, 128, 128 // transparent reads as white paper, like a viewer's background
	}
	// Composite over white so transparent regions of PNGs do not read as black.
	r := float64(r16) + float64(0xffff-a16)
	g := float64(g16) + float64(0xffff-a16)
	b := float64(b16) + float64(0xffff-a16)
	r, g, b = r/257, g/257, b/257
	y = 0.299*r + 0.587*g + 0.114*b
	cb = 128 - 0.168736*r - 0.331264*g + 0.5*b
	cr = 128 + 0.5*r - 0.418688*g - 0.081312*b
	return y, cb, cr
}
