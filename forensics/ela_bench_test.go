package forensics

import (
	"bytes"
	"context"
	"image/jpeg"
	"testing"
)

// BenchmarkELA12MP alternates image/jpeg decoding a 12 MP photo with ErrorLevelAnalysis of
// it in one loop and reports the ratio of their median CPU times (see measure).
//
//	go test -run '^$' -bench ELA12MP -benchtime 10x ./forensics
func BenchmarkELA12MP(b *testing.B) {
	data := syntheticPhoto12MP(b)
	ctx := context.Background()
	var tDecode, tELA samples
	n := 0
	decode := func() {
		d, _ := measure(func() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		})
		tDecode.add(d)
	}
	ela := func() {
		d, _ := measure(func() {
			if _, err := ErrorLevelAnalysis(ctx, data, ELAOptions{}); err != nil {
				b.Fatal(err)
			}
		})
		tELA.add(d)
	}
	runs := []func(){decode, ela}
	for b.Loop() {
		for i := range runs {
			runs[(i+n)%len(runs)]()
		}
		n++
	}
	b.ReportMetric(tDecode.ms(), "imagejpeg-ms")
	b.ReportMetric(tELA.ms(), "ela-ms")
	b.ReportMetric(tELA.ms()/tDecode.ms(), "ela/imagejpeg")
}

func BenchmarkELAOnly12MP(b *testing.B) {
	data := syntheticPhoto12MP(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := ErrorLevelAnalysis(ctx, data, ELAOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
