//go:build ignore

// make_painted derives painted.jpg from catalog.jpg the way a fraudulent buyer would: a
// dark crack and a brown stain painted on, the picture mirrored, shrunk to 90% and re-saved
// at quality 80. Run from this directory: go run make_painted.go
package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"log"
	"math"
	"os"

	"github.com/disintegration/imaging"
)

func main() {
	src, err := imaging.Open("catalog.jpg")
	if err != nil {
		log.Fatal(err)
	}
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, image.Point{}, draw.Src)
	crack := color.RGBA{25, 20, 18, 255}
	// A crack: a jagged line 3 px wide from (150, 120) down-right for 160 px.
	x, y := 150.0, 120.0
	for i := 0; i < 160; i++ {
		x += 1
		y += 0.6 + 0.8*math.Sin(float64(i)/5)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				img.Set(int(x)+dx, int(y)+dy, crack)
			}
		}
	}
	// A stain: a soft brown disc of radius 30 centred at (360, 260).
	for yy := 220; yy < 300; yy++ {
		for xx := 320; xx < 400; xx++ {
			d := math.Hypot(float64(xx-360), float64(yy-260))
			if d > 30 {
				continue
			}
			a := math.Min(1, (30-d)/8) * 0.8
			c := img.RGBAAt(xx, yy)
			mix := func(v uint8, t float64) uint8 { return uint8(float64(v)*(1-a) + t*a) }
			img.SetRGBA(xx, yy, color.RGBA{mix(c.R, 110), mix(c.G, 70), mix(c.B, 30), 255})
		}
	}
	out := imaging.Resize(imaging.FlipH(img), img.Bounds().Dx()*9/10, 0, imaging.Box)
	f, err := os.Create("painted.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, out, &jpeg.Options{Quality: 80}); err != nil {
		log.Fatal(err)
	}
}
