package forensics

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for every metadata parser. Seeds: small real files from testdata/meta (their
// metadata heads) and the synthetic builders' output, added in code (only FuzzDecode and
// FuzzParseHashes also have a committed corpus under testdata/fuzz/<Target>/). Run one with e.g.
// `go test ./forensics -run '^$' -fuzz FuzzParseEXIF -fuzztime 60s -fuzzminimizetime 200x`.

// maxSeed caps seed sizes: the fuzzer minimises every new interesting input, which takes
// minutes on inputs of tens of kilobytes and stalls the run.
const maxSeed = 8 << 10

// seedFiles adds the first bytes of a few real files of each kind.
func seedFiles(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(filepath.Join(metaTestdata, pat))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data[:min(len(data), maxSeed)])
		}
	}
}

// checkReport asserts the invariants every reader must keep on any input.
func checkReport(t *testing.T, fm *FileMetadata) {
	if fm.Report == nil {
		t.Fatal("nil report")
	}
	if o := fm.Report.Orientation; o < 0 || o > 8 {
		t.Fatalf("orientation %d", o)
	}
	if g := fm.Report.GPS; g != nil && (g.Lat < -90 || g.Lat > 90 || g.Lon < -180 || g.Lon > 180) {
		t.Fatalf("gps %+v", g)
	}
	_ = MetadataFindings(fm, nil, Times{})
}

func FuzzReadMetadata(f *testing.F) {
	seedFiles(f, "corrupt/*.jpg", "exif-samples/jpg/invalid/image01137.jpg", "exif-samples/jpg/Canon_40D.jpg", "aigc/mj-1.png", "aigc/flux-1.png", "exif-samples/heic/samplefilehub.heif")
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, err := ReadMetadata(data)
		if err != nil {
			if AsError(err).Code != ErrCodeUnsupportedFormat {
				t.Fatalf("error %v", err)
			}
			return
		}
		checkReport(t, fm)
	})
}

func FuzzWalkJPEG(f *testing.F) {
	seedFiles(f, "corrupt/*.jpg", "exif-samples/jpg/xmp/BlueSquare.jpg", "c2pa/adobe-20220124-C.jpg")
	f.Add(withSegments(metaJPEG(f, metaTestImage(8, 8), 50), jpegSegment(0xEB, []byte("JP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x10jumb"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := walkJPEG(data)
		if s.width < 0 || s.height < 0 {
			t.Fatal("negative size")
		}
		for _, j := range s.jumbf {
			_ = ParseC2PA(j)
		}
		_ = EstimateQuality(s.dqt)
		if s.photoshop != nil {
			_, _ = parsePhotoshopIRB(s.photoshop)
		}
	})
}

func FuzzParseEXIF(f *testing.F) {
	le := binary.LittleEndian
	f.Add(buildTIFF(le, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "Apple"), shortEntry(le, tagOrientation, 6),
		{tag: tagGPSIFD, sub: &tiffIFD{entries: []tiffEntry{asciiEntry(tagGPSLatRef, "N"),
			rationalEntry(le, tagGPSLat, [2]uint32{1, 1}, [2]uint32{2, 1}, [2]uint32{3, 1})}}}},
		next: &tiffIFD{thumb: []byte{0xFF, 0xD8, 0xFF, 0xD9}}}))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x0f\x00\x02\xff\xff\xff\xff\x00\x00\x00\x08"))
	for _, p := range []string{"corrupt/huge_tag_exif.jpg", "corrupt/max_uint32_exif.jpg", "corrupt/infinite_loop_exif.jpg", "exif-samples/jpg/gps/DSCN0010.jpg"} {
		data, err := os.ReadFile(filepath.Join(metaTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		if tiff := walkJPEG(data).exif; tiff != nil {
			f.Add(tiff[:min(len(tiff), maxSeed)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := ParseEXIF(data)
		if e.Orientation < 0 || e.Orientation > 8 {
			t.Fatalf("orientation %d", e.Orientation)
		}
		if len(e.Thumbnail) > len(data) {
			t.Fatal("thumbnail larger than input")
		}
		_, _, _ = (&FileMetadata{EXIF: e}).CaptureTime()
	})
}

func FuzzParseXMP(f *testing.F) {
	f.Add([]byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="{&quot;Label&quot;:&quot;1&quot;}"/></rdf:RDF></x:xmpmeta>`))
	f.Add([]byte(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"><xmpMM:History><rdf:Seq><rdf:li stEvt:action="saved" stEvt:softwareAgent="Adobe Photoshop"/></rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF>`))
	for _, p := range []string{"exif-samples/jpg/xmp/BlueSquare.jpg", "exif-samples/jpg/xmp/no_exif.jpg"} {
		data, err := os.ReadFile(filepath.Join(metaTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		if x := walkJPEG(data).xmp; x != nil {
			f.Add(x[:min(len(x), maxSeed)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x := ParseXMP(data)
		if len(x.History) > maxXMPHistory || x.values > maxXMPValues {
			t.Fatalf("limits exceeded: %d events, %d values", len(x.History), x.values)
		}
		_ = findAIGCLabel(&FileMetadata{XMP: x})
	})
}

func FuzzWalkPNG(f *testing.F) {
	seedFiles(f, "aigc/*.png")
	f.Fuzz(func(t *testing.T, data []byte) {
		p := walkPNG(data)
		if p.textBytes > maxPNGTextTotal {
			t.Fatalf("text budget exceeded: %d", p.textBytes)
		}
		if p.xmp != nil {
			_ = ParseXMP(p.xmp)
		}
	})
}

func FuzzParseC2PA(f *testing.F) {
	f.Add(c2paStoreBytes(f, "Gen/1", []map[string]any{{"action": "c2pa.created", "softwareAgent": "X",
		"digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}}))
	for _, p := range []string{"aigc/flux-1.png", "aigc/firefly-1.png"} {
		data, err := os.ReadFile(filepath.Join(metaTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		for _, j := range walkPNG(data).jumbf {
			f.Add(j[:min(len(j), maxSeed)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := ParseC2PA(data)
		if s != nil && len(s.Manifests) > maxC2PAItems {
			t.Fatalf("%d manifests", len(s.Manifests))
		}
		_ = s.Summary()
	})
}

func FuzzWalkWebP(f *testing.F) {
	tiff := buildTIFF(binary.LittleEndian, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "x")}})
	f.Add(riffWebP([2][]byte{[]byte("VP8X"), make([]byte, 10)}, [2][]byte{[]byte("EXIF"), tiff}, [2][]byte{[]byte("XMP "), []byte("<x/>")}, [2][]byte{[]byte("C2PA"), []byte("\x00\x00\x00\x08jumb")}))
	f.Add(riffWebP([2][]byte{[]byte("VP8 "), []byte("\x00\x00\x00\x9d\x01\x2a\x10\x00\x10\x00")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := walkWebP(data)
		if w.width < 0 || w.height < 0 {
			t.Fatal("negative size")
		}
	})
}

func FuzzWalkHEIF(f *testing.F) {
	seedFiles(f, "exif-samples/heic/*")
	f.Fuzz(func(t *testing.T, data []byte) {
		h := walkHEIF(data)
		if h.width < 0 || h.height < 0 || len(h.exif) > len(data) || len(h.xmp) > len(data) {
			t.Fatalf("size %dx%d exif %d xmp %d", h.width, h.height, len(h.exif), len(h.xmp))
		}
		if h.exif != nil {
			_ = ParseEXIF(h.exif)
		}
	})
}
