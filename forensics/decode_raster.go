package forensics

import (
	"image"
	"image/color"
)

// Building Rasters straight from decoded planes. Every source row is read once and summed
// per raster cell (integer sums for 8-bit planes, so the result is the per-pixel
// reference's to float32 rounding), and finished cells are written where the EXIF
// orientation puts them, so neither a full-resolution RGBA copy nor a second, rotated
// raster is ever made.

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
	path       rasterPath
	r          *Raster
	pend       [3][]float32 // finished stored rows not yet placed (flushRows of each plane; oriented pictures only)
	feedState
}

// newRasterGrid prepares an ow×oh raster (before orientation) of a fullW×fullH stored
// picture fed at srcW×srcH, displayed with transform t.
func newRasterGrid(fullW, fullH, srcW, srcH, ow, oh int, t Transform, withChroma bool, path rasterPath) *rasterGrid {
	g := &rasterGrid{srcW: srcW, srcH: srcH, ow: ow, oh: oh, t: t, path: path}
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

// sumCells adds to acc, per raster column, the sum of one row of per-column sums. col holds
// one value per 1<<shift source columns (subsampled chroma); a value counts once for every
// source column it covers, as the per-pixel reference does. With prefix sums each cell
// costs two lookups whatever its width; pre is scratch of len(col)+1.
func (g *rasterGrid) sumCells(acc, col []uint32, shift uint, pre []uint64) {
	pre = pre[:len(col)+1]
	var s uint64
	pre[0] = 0
	for i, v := range col {
		s += uint64(v)
		pre[i+1] = s
	}
	if shift == 0 {
		for ox := range acc {
			acc[ox] += uint32(pre[g.xe[ox]] - pre[g.xs[ox]])
		}
		return
	}
	mask := 1<<shift - 1
	// upTo is the sum over source columns [0, x).
	upTo := func(x int) uint64 {
		c := x >> shift
		v := pre[c] << shift
		if r := x & mask; r != 0 {
			v += uint64(r) * uint64(col[c])
		}
		return v
	}
	for ox := range acc {
		acc[ox] += uint32(upTo(int(g.xe[ox])) - upTo(int(g.xs[ox])))
	}
}

// addColumns adds a source row to per-column sums, weight times. Summing a raster row's
// source rows column by column first and splitting into cells once per raster row keeps
// the per-pixel work to one add in a loop the compiler keeps tight.
func addColumns(col []uint32, row []byte, weight uint32) {
	col = col[:len(row)]
	if weight == 1 {
		for x, v := range row {
			col[x] += uint32(v)
		}
		return
	}
	for x, v := range row {
		col[x] += uint32(v) * weight
	}
}

// addColumns3 is addColumns for interleaved 3-sample pixels (libjpeg's YCbCr output).
func addColumns3(colY, colCb, colCr []uint32, row []byte) {
	colY, colCb, colCr = colY[:len(row)/3], colCb[:len(row)/3], colCr[:len(row)/3]
	for x := range colY {
		px := row[3*x : 3*x+3 : 3*x+3]
		colY[x] += uint32(px[0])
		colCb[x] += uint32(px[1])
		colCr[x] += uint32(px[2])
	}
}

// flushRows is how many finished stored rows are held before being written to their
// oriented place: for the rotations, a stored row is a column of the raster, and writing 16
// rows at once fills whole cache lines instead of touching one float per line.
const flushRows = 16

// flush finishes raster row oy from its cells' sums (nil chroma sums give neutral chroma)
// and clears the sums.
func flush[T uint32 | float64](g *rasterGrid, oy int, accY, accCb, accCr []T) {
	py, pcb, pcr := g.pendRow(oy)
	rows := float64(g.ye[oy] - g.ys[oy])
	for ox, v := range accY {
		inv := 1 / (rows * float64(g.xe[ox]-g.xs[ox]))
		py[ox] = float32(float64(v) * inv)
		switch {
		case pcb == nil:
		case accCb == nil:
			pcb[ox], pcr[ox] = 128, 128
		default:
			pcb[ox] = float32(float64(accCb[ox]) * inv)
			pcr[ox] = float32(float64(accCr[ox]) * inv)
		}
	}
	clear(accY)
	clear(accCb)
	clear(accCr)
	g.rowDone(oy)
}

// pendRow returns the slots of raster row oy in the pending rows (chroma nil when the
// raster has none), allocating them on first use. Unoriented pictures need no pending
// rows: the slots are the raster's own row.
func (g *rasterGrid) pendRow(oy int) (py, pcb, pcr []float32) {
	if g.t == Identity {
		r, o := g.r, oy*g.ow
		py = r.Y[o : o+g.ow]
		if r.Cb != nil {
			pcb, pcr = r.Cb[o:o+g.ow], r.Cr[o:o+g.ow]
		}
		return py, pcb, pcr
	}
	if g.pend[0] == nil {
		g.pend[0] = make([]float32, flushRows*g.ow)
		if g.r.Cb != nil {
			g.pend[1], g.pend[2] = make([]float32, flushRows*g.ow), make([]float32, flushRows*g.ow)
		}
	}
	k := oy % flushRows
	py = g.pend[0][k*g.ow : (k+1)*g.ow]
	if g.r.Cb != nil {
		pcb, pcr = g.pend[1][k*g.ow:(k+1)*g.ow], g.pend[2][k*g.ow:(k+1)*g.ow]
	}
	return py, pcb, pcr
}

// rowDone places the pending rows once raster row oy, just written, fills them or is the
// last row.
func (g *rasterGrid) rowDone(oy int) {
	if g.t == Identity {
		return // written in place
	}
	if k := oy % flushRows; k == flushRows-1 || oy == g.oh-1 {
		g.place(oy-k, k+1)
	}
}

// rasterPath chooses how a grid fills its cells. Production code always passes
// pathAuto; tests pass pathGeneral to check that the one-pixel-per-cell path gives what
// the general path gives, bit for bit.
type rasterPath uint8

const (
	pathAuto    rasterPath = iota // one pixel per cell where the sizes allow (perPixel)
	pathGeneral                   // always the box-summing path
)

// perPixel reports whether every raster cell is exactly one source pixel (a 12 MP JPEG
// decoded at 1/4, a picture no larger than the raster). Its value is then the sample
// itself: what the general path's sum over one pixel divided by 1 gives, without the
// column and cell sums.
func (g *rasterGrid) perPixel() bool {
	return g.path == pathAuto && g.srcW == g.ow && g.srcH == g.oh
}

// perPixelRow writes a source row straight into raster row oy when cells are single
// pixels: y holds srcW luma samples; cb and cr hold one sample per 1<<kx columns, or are
// nil for neutral chroma.
func (g *rasterGrid) perPixelRow(oy int, y, cb, cr []byte, kx uint) {
	py, pcb, pcr := g.pendRow(oy)
	bytesToFloat(py, y)
	switch {
	case pcb == nil:
	case cb == nil:
		for x := range pcb {
			pcb[x], pcr[x] = 128, 128
		}
	case kx == 0:
		bytesToFloat(pcb, cb)
		bytesToFloat(pcr, cr)
	default:
		for x := range pcb {
			pcb[x], pcr[x] = float32(cb[x>>kx]), float32(cr[x>>kx])
		}
	}
	g.rowDone(oy)
}

// perPixelRow3 is perPixelRow for interleaved 3-sample pixels (libjpeg's YCbCr output).
func (g *rasterGrid) perPixelRow3(oy int, row []byte) {
	py, pcb, pcr := g.pendRow(oy)
	row = row[:3*len(py)]
	if pcb == nil {
		for x := range py {
			py[x] = float32(row[3*x])
		}
	} else {
		pcb, pcr = pcb[:len(py)], pcr[:len(py)]
		for x := range py {
			px := row[3*x : 3*x+3 : 3*x+3]
			py[x], pcb[x], pcr[x] = float32(px[0]), float32(px[1]), float32(px[2])
		}
	}
	g.rowDone(oy)
}

// bytesToFloat converts 8-bit samples to float32.
func bytesToFloat(dst []float32, src []byte) {
	src = src[:len(dst)]
	for x, v := range src {
		dst[x] = float32(v)
	}
}

// place writes n pending stored rows starting at oy0 to their oriented positions. Along a
// stored row the oriented index moves by a constant step dx, and from one stored row to the
// next by dy: one of them is ±1, so either whole rows are copied (orientations 1-4) or each
// stored column becomes a run of n adjacent floats (5-8).
func (g *rasterGrid) place(oy0, n int) {
	i0 := g.index(0, oy0)
	dx, dy := 1, 1
	if g.ow > 1 {
		dx = g.index(1, oy0) - i0
	}
	if n > 1 {
		dy = g.index(0, oy0+1) - i0
	}
	ow := g.ow
	for p, dst := range [3][]float32{g.r.Y, g.r.Cb, g.r.Cr} {
		if dst == nil {
			continue
		}
		src := g.pend[p][:n*ow]
		switch {
		case dx == 1 || dx == -1:
			for k := range n {
				row, start := src[k*ow:(k+1)*ow], i0+k*dy
				if dx == 1 {
					copy(dst[start:start+ow], row)
					continue
				}
				out := dst[start-ow+1 : start+1]
				for x, v := range row {
					out[ow-1-x] = v
				}
			}
		default: // dy is ±1
			for ox := range ow {
				start := i0 + ox*dx
				if dy == 1 {
					out := dst[start : start+n]
					for k := range out {
						out[k] = src[k*ow+ox]
					}
				} else {
					out := dst[start-n+1 : start+1]
					for k := range n {
						out[n-1-k] = src[k*ow+ox]
					}
				}
			}
		}
	}
}

// Feeding: the source picture arrives in horizontal strips, top to bottom (the whole
// image at once from RasterFromImage, one MCU row at a time from the JPEG decoder). Rows
// are summed per column as they come and each raster row is finished when its last source
// row has been added, so a strip may be dropped as soon as feed returns. This needs every
// source row in exactly one raster row: srcH >= oh, which rasterSize and the decoders'
// scale choice guarantee.

// feedState is what a grid carries from one strip to the next.
type feedState struct {
	origin image.Point // the source picture's top-left in strip coordinates
	oy     int         // raster row being summed
	// Integer path (8-bit planes): per-column sums of the current raster row's source
	// rows, per-cell sums, and prefix-sum scratch. Chroma columns are subsampled.
	col, acc [3][]uint32
	pre      []uint64
	// A chroma row serves 1-2 consecutive luma rows; it is added once with their count.
	chromaOff int // offset of the pending chroma row in the current strip's planes (-1: none)
	chromaN   uint32
	// Float path (per-pixel conversion): one source row and the per-cell sums.
	row, accF [3][]float64
}

// fillImage builds the raster from a whole image (RasterFromImage); img's bounds must be
// srcW×srcH.
func (g *rasterGrid) fillImage(img image.Image) {
	g.origin = img.Bounds().Min
	g.feed(img)
}

// feed adds a strip (bounds [x0, x0+srcW) × [y0, y1) in the source picture shifted by
// origin) to the raster.
func (g *rasterGrid) feed(img image.Image) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		if b.Min.X == 0 && g.origin.X == 0 {
			g.feedYCbCr(m)
			return
		}
	case *image.Gray:
		g.feedGray(m)
		return
	case *image.NRGBA:
		g.feedFloat(b, func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range ly {
				q := p[4*x : 4*x+4 : 4*x+4]
				a := uint32(q[3])
				ly[x], lcb[x], lcr[x] = ycc16(premul(q[0], a), premul(q[1], a), premul(q[2], a), a|a<<8)
			}
		})
		return
	case *image.RGBA:
		g.feedFloat(b, func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range ly {
				q := p[4*x : 4*x+4 : 4*x+4]
				ly[x], lcb[x], lcr[x] = ycc16(wide(q[0]), wide(q[1]), wide(q[2]), wide(q[3]))
			}
		})
		return
	case *image.Paletted:
		var py, pcb, pcr [256]float64
		for i := range py {
			// Indices past the palette (At would panic on them) read as transparent.
			c := color.Color(color.Transparent)
			if i < len(m.Palette) && m.Palette[i] != nil {
				c = m.Palette[i]
			}
			py[i], pcb[i], pcr[i] = ycc(c)
		}
		g.feedFloat(b, func(y int, ly, lcb, lcr []float64) {
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range ly {
				ly[x], lcb[x], lcr[x] = py[p[x]], pcb[p[x]], pcr[p[x]]
			}
		})
		return
	}
	g.feedFloat(b, func(y int, ly, lcb, lcr []float64) {
		for x := range ly {
			ly[x], lcb[x], lcr[x] = ycc(img.At(b.Min.X+x, y))
		}
	})
}

// complete reports whether every raster row has been finished.
func (g *rasterGrid) complete() bool { return g.oy == g.oh }

// lastOfRasterRow reports whether source row y (strip coordinates) is the last one of the
// raster row being summed.
func (g *rasterGrid) lastOfRasterRow(y int) bool {
	return g.oy < g.oh && y-g.origin.Y == g.ye[g.oy]-1
}

// intSums allocates the integer path's sums on first use; chroma columns are cw wide
// (0: no chroma).
func (g *rasterGrid) intSums(cw int) {
	if g.col[0] != nil {
		return
	}
	g.col[0], g.acc[0] = make([]uint32, g.srcW), make([]uint32, g.ow)
	if g.r.Cb != nil && cw > 0 {
		g.col[1], g.col[2] = make([]uint32, cw), make([]uint32, cw)
		g.acc[1], g.acc[2] = make([]uint32, g.ow), make([]uint32, g.ow)
	}
	g.pre = make([]uint64, g.srcW+1)
	g.chromaOff = -1
}

// finishRow turns the column sums into cell sums (chroma columns cover 1<<kx source
// columns; no chroma sums give neutral chroma), clears them and finishes the raster row.
func (g *rasterGrid) finishRow(chroma bool, kx uint) {
	g.sumCells(g.acc[0], g.col[0], 0, g.pre)
	clear(g.col[0])
	if !chroma {
		flush(g, g.oy, g.acc[0], nil, nil)
	} else {
		for p := 1; p <= 2; p++ {
			g.sumCells(g.acc[p], g.col[p], kx, g.pre)
			clear(g.col[p])
		}
		flush(g, g.oy, g.acc[0], g.acc[1], g.acc[2])
	}
	g.oy++
}

// feedYCbCr adds a strip of YCbCr planes (left edge at x = 0) with integer sums.
func (g *rasterGrid) feedYCbCr(m *image.YCbCr) {
	kx, _ := chromaShift(m.SubsampleRatio) // each luma row's chroma row comes from COffset
	cw := (g.srcW-1)>>kx + 1
	if g.perPixel() {
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y && g.oy < g.oh; y++ {
			yo, c := m.YOffset(0, y), m.COffset(0, y)
			g.perPixelRow(g.oy, m.Y[yo:yo+g.srcW], m.Cb[c:c+cw], m.Cr[c:c+cw], kx)
			g.oy++
		}
		return
	}
	g.intSums(cw)
	chroma := g.r.Cb != nil
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y && g.oy < g.oh; y++ {
		yo := m.YOffset(0, y)
		addColumns(g.col[0], m.Y[yo:yo+g.srcW], 1)
		if chroma {
			if c := m.COffset(0, y); c != g.chromaOff {
				g.addChroma(m, cw)
				g.chromaOff = c
			}
			g.chromaN++
		}
		if g.lastOfRasterRow(y) {
			if chroma {
				g.addChroma(m, cw)
			}
			g.finishRow(chroma, kx)
		}
	}
	// The next strip reuses the decoder's buffers: nothing may point into this one.
	if chroma {
		g.addChroma(m, cw)
	}
	g.chromaOff = -1
}

// addChroma adds the pending chroma row, once per luma row it served (as the per-pixel
// reference counts it).
func (g *rasterGrid) addChroma(m *image.YCbCr, cw int) {
	if g.chromaN == 0 {
		return
	}
	c := g.chromaOff
	addColumns(g.col[1], m.Cb[c:c+cw], g.chromaN)
	addColumns(g.col[2], m.Cr[c:c+cw], g.chromaN)
	g.chromaN = 0
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

// feedGray adds a strip of a grey plane.
func (g *rasterGrid) feedGray(m *image.Gray) {
	if g.perPixel() {
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y && g.oy < g.oh; y++ {
			o := m.PixOffset(m.Rect.Min.X, y)
			g.perPixelRow(g.oy, m.Pix[o:o+g.srcW], nil, nil, 0)
			g.oy++
		}
		return
	}
	g.intSums(0)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y && g.oy < g.oh; y++ {
		o := m.PixOffset(m.Rect.Min.X, y)
		addColumns(g.col[0], m.Pix[o:o+g.srcW], 1)
		if g.lastOfRasterRow(y) {
			g.finishRow(false, 0)
		}
	}
}

// feedFloat adds the rows of strip b through per-pixel conversion; row fills source row
// y's (strip coordinates) luma and chroma. Used for RGBA-like, palette and exotic images
// (PNG, GIF, lossless WebP, RGB and CMYK JPEG) whose colours need compositing or
// conversion first.
func (g *rasterGrid) feedFloat(b image.Rectangle, row func(y int, ly, lcb, lcr []float64)) {
	if g.row[0] == nil {
		for p := range 3 {
			g.row[p], g.accF[p] = make([]float64, g.srcW), make([]float64, g.ow)
		}
	}
	ly, lcb, lcr := g.row[0], g.row[1], g.row[2]
	accY, accCb, accCr := g.accF[0], g.accF[1], g.accF[2]
	for y := b.Min.Y; y < b.Max.Y && g.oy < g.oh; y++ {
		row(y, ly, lcb, lcr)
		for ox := range accY {
			x0, x1 := g.xs[ox], g.xe[ox]
			var sy, sb, sr float64
			for x := x0; x < x1; x++ {
				sy, sb, sr = sy+ly[x], sb+lcb[x], sr+lcr[x]
			}
			accY[ox], accCb[ox], accCr[ox] = accY[ox]+sy, accCb[ox]+sb, accCr[ox]+sr
		}
		if g.lastOfRasterRow(y) {
			flush(g, g.oy, accY, accCb, accCr)
			g.oy++
		}
	}
}

// premul is color.NRGBA's premultiplication of one 8-bit channel to 16 bits.
func premul(v uint8, a uint32) uint32 {
	c := uint32(v)
	c |= c << 8
	return c * a / 0xff
}

// wide widens an 8-bit channel to 16 bits as color.RGBA does.
func wide(v uint8) uint32 { return uint32(v) | uint32(v)<<8 }
