package forensics

import (
	"image"
	"image/color"
)

// Building Rasters straight from decoded planes. Every source row is read once, summed per
// raster cell (integer sums for 8-bit planes, so the result equals the per-pixel reference
// exactly) and the finished cell is written where the EXIF orientation puts it, so neither
// a full-resolution RGBA copy nor a second, rotated raster is ever made.

// rasterSize is the stored (unoriented) size of a raster of a w×h picture whose longer side
// is reduced to at most maxSide, never enlarged.
func rasterSize(w, h, maxSide int) (ow, oh int) {
	scale := 1.0
	if long := max(w, h); maxSide > 0 && long > maxSide {
		scale = float64(long) / float64(maxSide)
	}
	return max(1, int(float64(w)/scale+0.5)), max(1, int(float64(h)/scale+0.5))
}

// transformOf maps an EXIF orientation to the transform that displays the picture.
func transformOf(orientation int) Transform {
	if orientation >= int(Identity) && orientation <= int(Rotate270) {
		return Transform(orientation)
	}
	return Identity
}

// rasterGrid assigns source pixels to raster cells and cells to their oriented position.
// The source may be a reduced decode (libjpeg's DCT scaling) of the full-resolution image:
// srcW×srcH is what rows are fed at, the raster keeps the full-resolution scale.
type rasterGrid struct {
	srcW, srcH int
	ow, oh     int     // stored (unoriented) raster size
	xs, xe     []int32 // per raster column: source columns [xs, xe)
	ys, ye     []int   // per raster row: source rows [ys, ye)
	t          Transform
	r          *Raster
}

// newRasterGrid prepares an ow×oh raster (before orientation) of a fullW×fullH stored
// picture fed at srcW×srcH, displayed with transform t.
func newRasterGrid(fullW, fullH, srcW, srcH, ow, oh int, t Transform, withChroma bool) *rasterGrid {
	g := &rasterGrid{srcW: srcW, srcH: srcH, ow: ow, oh: oh, t: t}
	rw, rh, fw, fh := ow, oh, fullW, fullH
	if t.SwapsAxes() {
		rw, rh, fw, fh = oh, ow, fullH, fullW
	}
	g.r = NewRaster(rw, rh, withChroma)
	g.r.Scale = float64(fullW) / float64(ow)
	g.r.FullW, g.r.FullH = fw, fh
	g.xs, g.xe = make([]int32, ow), make([]int32, ow)
	for ox := range ow {
		x0, x1 := ox*srcW/ow, (ox+1)*srcW/ow
		g.xs[ox], g.xe[ox] = int32(x0), int32(max(x1, x0+1))
	}
	g.ys, g.ye = make([]int, oh), make([]int, oh)
	for oy := range oh {
		y0, y1 := oy*srcH/oh, (oy+1)*srcH/oh
		g.ys[oy], g.ye[oy] = y0, max(y1, y0+1)
	}
	return g
}

// index is where stored cell (ox, oy) lands in the oriented raster.
func (g *rasterGrid) index(ox, oy int) int {
	x, y := g.t.Inverse().SourceOf(ox, oy, g.r.W, g.r.H)
	return y*g.r.W + x
}

// cellArea is the number of source pixels in cell (ox, oy).
func (g *rasterGrid) cellArea(ox, oy int) int {
	return int(g.xe[ox]-g.xs[ox]) * (g.ye[oy] - g.ys[oy])
}

// sumRow adds to acc, per raster column, the sum of one source row's samples. The row
// holds one sample per 1<<shift source columns (subsampled chroma); a sample is counted
// once for every source column it covers, as the per-pixel reference does.
func (g *rasterGrid) sumRow(acc []uint32, row []byte, shift uint) {
	if shift == 0 {
		for ox := range acc {
			var s uint32
			for _, v := range row[g.xs[ox]:g.xe[ox]] {
				s += uint32(v)
			}
			acc[ox] += s
		}
		return
	}
	for ox := range acc {
		x0, x1 := int(g.xs[ox]), int(g.xe[ox])
		c0, c1 := x0>>shift, (x1-1)>>shift
		if c0 == c1 {
			acc[ox] += uint32(row[c0]) * uint32(x1-x0)
			continue
		}
		var mid uint32
		for _, v := range row[c0+1 : c1] {
			mid += uint32(v)
		}
		first := uint32((c0+1)<<shift - x0)
		last := uint32(x1 - c1<<shift)
		acc[ox] += mid<<shift + uint32(row[c0])*first + uint32(row[c1])*last
	}
}

// sumRow3 is sumRow for interleaved 3-sample pixels (libjpeg's YCbCr output).
func (g *rasterGrid) sumRow3(accY, accCb, accCr []uint32, row []byte) {
	for ox := range accY {
		var sy, sb, sr uint32
		px := row[3*int(g.xs[ox]) : 3*int(g.xe[ox])]
		for i := 0; i+2 < len(px); i += 3 {
			sy += uint32(px[i])
			sb += uint32(px[i+1])
			sr += uint32(px[i+2])
		}
		accY[ox] += sy
		accCb[ox] += sb
		accCr[ox] += sr
	}
}

// flush writes raster row oy from integer sums (nil chroma sums write neutral chroma).
func (g *rasterGrid) flush(oy int, accY, accCb, accCr []uint32) {
	r := g.r
	for ox := range accY {
		i := g.index(ox, oy)
		n := float64(g.cellArea(ox, oy))
		r.Y[i] = float32(float64(accY[ox]) / n)
		if r.Cb != nil {
			if accCb == nil {
				r.Cb[i], r.Cr[i] = 128, 128
			} else {
				r.Cb[i] = float32(float64(accCb[ox]) / n)
				r.Cr[i] = float32(float64(accCr[ox]) / n)
			}
		}
	}
	clear(accY)
	clear(accCb)
	clear(accCr)
}

// fillYCbCr builds the raster from a YCbCr image's planes (JPEG, lossy WebP).
func (g *rasterGrid) fillYCbCr(m *image.YCbCr) {
	kx, ky := chromaShift(m.SubsampleRatio)
	accY := make([]uint32, g.ow)
	var accCb, accCr []uint32
	if g.r.Cb != nil {
		accCb, accCr = make([]uint32, g.ow), make([]uint32, g.ow)
	}
	for oy := range g.oh {
		for y := g.ys[oy]; y < g.ye[oy]; y++ {
			g.sumRow(accY, m.Y[y*m.YStride:y*m.YStride+g.srcW], 0)
			if accCb != nil {
				c := (y >> ky) * m.CStride
				cw := (g.srcW-1)>>kx + 1
				g.sumRow(accCb, m.Cb[c:c+cw], kx)
				g.sumRow(accCr, m.Cr[c:c+cw], kx)
			}
		}
		g.flush(oy, accY, accCb, accCr)
	}
}

// chromaShift gives log2 of the horizontal and vertical chroma subsampling.
func chromaShift(s image.YCbCrSubsampleRatio) (kx, ky uint) {
	switch s {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// fillGray builds the raster from a grey plane.
func (g *rasterGrid) fillGray(m *image.Gray) {
	acc := make([]uint32, g.ow)
	for oy := range g.oh {
		for y := g.ys[oy]; y < g.ye[oy]; y++ {
			g.sumRow(acc, m.Pix[y*m.Stride:y*m.Stride+g.srcW], 0)
		}
		g.flush(oy, acc, nil, nil)
	}
}

// fillFloat builds the raster from any image through per-pixel conversion; row fills
// row y's luma and chroma. Used for RGBA-like, palette and exotic images (PNG, GIF,
// lossless WebP, CMYK JPEG) whose colours need compositing or conversion first.
func (g *rasterGrid) fillFloat(row func(y int, ly, lcb, lcr []float64)) {
	ly, lcb, lcr := make([]float64, g.srcW), make([]float64, g.srcW), make([]float64, g.srcW)
	accY, accCb, accCr := make([]float64, g.ow), make([]float64, g.ow), make([]float64, g.ow)
	r := g.r
	for oy := range g.oh {
		for y := g.ys[oy]; y < g.ye[oy]; y++ {
			row(y, ly, lcb, lcr)
			for ox := range accY {
				x0, x1 := g.xs[ox], g.xe[ox]
				var sy, sb, sr float64
				for x := x0; x < x1; x++ {
					sy, sb, sr = sy+ly[x], sb+lcb[x], sr+lcr[x]
				}
				accY[ox], accCb[ox], accCr[ox] = accY[ox]+sy, accCb[ox]+sb, accCr[ox]+sr
			}
		}
		for ox := range accY {
			i := g.index(ox, oy)
			n := float64(g.cellArea(ox, oy))
			r.Y[i] = float32(accY[ox] / n)
			if r.Cb != nil {
				r.Cb[i], r.Cr[i] = float32(accCb[ox]/n), float32(accCr[ox]/n)
			}
		}
		clear(accY)
		clear(accCb)
		clear(accCr)
	}
}

// fillImage dispatches on the image type; img's bounds must be srcW×srcH.
func (g *rasterGrid) fillImage(img image.Image) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		if b.Min == (image.Point{}) {
			g.fillYCbCr(m)
			return
		}
	case *image.Gray:
		g.fillGray(m.SubImage(b).(*image.Gray))
		return
	case *image.NRGBA:
		g.fillFloat(func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ly {
				q := p[4*x : 4*x+4 : 4*x+4]
				a := uint32(q[3])
				ly[x], lcb[x], lcr[x] = ycc16(premul(q[0], a), premul(q[1], a), premul(q[2], a), a|a<<8)
			}
		})
		return
	case *image.RGBA:
		g.fillFloat(func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ly {
				q := p[4*x : 4*x+4 : 4*x+4]
				ly[x], lcb[x], lcr[x] = ycc16(wide(q[0]), wide(q[1]), wide(q[2]), wide(q[3]))
			}
		})
		return
	case *image.Paletted:
		var py, pcb, pcr [256]float64
		for i := range py {
			c := color.Color(color.Transparent) // out-of-palette indices read as transparent, like At
			if i < len(m.Palette) {
				c = m.Palette[i]
			}
			py[i], pcb[i], pcr[i] = ycc(c)
		}
		g.fillFloat(func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range ly {
				ly[x], lcb[x], lcr[x] = py[p[x]], pcb[p[x]], pcr[p[x]]
			}
		})
		return
	}
	g.fillFloat(func(y int, ly, lcb, lcr []float64) {
		for x := range ly {
			ly[x], lcb[x], lcr[x] = ycc(img.At(b.Min.X+x, b.Min.Y+y))
		}
	})
}

// premul is color.NRGBA's premultiplication of one 8-bit channel to 16 bits.
func premul(v uint8, a uint32) uint32 {
	c := uint32(v)
	c |= c << 8
	return c * a / 0xff
}

// wide widens an 8-bit channel to 16 bits as color.RGBA does.
func wide(v uint8) uint32 { return uint32(v) | uint32(v)<<8 }
