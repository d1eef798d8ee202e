package forensics

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"sync"
	"testing"
)

// The end-to-end figure: one full Analyze of a 12 MP evidence photo against a 12 MP
// reference (decode both, hashes, metadata, matching, local edits, heatmap, risk), as a
// ratio to decoding the two files with image/jpeg, alternated in one loop:
//
//	go test -run '^$' -bench Analyze12MP -benchtime 10x ./forensics
//	CGO_ENABLED=0 go test -run '^$' -bench Analyze12MP -benchtime 10x ./forensics

var (
	evidence12MPOnce sync.Once
	evidence12MP     []byte
)

// paintedEvidence12MP is the synthetic 12 MP photo with a dark crack and a stain painted
// into its luma and chroma, mirrored and re-saved at quality 85: what a buyer would send.
func paintedEvidence12MP(b *testing.B) []byte {
	ref := syntheticPhoto12MP(b)
	evidence12MPOnce.Do(func() {
		img, err := jpeg.Decode(bytes.NewReader(ref))
		if err != nil {
			b.Fatal(err)
		}
		src := img.(*image.YCbCr)
		w, h := src.Rect.Dx(), src.Rect.Dy()
		out := image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420)
		for y := range h {
			for x := range w {
				l := src.Y[y*src.YStride+(w-1-x)]
				// Crack: a 9 px wide diagonal band; stain: a 150 px disc.
				if d := (x - 1200) - (y-900)/2; y > 900 && y < 1900 && d > -5 && d < 5 {
					l = 20
				}
				if dx, dy := x-2800, y-2000; dx*dx+dy*dy < 150*150 {
					l = l/2 + 30
				}
				out.Y[y*out.YStride+x] = l
			}
		}
		for cy := range h / 2 {
			for cx := range w / 2 {
				i := cy*src.CStride + (w/2 - 1 - cx)
				cb, cr := src.Cb[i], src.Cr[i]
				if dx, dy := cx*2-2800, cy*2-2000; dx*dx+dy*dy < 150*150 {
					cb, cr = 100, 150
				}
				out.Cb[cy*out.CStride+cx], out.Cr[cy*out.CStride+cx] = cb, cr
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: 85}); err != nil {
			b.Fatal(err)
		}
		evidence12MP = buf.Bytes()
	})
	return evidence12MP
}

// BenchmarkAnalyze12MP reports, per backend built in: the median CPU time of a full
// analysis (ms), its ratio to decoding both files with image/jpeg in the same loop, and the
// bytes allocated per analysed photo (evidence and reference decodes included, so halved)
// over the size of one decoded image.
func BenchmarkAnalyze12MP(b *testing.B) {
	refData, evData := syntheticPhoto12MP(b), paintedEvidence12MP(b)
	ctx := context.Background()
	decoded, err := jpeg.Decode(bytes.NewReader(refData))
	if err != nil {
		b.Fatal(err)
	}
	size := decodedSize(decoded)
	decoded = nil
	refs := []Reference{{Name: "ref.jpg", Load: func(context.Context) ([]byte, error) { return refData, nil }}}

	type contender struct {
		name  string
		run   func()
		times samples
		alloc uint64
	}
	decodeBoth := &contender{name: "imagejpeg"}
	decodeBoth.run = func() {
		for _, data := range [][]byte{evData, refData} {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	}
	analysis := func(name string, pure bool) *contender {
		a := NewAnalyzer(AnalyzerOptions{PureGo: pure})
		c := &contender{name: name}
		c.run = func() {
			res := a.Analyze(ctx, Input{Name: "ev.jpg", Data: evData}, refs, Times{})
			if res.Report.Error != nil || !hasCode(res.Report.Findings, CodeLocalizedEdit) {
				b.Fatalf("%s: the painted photo was not caught: %+v", name, res.Report)
			}
		}
		return c
	}
	contenders := []*contender{decodeBoth, analysis("go", true)}
	if libjpegTurboBuilt {
		contenders = append(contenders, analysis("turbo", false))
	}
	n := 0
	for b.Loop() {
		for i := range contenders {
			c := contenders[(i+n)%len(contenders)]
			d, alloc := measure(c.run)
			c.times.add(d)
			c.alloc += alloc
		}
		n++
	}
	base := decodeBoth.times.ms()
	b.ReportMetric(base, "decode2-imagejpeg-ms")
	for _, c := range contenders[1:] {
		b.ReportMetric(c.times.ms(), c.name+"-analyze-ms")
		b.ReportMetric(c.times.ms()/base, c.name+"-analyze/decode2")
		b.ReportMetric(float64(c.alloc)/float64(n)/2/size, c.name+"-alloc-per-photo/decoded")
	}
}

func hasCode(fs []Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}
