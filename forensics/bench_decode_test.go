package forensics

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refundguard/refundguard/forensics/internal/jpegscale"
)

// Benchmarks for decoding and hashing a 12 MP photo. The compared runs are alternated in
// one loop and their ratios reported from the same run. Times ("-ms" metrics) are process
// CPU time per photo (see processCPU), not wall time:
//
//	go test -run '^$' -bench 'Decode12MP|HashStages12MP' -benchtime 20x ./forensics
//	CGO_ENABLED=0 go test -run '^$' -bench Decode12MP -benchtime 20x ./forensics

var (
	photo12MPOnce sync.Once
	photo12MP     []byte
)

// syntheticPhoto12MP is a deterministic 4000×3000 photo-like JPEG (4:2:0, quality 90):
// smooth lighting, objects with edges, fine texture and sensor-like noise, so the file
// (2.6 MB; phones write 3-5 MB) and its decoding cost resemble a phone photo's.
func syntheticPhoto12MP(b *testing.B) []byte {
	photo12MPOnce.Do(func() {
		const w, h = 4000, 3000
		img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		rng := rand.New(rand.NewPCG(12, 34))
		type disc struct{ x, y, r, l, cb, cr float64 }
		discs := make([]disc, 60)
		for i := range discs {
			discs[i] = disc{rng.Float64() * w, rng.Float64() * h, 80 + rng.Float64()*500,
				40 + rng.Float64()*180, 90 + rng.Float64()*76, 90 + rng.Float64()*76}
		}
		for y := range h {
			for x := range w {
				fx, fy := float64(x), float64(y)
				l := 110 + 50*math.Sin(fx/900)*math.Cos(fy/700) + 12*math.Sin(fx/7+fy/11)*math.Sin(fy/5)
				for _, d := range discs {
					if dx, dy := fx-d.x, fy-d.y; dx*dx+dy*dy < d.r*d.r {
						l = d.l + 15*math.Sin((fx+fy)/3)
					}
				}
				l += rng.NormFloat64() * 3
				img.Y[y*img.YStride+x] = uint8(min(max(l, 0), 255))
			}
		}
		for cy := range h / 2 {
			for cx := range w / 2 {
				fx, fy := float64(cx*2), float64(cy*2)
				cb, cr := 128+20*math.Sin(fx/1300), 128+20*math.Cos(fy/1100)
				for _, d := range discs {
					if dx, dy := fx-d.x, fy-d.y; dx*dx+dy*dy < d.r*d.r {
						cb, cr = d.cb, d.cr
					}
				}
				img.Cb[cy*img.CStride+cx], img.Cr[cy*img.CStride+cx] = uint8(cb), uint8(cr)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			panic(err)
		}
		photo12MP = buf.Bytes()
	})
	b.SetBytes(int64(len(photo12MP)))
	return photo12MP
}

// measure runs f once and returns the CPU time it took (wall time where CPU time cannot be
// read) and the bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	// Start from a collected heap so each call pays for the collections its own
	// allocations cause, not for the previous call's garbage.
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start, cpu0 := time.Now(), processCPU()
	f()
	wall, cpu := time.Since(start), processCPU()-cpu0
	runtime.ReadMemStats(&m1)
	if cpu0 == 0 {
		cpu = wall
	}
	return cpu, m1.TotalAlloc - m0.TotalAlloc
}

// samples collects per-iteration times; benchmarks report medians, which a busy shared
// machine disturbs far less than means.
type samples []time.Duration

func (s *samples) add(d time.Duration) { *s = append(*s, d) }

// ms is the median in milliseconds.
func (s samples) ms() float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return float64(c[len(c)/2].Microseconds()) / 1000
}

// decodedSize is the bytes of image/jpeg's planes for the photo: the "decoded image".
func decodedSize(img image.Image) float64 {
	m := img.(*image.YCbCr)
	return float64(len(m.Y) + len(m.Cb) + len(m.Cr))
}

// BenchmarkDecode12MP alternates image/jpeg.Decode, jpegscale's 1/2 decode alone, Decode
// with the pure-Go backend and Decode with libjpeg-turbo (when built), each Decode followed
// by ComputeHashes for the "photo" figures. Reported: ms per decode, ratios to image/jpeg,
// and bytes allocated per photo (decode + raster + hashes) over the size of the decoded
// image.
func BenchmarkDecode12MP(b *testing.B) {
	data := syntheticPhoto12MP(b)
	ctx := context.Background()
	ref, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	size := decodedSize(ref)
	ref = nil
	var tStd, tScaled, tGo, tTurbo, tGoPhoto, tTurboPhoto samples
	var aGoPhoto, aTurboPhoto uint64
	n := 0
	std := func() {
		d, _ := measure(func() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		})
		tStd.add(d)
	}
	// The pure-Go backend's decoder alone: jpegscale at the scale Decode picks (1/2 for
	// 4000×3000), strips dropped, no raster.
	scaled := func() {
		d, _ := measure(func() {
			noRows := func(image.Image) error { return nil }
			if _, err := jpegscale.DecodeWith(bytes.NewReader(data), jpegscale.Options{Scale: 2, Rows: noRows}); err != nil {
				b.Fatal(err)
			}
		})
		tScaled.add(d)
	}
	ours := func(pure bool) func() {
		return func() {
			var dec *Decoded
			var err error
			dt, decAlloc := measure(func() {
				if dec, err = (Decoder{PureGo: pure}).Decode(ctx, data); err != nil {
					b.Fatal(err)
				}
			})
			ht, hashAlloc := measure(func() { ComputeHashes(dec) })
			if pure {
				tGo.add(dt)
				tGoPhoto.add(dt + ht)
				aGoPhoto += decAlloc + hashAlloc
			} else {
				tTurbo.add(dt)
				tTurboPhoto.add(dt + ht)
				aTurboPhoto += decAlloc + hashAlloc
			}
		}
	}
	runs := []func(){std, scaled, ours(true)}
	if libjpegTurboBuilt {
		runs = append(runs, ours(false))
	}
	for b.Loop() {
		// Rotate the order every iteration so no contender always runs first.
		for i := range runs {
			runs[(i+n)%len(runs)]()
		}
		n++
	}
	b.ReportMetric(tStd.ms(), "imagejpeg-ms")
	b.ReportMetric(tScaled.ms()/tStd.ms(), "jpegscale-half/imagejpeg")
	b.ReportMetric(tGo.ms(), "go-decode-ms")
	b.ReportMetric(tGo.ms()/tStd.ms(), "go-decode/imagejpeg")
	b.ReportMetric(tGoPhoto.ms()/tStd.ms(), "go-photo/imagejpeg")
	b.ReportMetric(float64(aGoPhoto)/float64(n)/size, "go-alloc/decoded")
	b.ReportMetric(float64(aGoPhoto)/float64(n)/1e6, "go-alloc-MB")
	if libjpegTurboBuilt {
		b.ReportMetric(tTurbo.ms(), "turbo-decode-ms")
		b.ReportMetric(tTurbo.ms()/tStd.ms(), "turbo-decode/imagejpeg")
		b.ReportMetric(tTurboPhoto.ms()/tStd.ms(), "turbo-photo/imagejpeg")
		b.ReportMetric(float64(aTurboPhoto)/float64(n)/size, "turbo-alloc/decoded")
		b.ReportMetric(float64(aTurboPhoto)/float64(n)/1e6, "turbo-alloc-MB")
	}
	b.ReportMetric(size/1e6, "decoded-MB")
}

// BenchmarkHashStages12MP times each stage after image/jpeg's decode, alternated in one
// loop: building the work raster from the planes (orientation 6, the rotated case), PDQ
// (box to 512 px, Jarosz, DCT, dihedral variants) and HashRaster whole (PDQ, pHash and
// dHash). Medians; ratios are to the decode in the same loop.
func BenchmarkHashStages12MP(b *testing.B) {
	data := syntheticPhoto12MP(b)
	var tDecode, tRaster, tPDQ, tAll samples
	for b.Loop() {
		var img image.Image
		d, _ := measure(func() { img, _ = jpeg.Decode(bytes.NewReader(data)) })
		tDecode.add(d)
		var r *Raster
		d, _ = measure(func() { r = RasterFromImage(img, 6, WorkSide, true) })
		tRaster.add(d)
		d, _ = measure(func() {
			pw, ph := rasterSize(r.W, r.H, pdqInputSide)
			PDQFromLuma(boxLuma(r.Y, r.W, r.H, pw, ph), pw, ph)
		})
		tPDQ.add(d)
		d, _ = measure(func() { HashRaster(r) })
		tAll.add(d)
	}
	b.ReportMetric(tDecode.ms(), "decode-ms")
	b.ReportMetric(tRaster.ms(), "raster-ms")
	b.ReportMetric(tPDQ.ms(), "pdq-ms")
	b.ReportMetric(tAll.ms(), "hashes-ms")
	b.ReportMetric(tRaster.ms()/tDecode.ms(), "raster/decode")
	b.ReportMetric((tRaster.ms()+tAll.ms())/tDecode.ms(), "raster+hashes/decode")
}

// BenchmarkRasterFromPlanes12MP is the work-raster stage alone, on a decoded 12 MP photo.
func BenchmarkRasterFromPlanes12MP(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(syntheticPhoto12MP(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		RasterFromImage(img, 6, WorkSide, true)
	}
}

// BenchmarkHashRaster is ComputeHashes on a 12 MP photo's work raster (1024×768).
func BenchmarkHashRaster(b *testing.B) {
	img, err := jpeg.Decode(bytes.NewReader(syntheticPhoto12MP(b)))
	if err != nil {
		b.Fatal(err)
	}
	r := RasterFromImage(img, 1, WorkSide, true)
	img = nil
	b.ResetTimer()
	for b.Loop() {
		HashRaster(r)
	}
}
