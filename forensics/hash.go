package forensics

import (
	"fmt"
	"image"
	"math/bits"
	"strconv"

	"github.com/corona10/goimagehash"
)

// Perceptual hashes. ComputeHashes is the one path stored (reference) and query (evidence)
// hashes take: the decoded work raster is box-averaged once to PDQ's 512-pixel input, and
// that to a 64×64 grey image for goimagehash. Hashes computed any other way (another
// resize, the full-resolution image) differ by a few bits and must not be compared with
// these.

// hashGreySide is the grey image goimagehash is given: its pHash works on 64×64, so it
// skips its own resize (nfnt/resize over the whole image, 50+ ms on 12 MP), and its dHash
// shrinks it to 9×8 in microseconds.
const hashGreySide = 64

// HashSet is every perceptual hash of one picture, as computed by ComputeHashes.
type HashSet struct {
	PDQ PDQ
	// PHash is goimagehash's PerceptionHash. It keeps the DC term, so its top bit is
	// always 1 and only 63 bits carry information; distances are unaffected.
	PHash uint64
	DHash uint64 // goimagehash's DifferenceHash
}

// ComputeHashes hashes a decoded photo (the displayed picture, after EXIF orientation).
func ComputeHashes(d *Decoded) HashSet { return HashRaster(d.Work) }

// HashRaster hashes a raster's luma. ComputeHashes calls it with Decoded.Work; call it
// directly only with rasters made the same way (RasterFromImage with WorkSide).
func HashRaster(r *Raster) HashSet {
	var hs HashSet
	pw, ph := rasterSize(r.W, r.H, pdqInputSide)
	luma := boxLuma(r.Y, r.W, r.H, pw, ph)
	// The 64×64 grey image comes from the same 512-pixel reduction (before PDQ filters
	// it in place), a quarter of the work raster's reads.
	small := boxLuma(luma, pw, ph, hashGreySide, hashGreySide)
	hs.PDQ = PDQFromLuma(luma, pw, ph)

	grey := image.NewGray(image.Rect(0, 0, hashGreySide, hashGreySide))
	for i, v := range small {
		grey.Pix[i] = uint8(min(max(v+0.5, 0), 255))
	}
	// Neither call can fail on a non-nil image; the errors are goimagehash's nil checks.
	if p, err := goimagehash.PerceptionHash(grey); err == nil {
		hs.PHash = p.GetHash()
	}
	if d, err := goimagehash.DifferenceHash(grey); err == nil {
		hs.DHash = d.GetHash()
	}
	return hs
}

// Report is the hashes in the report's hex form.
func (h HashSet) Report() Hashes {
	return Hashes{
		PDQ:        h.PDQ.Hash.String(),
		PDQQuality: h.PDQ.Quality,
		PHash:      formatHash64(h.PHash),
		DHash:      formatHash64(h.DHash),
	}
}

// Hamming64 is the Hamming distance between two 64-bit hashes (pHash, dHash). Use it
// rather than goimagehash's Distance, which panics on nil hashes in v1.1.0.
func Hamming64(a, b uint64) int { return bits.OnesCount64(a ^ b) }

func formatHash64(v uint64) string { return fmt.Sprintf("%016x", v) }

// ParseHash64 reads a 16-digit hex pHash or dHash from a report or the store.
func ParseHash64(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("64-bit hash: want 16 hex digits, got %d characters", len(s))
	}
	return strconv.ParseUint(s, 16, 64)
}

// boxLuma box-averages a w×h float plane to ow×oh (cells as in RasterFromImage; a plane
// smaller than the target is repeated, not interpolated). Rows are summed column by column
// first, so the plane is read once, in order.
func boxLuma(src []float32, w, h, ow, oh int) []float32 {
	out := make([]float32, ow*oh)
	col := make([]float64, w)
	xs, xe := make([]int, ow), make([]int, ow)
	for ox := range ow {
		xs[ox] = ox * w / ow
		xe[ox] = max((ox+1)*w/ow, xs[ox]+1)
	}
	for oy := range oh {
		y0 := oy * h / oh
		y1 := max((oy+1)*h/oh, y0+1)
		clear(col)
		for y := y0; y < y1; y++ {
			for x, v := range src[y*w : y*w+w] {
				col[x] += float64(v)
			}
		}
		for ox := range ow {
			var s float64
			for _, v := range col[xs[ox]:xe[ox]] {
				s += v
			}
			out[oy*ow+ox] = float32(s / float64((xe[ox]-xs[ox])*(y1-y0)))
		}
	}
	return out
}
