//go:build ignore

// make_spliced derives spliced.jpg the way an editor splice leaves it: a 160×120 patch of
// camera.jpg, saved first at quality 35 (as a picture passed around a chat app would be),
// pasted on the 8×8 grid into catalog.jpg, and the result saved at quality 95. The pasted
// patch carries a coarse earlier save the rest of the picture lacks: what error-level
// analysis (analyze --ela) looks for. Run from this directory: go run make_spliced.go
package main

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"log"
	"os"
)

func decodeFile(name string) image.Image {
	f, err := os.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	return img
}

func main() {
	base := decodeFile("catalog.jpg")
	img := image.NewRGBA(base.Bounds())
	draw.Draw(img, img.Bounds(), base, image.Point{}, draw.Src)

	var coarse bytes.Buffer
	if err := jpeg.Encode(&coarse, decodeFile("camera.jpg"), &jpeg.Options{Quality: 35}); err != nil {
		log.Fatal(err)
	}
	donor, err := jpeg.Decode(&coarse)
	if err != nil {
		log.Fatal(err)
	}
	patch := image.Rect(200, 160, 360, 280)
	draw.Draw(img, patch, donor, image.Pt(240, 176), draw.Src)

	f, err := os.Create("spliced.jpg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
		log.Fatal(err)
	}
}
