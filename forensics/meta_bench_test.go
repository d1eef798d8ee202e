package forensics

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"sync"
	"testing"
	"time"
)

// Benchmarks: ReadMetadata on a 12 MP JPEG with and without EXIF, and its cost next to
// decoding the same file with image/jpeg, measured alternately in one loop.

var bench12MP struct {
	once            sync.Once
	plain, withEXIF []byte
	raster          *Raster
}

func bench12MPFiles(b *testing.B) ([]byte, []byte, *Raster) {
	bench12MP.once.Do(func() {
		img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
		// Smooth shapes with some texture, so the file has a photo-like size (a few MB).
		for y := range 3000 {
			for x := range 4000 {
				v := (x/16+y/12)%200 + ((x*x+y*y)>>9)%40
				if (x/250+y/250)%2 == 0 {
					v += (x * y) % 23
				}
				img.Y[y*img.YStride+x] = uint8(v)
			}
		}
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = uint8(100+i%37), uint8(140-i%29)
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
			b.Fatal(err)
		}
		bench12MP.plain = buf.Bytes()
		le := binary.LittleEndian
		tiff := buildTIFF(le, &tiffIFD{
			entries: []tiffEntry{asciiEntry(tagMake, "Apple"), asciiEntry(tagModel, "iPhone 15 Pro"), shortEntry(le, tagOrientation, 6),
				asciiEntry(tagSoftware, "17.4.1"),
				{tag: tagExifIFD, sub: &tiffIFD{entries: []tiffEntry{asciiEntry(tagDateTimeOriginal, "2025:03:01 09:15:30"),
					asciiEntry(tagOffsetTimeOrig, "+08:00"), rationalEntry(le, tagExposureTime, [2]uint32{1, 120})}}},
				{tag: tagGPSIFD, sub: &tiffIFD{entries: []tiffEntry{asciiEntry(tagGPSLatRef, "N"),
					rationalEntry(le, tagGPSLat, [2]uint32{31, 1}, [2]uint32{14, 1}, [2]uint32{0, 1}),
					asciiEntry(tagGPSLonRef, "E"), rationalEntry(le, tagGPSLon, [2]uint32{121, 1}, [2]uint32{28, 1}, [2]uint32{0, 1})}}}},
			next: &tiffIFD{thumb: metaJPEG(b, scaledCopy(img, 160, 120), 80)},
		})
		xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="17.4.1" xmp:CreateDate="2025-03-01T09:15:30+08:00"/></rdf:RDF></x:xmpmeta>`
		bench12MP.withEXIF = withSegments(bench12MP.plain, exifSegment(tiff), xmpSegment(xmp))
		bench12MP.raster = metaRaster(img, 6)
	})
	return bench12MP.plain, bench12MP.withEXIF, bench12MP.raster
}

func BenchmarkReadMetadata12MP(b *testing.B) {
	plain, withEXIF, _ := bench12MPFiles(b)
	for _, c := range []struct {
		name string
		data []byte
	}{{"no-exif", plain}, {"exif+xmp+thumbnail", withEXIF}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := ReadMetadata(c.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMetadataVsDecode alternates, in one loop, decoding the 12 MP file with
// image/jpeg and reading its metadata plus the metadata findings (thumbnail decoded and
// compared), and reports each as a share of the decode.
func BenchmarkMetadataVsDecode(b *testing.B) {
	_, withEXIF, main := bench12MPFiles(b)
	var decode, read, findings time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := jpeg.Decode(bytes.NewReader(withEXIF)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		fm, err := ReadMetadata(withEXIF)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		_ = MetadataFindings(fm, main, Times{DeliveredAt: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)})
		t3 := time.Now()
		decode, read, findings = decode+t1.Sub(t0), read+t2.Sub(t1), findings+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(decode.Nanoseconds())/n, "decode-ns/file")
	b.ReportMetric(float64(read.Nanoseconds())/n, "readmeta-ns/file")
	b.ReportMetric(float64(findings.Nanoseconds())/n, "findings-ns/file")
	b.ReportMetric(float64(read)/float64(decode), "readmeta/decode")
	b.ReportMetric(float64(read+findings)/float64(decode), "meta+findings/decode")
}
