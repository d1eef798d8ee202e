package synth

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// Kind is a sort of painted damage.
type Kind string

const (
	Crack   Kind = "crack"   // dark, thin, branching random-walk lines
	Stain   Kind = "stain"   // soft-edged coloured blob, sometimes of the same brightness as the surface
	Tear    Kind = "tear"    // jagged light band with a dark shadow edge
	Scratch Kind = "scratch" // thin bright slightly curved lines
)

// Kinds lists every kind of damage.
var Kinds = []Kind{Crack, Stain, Tear, Scratch}

// Damage is what one painting changed.
type Damage struct {
	Kind Kind
	// Mask marks the pixels whose colour changed visibly (by 10 or more in some channel),
	// row-major over the image; Bounds is their bounding box and Pixels their count.
	Mask   []bool
	Bounds image.Rectangle
	Pixels int
}

// Paint paints one damage of the given kind at a random place of img and returns it. Sizes
// scale with the image's short side; colours are picked to contrast with the surface
// under the damage, as a forger wants the damage seen.
func Paint(img *image.RGBA, k Kind, rng *rand.Rand) Damage {
	before := append([]uint8(nil), img.Pix...)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	alpha := make([]float32, w*h)
	s := float64(min(w, h))
	// Keep damage away from the very edge, where a reviewer would not look either.
	cx := float64(w) * (0.15 + 0.7*rng.Float64())
	cy := float64(h) * (0.15 + 0.7*rng.Float64())
	switch k {
	case Crack:
		width := math.Max(1, s*(0.004+0.008*rng.Float64()))
		length := s * (0.25 + 0.3*rng.Float64())
		dir := rng.Float64() * 2 * math.Pi
		pts := randomWalk(cx, cy, dir, length, 10+rng.IntN(8), 0.5, rng)
		strokePolyline(alpha, w, h, pts, width, 0.85+0.15*rng.Float64())
		for b := rng.IntN(3); b > 0; b-- {
			p := pts[1+rng.IntN(len(pts)-2)]
			bpts := randomWalk(p[0], p[1], dir+(rng.Float64()-0.5)*2.5, length*(0.2+0.3*rng.Float64()), 5+rng.IntN(4), 0.6, rng)
			strokePolyline(alpha, w, h, bpts, math.Max(1, width*0.7), 0.8)
		}
		c := color.RGBA{25, 20, 18, 255}
		if meanLuma(img, pts) < 70 {
			c = color.RGBA{200, 195, 185, 255} // a light crack on a dark surface
		}
		blend(img, alpha, func(x, y int) color.RGBA { return c })
	case Stain:
		r := s * (0.05 + 0.08*rng.Float64())
		blob(alpha, w, h, cx, cy, r, 0.45+0.35*rng.Float64(), rng)
		base := meanLuma(img, [][2]float64{{cx, cy}, {cx - r/2, cy}, {cx + r/2, cy}, {cx, cy - r/2}, {cx, cy + r/2}})
		var c color.RGBA
		switch rng.IntN(4) {
		case 0:
			c = color.RGBA{110, 70, 30, 255} // coffee
		case 1:
			c = color.RGBA{150, 75, 35, 255} // rust
		case 2:
			c = color.RGBA{205, 175, 50, 255} // yellow
		default:
			c = sameLumaTint(base, rng) // a colour change the luma hardly sees
		}
		if base < 70 && rng.IntN(2) == 0 {
			c = color.RGBA{210, 200, 170, 255} // dried residue on a dark surface
		}
		blend(img, alpha, func(x, y int) color.RGBA { return c })
	case Tear:
		width := math.Max(2, s*(0.015+0.03*rng.Float64()))
		length := s * (0.2 + 0.25*rng.Float64())
		pts := randomWalk(cx, cy, rng.Float64()*2*math.Pi, length, 12+rng.IntN(10), 1.2, rng)
		shadow := make([]float32, w*h)
		shifted := make([][2]float64, len(pts))
		for i, p := range pts {
			shifted[i] = [2]float64{p[0] + width*0.6, p[1] + width*0.6}
		}
		strokePolyline(shadow, w, h, shifted, width, 0.8)
		blend(img, shadow, func(x, y int) color.RGBA { return color.RGBA{30, 25, 20, 255} })
		clear(alpha)
		strokePolyline(alpha, w, h, pts, width, 0.95)
		blend(img, alpha, func(x, y int) color.RGBA {
			v := uint8(225 + (x*7+y*13)%25)
			return color.RGBA{v, v, v - 10, 255}
		})
	case Scratch:
		n := 1 + rng.IntN(3)
		dir := rng.Float64() * 2 * math.Pi
		for i := 0; i < n; i++ {
			length := s * (0.15 + 0.25*rng.Float64())
			d := dir + (rng.Float64()-0.5)*0.3
			ox, oy := cx+float64(i)*s*0.02*math.Cos(d+math.Pi/2), cy+float64(i)*s*0.02*math.Sin(d+math.Pi/2)
			pts := randomWalk(ox, oy, d, length, 6, 0.08, rng)
			strokePolyline(alpha, w, h, pts, math.Max(1, s*0.003), 0.75+0.2*rng.Float64())
		}
		c := color.RGBA{245, 245, 240, 255}
		if meanLuma(img, [][2]float64{{cx, cy}}) > 200 {
			c = color.RGBA{60, 60, 60, 255} // a scratch through a light coating shows dark
		}
		blend(img, alpha, func(x, y int) color.RGBA { return c })
	}
	d := changedMask(before, img)
	d.Kind = k
	return d
}

// changedMask records which pixels changed by 10 or more in some channel.
func changedMask(before []uint8, img *image.RGBA) Damage {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	d := Damage{Mask: make([]bool, w*h)}
	minX, minY, maxX, maxY := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			diff := 0
			for c := 0; c < 3; c++ {
				diff = max(diff, absInt(int(img.Pix[i+c])-int(before[i+c])))
			}
			if diff >= 10 {
				d.Mask[y*w+x] = true
				d.Pixels++
				minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
			}
		}
	}
	if d.Pixels > 0 {
		d.Bounds = image.Rect(minX, minY, maxX+1, maxY+1)
	}
	return d
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// randomWalk returns a polyline of n steps of total length from (x, y), turning by up to
// ±wiggle radians per step.
func randomWalk(x, y, dir, length float64, n int, wiggle float64, rng *rand.Rand) [][2]float64 {
	pts := [][2]float64{{x, y}}
	step := length / float64(n)
	for i := 0; i < n; i++ {
		dir += (rng.Float64()*2 - 1) * wiggle
		x += step * math.Cos(dir)
		y += step * math.Sin(dir)
		pts = append(pts, [2]float64{x, y})
	}
	return pts
}

// strokePolyline raises alpha to a·coverage along the polyline of the given width, with a
// one-pixel antialiased edge.
func strokePolyline(alpha []float32, w, h int, pts [][2]float64, width, a float64) {
	half := width / 2
	for i := 0; i+1 < len(pts); i++ {
		ax, ay, bx, by := pts[i][0], pts[i][1], pts[i+1][0], pts[i+1][1]
		x0 := max(0, int(math.Floor(math.Min(ax, bx)-half-1)))
		x1 := min(w-1, int(math.Ceil(math.Max(ax, bx)+half+1)))
		y0 := max(0, int(math.Floor(math.Min(ay, by)-half-1)))
		y1 := min(h-1, int(math.Ceil(math.Max(ay, by)+half+1)))
		dx, dy := bx-ax, by-ay
		l2 := dx*dx + dy*dy
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				px, py := float64(x)+0.5-ax, float64(y)+0.5-ay
				t := 0.0
				if l2 > 0 {
					t = math.Max(0, math.Min(1, (px*dx+py*dy)/l2))
				}
				ex, ey := px-t*dx, py-t*dy
				cov := math.Max(0, math.Min(1, half+0.5-math.Hypot(ex, ey)))
				if v := float32(cov * a); v > alpha[y*w+x] {
					alpha[y*w+x] = v
				}
			}
		}
	}
}

// blob raises alpha over an irregular soft-edged disc of radius about r, mottled inside.
func blob(alpha []float32, w, h int, cx, cy, r, a float64, rng *rand.Rand) {
	var amp, phase [4]float64
	for k := range amp {
		amp[k] = 0.05 + 0.12*rng.Float64()
		phase[k] = rng.Float64() * 2 * math.Pi
	}
	reach := r * 1.6
	for y := max(0, int(cy-reach)); y < min(h, int(cy+reach)+1); y++ {
		for x := max(0, int(cx-reach)); x < min(w, int(cx+reach)+1); x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			th := math.Atan2(dy, dx)
			rr := 1.0
			for k := range amp {
				rr += amp[k] * math.Cos(float64(k+2)*th+phase[k])
			}
			d := math.Hypot(dx, dy) / (r * rr)
			if d >= 1 {
				continue
			}
			// Soft edge over the outer quarter; darker rim like a dried ring.
			edge := math.Min(1, (1-d)/0.25)
			rim := 1 + 0.3*math.Exp(-math.Pow((d-0.85)/0.08, 2))
			mottle := 0.85 + 0.15*math.Sin(float64(x)*0.7+math.Sin(float64(y)*0.5)*2)
			v := float32(math.Min(1, a*edge*rim*mottle))
			if v > alpha[y*w+x] {
				alpha[y*w+x] = v
			}
		}
	}
}

// blend paints colour c(x, y) over img with the per-pixel alpha.
func blend(img *image.RGBA, alpha []float32, c func(x, y int) color.RGBA) {
	w := img.Rect.Dx()
	for i, a := range alpha {
		if a > 0 {
			x, y := i%w, i/w
			over(img, x, y, c(x, y), float64(a))
		}
	}
}

// meanLuma averages the luma of img at the given points.
func meanLuma(img *image.RGBA, pts [][2]float64) float64 {
	var s float64
	n := 0
	for _, p := range pts {
		x, y := int(p[0]), int(p[1])
		if !(image.Point{x, y}.In(img.Rect)) {
			continue
		}
		i := img.PixOffset(x, y)
		s += 0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[i+1]) + 0.114*float64(img.Pix[i+2])
		n++
	}
	if n == 0 {
		return 128
	}
	return s / float64(n)
}

// sameLumaTint returns a saturated colour whose luma is about y (a green, magenta, blue or
// orange tint), clipped to what 8 bits can hold.
func sameLumaTint(y float64, rng *rand.Rand) color.RGBA {
	// Chroma offsets (Cb, Cr) of strong tints; luma is then fixed at y.
	tints := [][2]float64{{-40, -45}, {40, 45}, {55, -25}, {-50, 40}}
	t := tints[rng.IntN(len(tints))]
	y = math.Max(60, math.Min(190, y))
	r := y + 1.402*t[1]
	g := y - 0.344136*t[0] - 0.714136*t[1]
	b := y + 1.772*t[0]
	return color.RGBA{clip8(r), clip8(g), clip8(b), 255}
}

// moved returns the damage painted on a picture w pixels wide, pasted at at into one of
// cw×ch pixels.
func (d Damage) moved(w, cw, ch int, at image.Point) Damage {
	out := Damage{Kind: d.Kind, Mask: make([]bool, cw*ch), Bounds: d.Bounds.Add(at), Pixels: d.Pixels}
	for i, on := range d.Mask {
		if on {
			out.Mask[(i/w+at.Y)*cw+i%w+at.X] = true
		}
	}
	return out
}
