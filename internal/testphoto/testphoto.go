// Package testphoto makes deterministic stand-ins for phone photos in tests: large enough
// and detailed enough that forensics judges them usable (not low_quality), and different
// enough per seed that no two seeds match each other as the same shot.
package testphoto

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// Default size: above forensics' smallest judgeable side (320 px) with room to spare.
const (
	Width  = 480
	Height = 360
)

// JPEG returns a Width×Height JPEG for seed.
func JPEG(seed int) []byte { return Encode(Image(seed, Width, Height)) }

// Image draws a w×h picture for seed: a few seed-dependent blobs and stripes over
// seed-dependent value noise, so it has the coarse structure and fine detail of a photo.
func Image(seed, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := uint64(seed)*0x9E3779B97F4A7C15 + 1
	next := func() float64 {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return float64(rng>>11) / float64(1<<53)
	}
	// Coarse lattice of random values, interpolated: the scene's layout.
	const cell = 24
	gw, gh := w/cell+2, h/cell+2
	grid := make([]float64, gw*gh*3)
	for i := range grid {
		grid[i] = next()
	}
	fx, fy, phase := 0.02+0.05*next(), 0.02+0.05*next(), 6*next()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			gx, gy := float64(x)/cell, float64(y)/cell
			ix, iy := int(gx), int(gy)
			tx, ty := gx-float64(ix), gy-float64(iy)
			var c [3]float64
			for ch := 0; ch < 3; ch++ {
				at := func(i, j int) float64 { return grid[((j*gw)+i)*3+ch] }
				top := at(ix, iy)*(1-tx) + at(ix+1, iy)*tx
				bot := at(ix, iy+1)*(1-tx) + at(ix+1, iy+1)*tx
				c[ch] = 200*(top*(1-ty)+bot*ty) + 30*math.Sin(fx*float64(x)+fy*float64(y)+phase+float64(ch)) + 25*next()
			}
			img.Set(x, y, color.RGBA{clamp(c[0]), clamp(c[1]), clamp(c[2]), 255})
		}
	}
	return img
}

// Encode writes img as a quality-90 JPEG.
func Encode(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err) // encoding an in-memory RGBA cannot fail
	}
	return buf.Bytes()
}

func clamp(v float64) uint8 { return uint8(max(0, min(255, v))) }
