//go:build ignore

// derive writes a small copy of each JPEG given: every APPn and COM segment of the original
// (EXIF, XMP, ICC, maker notes: what broke other parsers) in front of the picture re-encoded
// at a quarter of its size (long side at most maxSide). Files that do not decode keep their
// segments in front of a 16×16 grey picture.
//
//	go run derive.go -out DIR [-max 160] FILE...
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", ".", "output directory")
	maxSide := flag.Int("max", 160, "longest side of the re-encoded picture")
	flag.Parse()
	for _, f := range flag.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var small image.Image = image.NewGray(image.Rect(0, 0, 16, 16))
		if img, err := jpeg.Decode(bytes.NewReader(data)); err == nil {
			small = shrink(img, *maxSide)
		} else {
			log.Printf("%s: %v (grey picture instead)", f, err)
			g := small.(*image.Gray)
			for i := range g.Pix {
				g.Pix[i] = 128
			}
		}
		var enc bytes.Buffer
		if err := jpeg.Encode(&enc, small, &jpeg.Options{Quality: 85}); err != nil {
			log.Fatal(err)
		}
		res := append([]byte{0xFF, 0xD8}, segments(data)...)
		res = append(res, enc.Bytes()[2:]...) // Go writes no APP segments: SOI, DQT, SOF...
		if err := os.WriteFile(filepath.Join(*out, filepath.Base(f)), res, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// segments returns the APPn and COM segments before the first scan, verbatim.
func segments(data []byte) []byte {
	var keep []byte
	pos := 2
	for pos+4 <= len(data) && data[pos] == 0xFF {
		m := data[pos+1]
		if m == 0xDA || m == 0xD9 {
			break
		}
		n := int(binary.BigEndian.Uint16(data[pos+2:]))
		end := min(pos+2+n, len(data))
		if (m >= 0xE0 && m <= 0xEF) || m == 0xFE {
			keep = append(keep, data[pos:end]...)
		}
		pos = end
	}
	return keep
}

// shrink box-averages img so its long side is at most maxSide.
func shrink(img image.Image, maxSide int) image.Image {
	b := img.Bounds()
	f := (max(b.Dx(), b.Dy()) + maxSide - 1) / maxSide
	f = max(f, 1)
	w, h := b.Dx()/f, b.Dy()/f
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var r, g, bl uint32
			for dy := range f {
				for dx := range f {
					cr, cg, cb, _ := img.At(b.Min.X+x*f+dx, b.Min.Y+y*f+dy).RGBA()
					r, g, bl = r+cr>>8, g+cg>>8, bl+cb>>8
				}
			}
			n := uint32(f * f)
			out.Set(x, y, color.RGBA{uint8(r / n), uint8(g / n), uint8(bl / n), 255})
		}
	}
	return out
}
