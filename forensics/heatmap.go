package forensics

import (
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
	"math"
)

// Heatmaps are drawn with a long side between heatmapMinSide (small evidence is enlarged
// by a whole factor so a reviewer can see the outlines) and heatmapMaxSide (larger rasters
// are reduced: a 768-pixel overlay shows hairline regions well and costs half of a
// 1024-pixel one to draw and encode).
const (
	heatmapMinSide = 512
	heatmapMaxSide = 768
)

// HeatmapImage renders the evidence raster for reviewers: the photo, dimmed a little, with
// the edit strength blended over it (yellow at half the threshold to red at three times
// it) and each region outlined in magenta, at a long side between heatmapMinSide and
// heatmapMaxSide.
func HeatmapImage(ev *Raster, res LocalEditResult) *image.RGBA {
	hd := newHeatmapDrawer(ev, res)
	img := image.NewRGBA(image.Rect(0, 0, hd.W, hd.H))
	for y := 0; y < hd.H; y++ {
		hd.drawRow(y, img.Pix[y*img.Stride:y*img.Stride+4*hd.W])
	}
	return img
}

// heatmapDrawer draws the heatmap one RGBA row at a time, so that the PNG encoder needs
// neither the whole picture nor a reduced copy of the raster: a raster larger than
// heatmapMaxSide is area-resampled row by row as the rows are drawn.
type heatmapDrawer struct {
	ev      *Raster
	res     LocalEditResult
	W, H, k int
	sw      int // width of the (reduced) raster drawn
	chroma  bool
	rowsHot []bool // rows of the heat grid with anything to show
	// Reduction of a large raster: a sampler per plane and the current reduced row.
	shrink  bool
	samp    [3]rowSampler
	scratch [3]resampleScratch
	cur     [3][]float32
	curY    int
	fills   []image.Rectangle // the region outlines, as filled rectangles on the render
	// Bilinear sampling of the heat grid: per output column the grid columns and weight,
	// and the two grid rows interpolated along x (for grid rows heatY0, heatY1; -1: none).
	heatX0, heatX1 []int32
	heatFX         []float64
	heatY0, heatY1 int
	heatA, heatB   []float64
}

func newHeatmapDrawer(ev *Raster, res LocalEditResult) *heatmapDrawer {
	hd := &heatmapDrawer{ev: ev, res: res, sw: ev.W, curY: -1}
	sh := ev.H
	hd.chroma = ev.Cb != nil && ev.Cr != nil
	if long := max(ev.W, ev.H); long > heatmapMaxSide {
		w, h := gridDims(float64(ev.W), float64(ev.H), heatmapMaxSide)
		r := rect{0, 0, float64(ev.W), float64(ev.H)}
		for c, src := range [3][]float32{ev.Y, ev.Cb, ev.Cr} {
			if src != nil {
				hd.samp[c].init(plane{ev.W, ev.H, src}, r, w, h, &hd.scratch[c])
				hd.cur[c] = make([]float32, w)
			}
		}
		hd.shrink, hd.sw, sh = true, w, h
	}
	hd.k = 1
	if long := max(hd.sw, sh); long > 0 && long < heatmapMinSide {
		hd.k = (heatmapMinSide + long - 1) / long
	}
	hd.W, hd.H = hd.sw*hd.k, sh*hd.k
	if res.Heat.W > 0 && res.Heat.H > 0 {
		hd.heatX0, hd.heatX1, hd.heatFX = make([]int32, hd.W), make([]int32, hd.W), make([]float64, hd.W)
		for x := range hd.W {
			hx := (float64(x)+0.5)*float64(res.Heat.W)/float64(hd.W) - 0.5
			x0, x1, fx := bilinearTaps(res.Heat.W, hx)
			hd.heatX0[x], hd.heatX1[x], hd.heatFX[x] = int32(x0), int32(x1), fx
		}
		hd.heatA, hd.heatB = make([]float64, hd.W), make([]float64, hd.W)
		hd.heatY0, hd.heatY1 = -1, -1
	}
	hd.rowsHot = make([]bool, res.Heat.H)
	for hy := range hd.rowsHot {
		for _, v := range res.Heat.V[hy*res.Heat.W : (hy+1)*res.Heat.W] {
			if v >= 0.5 {
				hd.rowsHot[hy] = true
				break
			}
		}
	}
	// Outlines, 2 px (3 px on large renders), around each region mapped to the render.
	sx := float64(hd.W) / float64(max(ev.FullW, 1))
	sy := float64(hd.H) / float64(max(ev.FullH, 1))
	thick := max(2, hd.W/400)
	bounds := image.Rect(0, 0, hd.W, hd.H)
	for _, r := range res.Regions {
		x0 := int(math.Floor(float64(r.X)*sx)) - thick
		y0 := int(math.Floor(float64(r.Y)*sy)) - thick
		x1 := int(math.Ceil(float64(r.X+r.W)*sx)) + thick
		y1 := int(math.Ceil(float64(r.Y+r.H)*sy)) + thick
		for _, f := range [4]image.Rectangle{
			image.Rect(x0, y0, x1, y0+thick), image.Rect(x0, y1-thick, x1, y1),
			image.Rect(x0, y0, x0+thick, y1), image.Rect(x1-thick, y0, x1, y1),
		} {
			if f = f.Intersect(bounds); !f.Empty() {
				hd.fills = append(hd.fills, f)
			}
		}
	}
	return hd
}

// rows returns the luma and chroma rows of the drawn raster at row sy (chroma nil when
// the raster has none). Rows are asked for in order.
func (hd *heatmapDrawer) rows(sy int) (y, cb, cr []float32) {
	if !hd.shrink {
		ev, w := hd.ev, hd.ev.W
		y = ev.Y[sy*w : (sy+1)*w]
		if hd.chroma {
			cb, cr = ev.Cb[sy*w:(sy+1)*w], ev.Cr[sy*w:(sy+1)*w]
		}
		return y, cb, cr
	}
	if sy != hd.curY {
		for c := range hd.cur {
			if hd.cur[c] != nil {
				hd.samp[c].row(sy, hd.cur[c])
			}
		}
		hd.curY = sy
	}
	if hd.chroma {
		return hd.cur[0], hd.cur[1], hd.cur[2]
	}
	return hd.cur[0], nil, nil
}

// drawRow draws output row y into pix (4·W bytes, RGBA).
func (hd *heatmapDrawer) drawRow(y int, pix []byte) {
	res, W, H, k := hd.res, hd.W, hd.H, hd.k
	ry, rcb, rcr := hd.rows(y / k)
	// Heat grid row for this output row (the grid covers the evidence exactly).
	hy, hotRow := 0.0, false
	if res.Heat.H > 0 {
		hy = (float64(y)+0.5)*float64(res.Heat.H)/float64(H) - 0.5
		hotRow = hd.rowsHot[max(0, min(res.Heat.H-1, int(hy)))] || hd.rowsHot[max(0, min(res.Heat.H-1, int(hy)+1))]
	}
	var heatA, heatB []float64
	fy := 0.0
	if hotRow && res.Heat.W > 0 {
		heatA, heatB, fy = hd.heatRows(hy)
	}
	for x := 0; x < W; x++ {
		sx := x / k
		cb, cr := float32(128), float32(128)
		if rcb != nil {
			cb, cr = rcb[sx], rcr[sx]
		}
		r32, g32, b32 := ycc2rgb(ry[sx], cb, cr)
		r, g, b := float64(r32), float64(g32), float64(b32)
		// Dim the photo so the overlay reads, keeping it recognisable.
		r, g, b = 0.8*r, 0.8*g, 0.8*b
		if heatA != nil {
			if h := heatA[x]*(1-fy) + heatB[x]*fy; h >= 0.5 {
				// 0.5..1 fades in yellow; 1..3 goes to red.
				a := math.Min(0.65, 0.65*(h-0.5)/0.5)
				t := math.Min(1, math.Max(0, (h-1)/2))
				hr, hg, hb := 255.0, 230*(1-t)+30*t, 0.0
				r, g, b = r*(1-a)+hr*a, g*(1-a)+hg*a, b*(1-a)+hb*a
			}
		}
		o := 4 * x
		pix[o], pix[o+1], pix[o+2], pix[o+3] = clampByte(r), clampByte(g), clampByte(b), 255
	}
	for _, f := range hd.fills {
		if y < f.Min.Y || y >= f.Max.Y {
			continue
		}
		for x := f.Min.X; x < f.Max.X; x++ {
			pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = 255, 0, 255, 255
		}
	}
}

// RenderHeatmap writes HeatmapImage as PNG: what `analyze --heatmap DIR` saves and the
// service's /v1/evidence/{id}/heatmap returns.
func RenderHeatmap(w io.Writer, ev *Raster, res LocalEditResult) error {
	b, err := heatmapPNG(ev, res)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// heatmapPNG returns RenderHeatmap's PNG, drawn row by row into the encoder: the file is
// the only large allocation.
func heatmapPNG(ev *Raster, res LocalEditResult) ([]byte, error) {
	if ev == nil || ev.W <= 0 || ev.H <= 0 || len(ev.Y) < ev.W*ev.H {
		return nil, errors.New("heatmap: empty evidence raster")
	}
	hd := newHeatmapDrawer(ev, res)
	return appendFastPNG(nil, hd.W, hd.H, hd.drawRow)
}

// appendFastPNG appends to dst an opaque width×height picture, whose RGBA rows draw(y, pix)
// fills in, as an 8-bit RGB PNG with the Sub filter on every row and Huffman-only deflate. image/png
// tries five filters per row and runs LZ77 matching, which for a photo-sized heatmap costs
// more than the whole analysis; photos gain little from either, so this writes a file ~15%
// larger in a fraction of the time. The IDAT chunk is compressed in place and its length
// and CRC filled in afterwards; a nil dst is given room for the unfiltered pixels, which
// Huffman coding of a photo stays well under (the slice grows if it does not).
func appendFastPNG(dst []byte, width, height int, draw func(y int, pix []byte)) ([]byte, error) {
	const head = 8 + 12 + 13 + 8 // signature, IHDR chunk, IDAT length and type
	if dst == nil {
		dst = make([]byte, 0, head+(1+3*width)*height+64)
	}
	dst = append(dst, "\x89PNG\r\n\x1a\n"...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits per sample, truecolour; compression, filter, interlace 0
	dst = appendChunk(dst, "IHDR", ihdr[:])
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 'I', 'D', 'A', 'T')
	aw := &appendWriter{b: dst}
	zw, err := zlib.NewWriterLevel(aw, flate.HuffmanOnly)
	if err != nil {
		return nil, err
	}
	pix := make([]byte, 4*width)
	row := make([]byte, 1+3*width)
	row[0] = 1 // Sub: each byte minus the byte of the pixel to its left
	for y := 0; y < height; y++ {
		draw(y, pix)
		var pr, pg, pb byte
		for x := 0; x < width; x++ {
			r, g, b := pix[4*x], pix[4*x+1], pix[4*x+2]
			row[1+3*x], row[2+3*x], row[3+3*x] = r-pr, g-pg, b-pb
			pr, pg, pb = r, g, b
		}
		if _, err := zw.Write(row); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	dst = aw.b
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-8))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start+4:]))
	return appendChunk(dst, "IEND", nil), nil
}

// appendChunk appends a PNG chunk: length, type, data, CRC of type and data.
func appendChunk(dst []byte, typ string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	start := len(dst)
	dst = append(dst, typ...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// appendWriter is an io.Writer appending to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// heatRows returns the heat grid's two rows around continuous grid row hy (pixel centres
// at integers, edges replicated) interpolated along x at every output column, and the
// weight of the second: a bilinear sample is a[x]·(1-fy) + b[x]·fy, and a, b are computed
// once per pair of grid rows instead of once per pixel.
func (hd *heatmapDrawer) heatRows(hy float64) (a, b []float64, fy float64) {
	h := hd.res.Heat
	y0, y1, fy := bilinearTaps(h.H, hy)
	if y0 != hd.heatY0 || y1 != hd.heatY1 {
		r0, r1 := h.V[y0*h.W:(y0+1)*h.W], h.V[y1*h.W:(y1+1)*h.W]
		for x, fx := range hd.heatFX {
			x0, x1 := hd.heatX0[x], hd.heatX1[x]
			hd.heatA[x] = float64(r0[x0])*(1-fx) + float64(r0[x1])*fx
			hd.heatB[x] = float64(r1[x0])*(1-fx) + float64(r1[x1])*fx
		}
		hd.heatY0, hd.heatY1 = y0, y1
	}
	return hd.heatA, hd.heatB, fy
}

// bilinearTaps clamps continuous coordinate v (pixel centres at integers) to a grid
// axis of n pixels and returns the two pixels around it and the second one's weight.
func bilinearTaps(n int, v float64) (i0, i1 int, f float64) {
	v = math.Max(0, math.Min(float64(n-1), v))
	i0 = int(v)
	return i0, min(i0+1, n-1), v - float64(i0)
}

func clampByte(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
