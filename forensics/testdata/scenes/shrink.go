// shrink SRC DST MAXSIDE ORIENTATION QUALITY decodes a photo, box-averages it to at most MAXSIDE pixels
// on its long side, applies the EXIF ORIENTATION given (1, 3, 6 or 8) and encodes it as a
// JPEG of QUALITY. It made the copies in this directory (see README.md):
//
//	go run shrink.go SRC DST 512 1 88
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"os"
	"strconv"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	src, _, err := image.Decode(f)
	if err != nil {
		panic(err)
	}
	maxSide, _ := strconv.Atoi(os.Args[3])
	orient, _ := strconv.Atoi(os.Args[4])
	q, _ := strconv.Atoi(os.Args[5])
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	// box-average to fit maxSide
	ow, oh := w, h
	if max(w, h) > maxSide {
		if w >= h {
			ow, oh = maxSide, (h*maxSide+w/2)/w
		} else {
			oh, ow = maxSide, (w*maxSide+h/2)/h
		}
	}
	small := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for oy := 0; oy < oh; oy++ {
		y0, y1 := oy*h/oh, max((oy+1)*h/oh, oy*h/oh+1)
		for ox := 0; ox < ow; ox++ {
			x0, x1 := ox*w/ow, max((ox+1)*w/ow, ox*w/ow+1)
			var sr, sg, sb, n uint64
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					r, g, bb, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
					sr, sg, sb, n = sr+uint64(r), sg+uint64(g), sb+uint64(bb), n+1
				}
			}
			small.Set(ox, oy, color.RGBA64{uint16(sr / n), uint16(sg / n), uint16(sb / n), 0xffff})
		}
	}
	// orientation: 1 none, 3 rotate180, 6 rotate 90 cw, 8 rotate 270 cw
	var out *image.RGBA
	switch orient {
	case 3:
		out = image.NewRGBA(image.Rect(0, 0, ow, oh))
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				out.Set(x, y, small.At(ow-1-x, oh-1-y))
			}
		}
	case 6:
		out = image.NewRGBA(image.Rect(0, 0, oh, ow))
		for y := 0; y < ow; y++ {
			for x := 0; x < oh; x++ {
				out.Set(x, y, small.At(y, oh-1-x))
			}
		}
	case 8:
		out = image.NewRGBA(image.Rect(0, 0, oh, ow))
		for y := 0; y < ow; y++ {
			for x := 0; x < oh; x++ {
				out.Set(x, y, small.At(ow-1-y, x))
			}
		}
	default:
		out = small
	}
	o, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := jpeg.Encode(o, out, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	o.Close()
}
