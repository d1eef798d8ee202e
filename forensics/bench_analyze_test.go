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

// BenchmarkAnalyzeCachedReference12MP: the same analysis as BenchmarkAnalyze12MP, per
// backend built in, with the reference's decode already in a ReferenceCache ("warm") and
// without a cache, alternated in one loop. Reported: median CPU ms of each and the ratio
// warm/uncached, what a claim on a product whose catalog photo was decoded before costs.
//
//	go test -run '^$' -bench AnalyzeCachedReference12MP -benchtime 10x ./forensics
func BenchmarkAnalyzeCachedReference12MP(b *testing.B) {
	refData, evData := syntheticPhoto12MP(b), paintedEvidence12MP(b)
	ctx := context.Background()
	refs := []Reference{{Name: "ref.jpg", Key: sha256Hex(refData),
		Load: func(context.Context) ([]byte, error) { return refData, nil }}}

	type contender struct {
		name  string
		a     *Analyzer
		times samples
		alloc uint64
	}
	var contenders []*contender
	backends := []struct {
		name string
		pure bool
	}{{"go", true}}
	if libjpegTurboBuilt {
		backends = append(backends, struct {
			name string
			pure bool
		}{"turbo", false})
	}
	for _, be := range backends {
		cache := NewReferenceCache(64 << 20)
		warm := NewAnalyzer(AnalyzerOptions{PureGo: be.pure, ReferenceCache: cache})
		warm.Analyze(ctx, Input{Name: "ev.jpg", Data: evData}, refs, Times{})
		if st := cache.Stats(); st.Entries != 1 {
			b.Fatalf("%s: the reference was not cached: %+v", be.name, st)
		}
		contenders = append(contenders,
			&contender{name: be.name + "-uncached", a: NewAnalyzer(AnalyzerOptions{PureGo: be.pure})},
			&contender{name: be.name + "-warm", a: warm})
	}
	run := func(c *contender) {
		res := c.a.Analyze(ctx, Input{Name: "ev.jpg", Data: evData}, refs, Times{})
		if res.Report.Error != nil || !hasCode(res.Report.Findings, CodeLocalizedEdit) {
			b.Fatalf("%s: the painted photo was not caught: %+v", c.name, res.Report)
		}
	}
	n := 0
	for b.Loop() {
		for i := range contenders {
			c := contenders[(i+n)%len(contenders)]
			d, alloc := measure(func() { run(c) })
			c.times.add(d)
			c.alloc += alloc
		}
		n++
	}
	for i := 0; i < len(contenders); i += 2 {
		uncached, warm := contenders[i], contenders[i+1]
		b.ReportMetric(uncached.times.ms(), uncached.name+"-ms")
		b.ReportMetric(warm.times.ms(), warm.name+"-ms")
		b.ReportMetric(warm.times.ms()/uncached.times.ms(), warm.name+"/uncached")
		b.ReportMetric(float64(warm.alloc)/float64(uncached.alloc), warm.name+"-alloc/uncached")
	}
}
