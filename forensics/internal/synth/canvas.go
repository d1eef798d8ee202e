package synth

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
)

// A Canvas puts the (transformed, cropped, resized, painted) photo inside a larger picture,
// as a buyer does who sends a screenshot of the shop app, a collage or a framed copy. It
// returns the picture and where the photo's top-left corner lies in it; the photo is
// pasted unchanged.
type Canvas func(photo *image.RGBA, rng *rand.Rand) (*image.RGBA, image.Point)

// Border frames the photo with a solid colour: each side gets a random 5-30% of the
// photo's extent along that axis.
func Border() Canvas {
	return func(photo *image.RGBA, rng *rand.Rand) (*image.RGBA, image.Point) {
		w, h := photo.Rect.Dx(), photo.Rect.Dy()
		side := func(n int) int { return int(float64(n) * (0.05 + 0.25*rng.Float64())) }
		l, t, r, b := side(w), side(h), side(w), side(h)
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		if rng.IntN(2) == 0 { // white or black, the commonest frames
			v := uint8(255 * rng.IntN(2))
			c = color.RGBA{v, v, v, 255}
		}
		canvas := image.NewRGBA(image.Rect(0, 0, l+w+r, t+h+b))
		draw.Draw(canvas, canvas.Rect, &image.Uniform{c}, image.Point{}, draw.Src)
		at := image.Pt(l, t)
		draw.Draw(canvas, image.Rectangle{at, at.Add(photo.Rect.Size())}, photo, photo.Rect.Min, draw.Src)
		return canvas, at
	}
}

// AppScreenshot is a phone screenshot of a listing: the photo across the screen's width
// (with a small side margin at times), a status and title bar above it and the listing's
// text and buttons below, in flat colours with rows of glyph-like marks.
func AppScreenshot() Canvas {
	return func(photo *image.RGBA, rng *rand.Rand) (*image.RGBA, image.Point) {
		w, h := photo.Rect.Dx(), photo.Rect.Dy()
		margin := 0
		if rng.IntN(3) == 0 {
			margin = int(float64(w) * 0.04 * rng.Float64())
		}
		top := int(float64(h) * (0.1 + 0.12*rng.Float64()))
		bottom := int(float64(h) * (0.2 + 0.3*rng.Float64()))
		cw := w + 2*margin
		canvas := image.NewRGBA(image.Rect(0, 0, cw, top+h+bottom))
		bg := color.RGBA{250, 250, 250, 255}
		ink := color.RGBA{30, 30, 30, 255}
		if rng.IntN(3) == 0 { // dark mode
			bg, ink = color.RGBA{24, 24, 28, 255}, color.RGBA{230, 230, 230, 255}
		}
		bar := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		fill(canvas, canvas.Rect, bg)
		// Status bar and app bar.
		fill(canvas, image.Rect(0, 0, cw, top), bar)
		text(canvas, image.Rect(cw/20, top/8, cw-cw/20, top/4), color.RGBA{255, 255, 255, 255}, rng)
		text(canvas, image.Rect(cw/10, top/2, cw*6/10, top*3/4), color.RGBA{255, 255, 255, 255}, rng)
		// Below: title, price, description lines, a button.
		y := top + h + bottom/12
		line := max(4, bottom/12)
		for i := 0; y+line < top+h+bottom*3/4; i++ {
			width := cw * (5 + rng.IntN(5)) / 10
			c := ink
			if i == 1 {
				c = bar // the price
			}
			text(canvas, image.Rect(cw/20, y, min(cw-cw/20, width), y+line), c, rng)
			y += line * 2
		}
		fill(canvas, image.Rect(cw/20, top+h+bottom*4/5, cw-cw/20, top+h+bottom*19/20), bar)
		text(canvas, image.Rect(cw*3/10, top+h+bottom*83/100, cw*7/10, top+h+bottom*92/100), color.RGBA{255, 255, 255, 255}, rng)
		at := image.Pt(margin, top)
		draw.Draw(canvas, image.Rectangle{at, at.Add(photo.Rect.Size())}, photo, photo.Rect.Min, draw.Src)
		return canvas, at
	}
}

// Collage places the photo in one cell of a cols×rows grid (2×1, 1×2 or 2×2) whose other
// cells hold the others, resized to their cells, with a gutter of 0-2% of the photo's
// width. The photo's column and row take 50-60% of the grid, as collage apps let the
// main picture be larger.
func Collage(others []*image.RGBA, cols, rows int) Canvas {
	return func(photo *image.RGBA, rng *rand.Rand) (*image.RGBA, image.Point) {
		w, h := photo.Rect.Dx(), photo.Rect.Dy()
		gutter := int(float64(w) * 0.02 * rng.Float64())
		// The other column's width and row's height, from the photo's share of the grid.
		share := 0.5 + 0.1*rng.Float64()
		otherW := int(float64(w) * (1 - share) / share)
		otherH := int(float64(h) * (1 - share) / share)
		col, row := rng.IntN(cols), rng.IntN(rows)
		colW := []int{w}
		if cols == 2 {
			colW = []int{w, otherW}
			if col == 1 {
				colW = []int{otherW, w}
			}
		}
		rowH := []int{h}
		if rows == 2 {
			rowH = []int{h, otherH}
			if row == 1 {
				rowH = []int{otherH, h}
			}
		}
		cw, ch := gutter*(cols+1), gutter*(rows+1)
		for _, v := range colW {
			cw += v
		}
		for _, v := range rowH {
			ch += v
		}
		canvas := image.NewRGBA(image.Rect(0, 0, cw, ch))
		fill(canvas, canvas.Rect, color.RGBA{255, 255, 255, 255})
		var at image.Point
		k := 0
		y := gutter
		for j := 0; j < rows; j++ {
			x := gutter
			for i := 0; i < cols; i++ {
				cell := image.Rect(x, y, x+colW[i], y+rowH[j])
				if i == col && j == row {
					at = cell.Min
					draw.Draw(canvas, cell, photo, photo.Rect.Min, draw.Src)
				} else if len(others) > 0 {
					o := Resize(others[k%len(others)], cell.Dx(), cell.Dy(), ScaleBiLinear)
					k++
					draw.Draw(canvas, cell, o, image.Point{}, draw.Src)
				}
				x += colW[i] + gutter
			}
			y += rowH[j] + gutter
		}
		return canvas, at
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// text draws rows of glyph-like marks (small blocks and gaps of random widths) over r.
func text(img *image.RGBA, r image.Rectangle, c color.RGBA, rng *rand.Rand) {
	gh := r.Dy()
	if gh < 2 || r.Dx() < 2 {
		return
	}
	x := r.Min.X
	for x < r.Max.X {
		word := 2 + rng.IntN(7)
		for g := 0; g < word && x < r.Max.X; g++ {
			gw := max(1, gh*(3+rng.IntN(5))/10)
			top := r.Min.Y + rng.IntN(max(1, gh/3))
			fill(img, image.Rect(x, top, min(x+gw, r.Max.X), r.Max.Y), c)
			x += gw + max(1, gh/6)
		}
		x += max(2, gh/2)
	}
}
