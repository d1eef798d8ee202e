package forensics

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

const metaTestdata = "testdata/meta"

func readMetaFile(t testing.TB, rel string) (*FileMetadata, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(metaTestdata, rel))
	if err != nil {
		t.Fatal(err)
	}
	fm, err := ReadMetadata(data)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return fm, data
}

func TestReadMetadataCorpus(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, fm *FileMetadata)
	}{
		{"exif-samples/jpg/gps/DSCN0010.jpg", func(t *testing.T, fm *FileMetadata) {
			m := fm.Report
			if m.Make != "NIKON" || m.Model != "COOLPIX P6000" || m.Software != "Nikon Transfer 1.1 W" {
				t.Errorf("make/model/software = %q %q %q", m.Make, m.Model, m.Software)
			}
			if m.GPS == nil || math.Abs(m.GPS.Lat-43.4674483333) > 1e-6 || math.Abs(m.GPS.Lon-11.8851) > 1e-4 {
				t.Errorf("gps = %+v", m.GPS)
			}
			want := time.Date(2008, 10, 22, 16, 28, 39, 0, time.UTC)
			if m.CapturedAt == nil || !m.CapturedAt.Equal(want) || !m.CapturedAtNoOffset {
				t.Errorf("captured_at = %v (no offset %v), want %v without offset", m.CapturedAt, m.CapturedAtNoOffset, want)
			}
			if !m.HasThumbnail || fm.Width != 640 || fm.Height != 480 {
				t.Errorf("thumbnail %v, size %dx%d", m.HasThumbnail, fm.Width, fm.Height)
			}
		}},
		{"exif-samples/jpg/hdr/iphone_hdr_YES.jpg", func(t *testing.T, fm *FileMetadata) {
			if fm.Report.Make != "Apple" || fm.Report.Model != "iPhone 6" || fm.Report.Orientation == 0 || !fm.hasCameraEXIF() {
				t.Errorf("report = %+v", fm.Report)
			}
		}},
		{"exif-samples/heic/IMG_5195.HEIC", func(t *testing.T, fm *FileMetadata) {
			m := fm.Report
			if fm.Format != "heif" || m.Make != "Apple" || m.Model != "iPhone 11 Pro Max" || m.GPS == nil || m.CreatorTool != "14.4.2" {
				t.Errorf("format %s report %+v", fm.Format, m)
			}
			want := time.Date(2021, 4, 11, 20, 47, 53, 54_000_000, time.UTC)
			if m.CapturedAt == nil || !m.CapturedAt.Equal(want) || m.CapturedAtNoOffset || m.Orientation != 0 {
				t.Errorf("captured_at %v (no offset %v), orientation %d", m.CapturedAt, m.CapturedAtNoOffset, m.Orientation)
			}
			if fm.Width < 2000 || fm.Height < 2000 || !fm.hasCameraEXIF() {
				t.Errorf("size %dx%d", fm.Width, fm.Height)
			}
		}},
		{"aigc/doubao_black_1x1_1.png", func(t *testing.T, fm *FileMetadata) {
			l := fm.Report.AIGC
			if l == nil || l.Label != "1" || l.ContentProducer != "001191110102MACQD9K64010000" || l.ProduceID != "cc75f5e99aae4210960acb722f10974e" || l.Source != "xmp" {
				t.Errorf("aigc = %+v", l)
			}
		}},
		{"aigc/jimeng_cap_A.png", func(t *testing.T, fm *FileMetadata) {
			l := fm.Report.AIGC
			if l == nil || l.Label != "1" || l.ContentPropagator != "00119144030008867405X220001" || !strings.HasPrefix(l.PropagateID, "tos-cn-i-") {
				t.Errorf("aigc = %+v", l)
			}
		}},
		{"aigc/chatgpt-1.png", func(t *testing.T, fm *FileMetadata) {
			c := fm.Report.C2PA
			if c == nil || !c.AIGenerated || c.Manifests != 2 || !slices.Contains(c.SoftwareAgents, "GPT-4o") || c.ClaimGenerator != "ChatGPT" || c.SignatureVerified {
				t.Errorf("c2pa = %+v", c)
			}
		}},
		{"aigc/firefly-1.png", func(t *testing.T, fm *FileMetadata) {
			c := fm.Report.C2PA
			if c == nil || !c.AIGenerated || !slices.Contains(c.SoftwareAgents, "Adobe Firefly") {
				t.Errorf("c2pa = %+v", c)
			}
		}},
		{"aigc/flux-1.png", func(t *testing.T, fm *FileMetadata) {
			if c := fm.Report.C2PA; c == nil || !c.AIGenerated || !slices.Contains(c.SoftwareAgents, "Flux.2") {
				t.Errorf("c2pa = %+v", c)
			}
		}},
		{"aigc/flux-1.jpg", func(t *testing.T, fm *FileMetadata) {
			if c := fm.Report.C2PA; c == nil || !c.AIGenerated || !slices.Contains(c.SoftwareAgents, "Flux.2") || c.Manifests != 1 {
				t.Errorf("c2pa = %+v", c)
			}
			if fm.Report.JPEGQuality != 95 {
				t.Errorf("quality = %d", fm.Report.JPEGQuality)
			}
		}},
		{"aigc/mj-1.png", func(t *testing.T, fm *FileMetadata) {
			if !isAISourceType(fm.Report.DigitalSourceType) {
				t.Errorf("digital source type = %q", fm.Report.DigitalSourceType)
			}
			if d := fm.Report.Generator["Description"]; !strings.Contains(d, "--v 5.2 Job ID: 2b6e053b") || !strings.Contains(d, "danh võ") {
				t.Errorf("generator = %v", fm.Report.Generator)
			}
		}},
		{"aigc/grok-1.jpg", func(t *testing.T, fm *FileMetadata) {
			if !strings.HasPrefix(fm.Report.Generator["exif:ImageDescription"], "Signature: ") {
				t.Errorf("generator = %v", fm.Report.Generator)
			}
		}},
		{"c2pa/truepic-20230212-camera.jpg", func(t *testing.T, fm *FileMetadata) {
			m := fm.Report
			if m.Make != "Google" || m.Model != "Pixel 5" || m.Orientation != 6 || m.C2PA == nil || m.C2PA.AIGenerated {
				t.Errorf("report = %+v c2pa %+v", m, m.C2PA)
			}
		}},
		{"c2pa/adobe-20220124-A.jpg", func(t *testing.T, fm *FileMetadata) {
			if fm.C2PA != nil {
				t.Errorf("A.jpg has no manifest, got %+v", fm.C2PA)
			}
		}},
		{"exif-samples/jpg/xmp/BlueSquare.jpg", func(t *testing.T, fm *FileMetadata) {
			if !strings.HasPrefix(fm.Report.CreatorTool, "Adobe Photoshop CS2") {
				t.Errorf("creator tool = %q", fm.Report.CreatorTool)
			}
		}},
		{"corrupt/infinite_loop_exif.jpg", func(t *testing.T, fm *FileMetadata) {
			// Reading must end, with what precedes the loop read.
			if fm.EXIF == nil || fm.EXIF.Software != "Adobe Photoshop CS2 Macintosh" || !fm.JPEG.PhotoshopIRB {
				t.Errorf("exif = %+v", fm.EXIF)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			fm, _ := readMetaFile(t, tc.file)
			tc.check(t, fm)
		})
	}
}

// TestC2PAAgreesWithC2patool compares the manifest count, the active manifest's claim
// generator and its actions with what c2patool printed for each file.
func TestC2PAAgreesWithC2patool(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(metaTestdata, "c2pa/manifests/*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "manifest_store.json"))
			if err != nil {
				t.Fatal(err)
			}
			var store struct {
				Active    string `json:"active_manifest"`
				Manifests map[string]struct {
					ClaimGenerator string `json:"claim_generator"`
					Assertions     []struct {
						Label string `json:"label"`
						Data  struct {
							Actions []struct {
								Action string `json:"action"`
							} `json:"actions"`
						} `json:"data"`
					} `json:"assertions"`
				} `json:"manifests"`
			}
			if err := json.Unmarshal(raw, &store); err != nil {
				t.Fatal(err)
			}
			fm, _ := readMetaFile(t, "c2pa/"+name+".jpg")
			c := fm.Report.C2PA
			if c == nil {
				t.Fatal("no C2PA manifest found")
			}
			active := store.Manifests[store.Active]
			var actions []string
			for _, a := range active.Assertions {
				if isActionsLabel(a.Label) {
					for _, x := range a.Data.Actions {
						actions = append(actions, x.Action)
					}
				}
			}
			if c.Manifests != len(store.Manifests) {
				t.Errorf("manifests = %d, c2patool %d", c.Manifests, len(store.Manifests))
			}
			if c.ClaimGenerator != active.ClaimGenerator {
				t.Errorf("claim generator = %q, c2patool %q", c.ClaimGenerator, active.ClaimGenerator)
			}
			if !strings.HasSuffix(store.Active, c.ActiveManifest) {
				t.Errorf("active manifest = %q, c2patool %q", c.ActiveManifest, store.Active)
			}
			if !slices.Equal(c.Actions, actions) {
				t.Errorf("actions = %v, c2patool %v", c.Actions, actions)
			}
		})
	}
}

func TestOrientation(t *testing.T) {
	for _, kind := range []string{"landscape", "portrait"} {
		for o := 1; o <= 8; o++ {
			name := fmt.Sprintf("exif-samples/jpg/orientation/%s_%d.jpg", kind, o)
			t.Run(name, func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(metaTestdata, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := Orientation(data); got != o {
					t.Errorf("Orientation = %d, want %d", got, o)
				}
			})
		}
	}
	t.Run("no EXIF reads as 1", func(t *testing.T) {
		if got := Orientation(metaJPEG(t, metaTestImage(16, 16), 90)); got != 1 {
			t.Errorf("got %d", got)
		}
	})
	t.Run("garbage reads as 1", func(t *testing.T) {
		if got := Orientation([]byte("not an image")); got != 1 {
			t.Errorf("got %d", got)
		}
	})
}

func TestEstimateQualityInvertsIJGScaling(t *testing.T) {
	img := metaTestImage(32, 32)
	for _, q := range []int{5, 10, 25, 50, 51, 75, 85, 90, 95, 99, 100} {
		t.Run(fmt.Sprintf("q%d", q), func(t *testing.T) {
			fm, err := ReadMetadata(metaJPEG(t, img, q))
			if err != nil {
				t.Fatal(err)
			}
			est := fm.JPEG.Quality
			if !est.ExactIJG || est.MeanError != 0 || est.Tables != 2 {
				t.Errorf("estimate = %+v", est)
			}
			// Qualities 98-100 all give tables of ones for most cells; accept any that
			// reproduces the tables exactly.
			if est.Quality != q && ijgTable(&stdLuminanceZigzag, est.Quality) != ijgTable(&stdLuminanceZigzag, q) {
				t.Errorf("quality = %d, want %d", est.Quality, q)
			}
		})
	}
	t.Run("camera tables are not IJG", func(t *testing.T) {
		fm, _ := readMetaFile(t, "exif-samples/jpg/hdr/canon_hdr_NO.jpg")
		if fm.JPEG.Quality.ExactIJG || fm.JPEG.Quality.Quality < 80 {
			t.Errorf("estimate = %+v", fm.JPEG.Quality)
		}
	})
}

func TestEXIFParsing(t *testing.T) {
	le, be := binary.ByteOrder(binary.LittleEndian), binary.ByteOrder(binary.BigEndian)
	camera := func(order binary.ByteOrder, extra ...tiffEntry) *tiffIFD {
		exif := &tiffIFD{entries: append([]tiffEntry{
			asciiEntry(tagDateTimeOriginal, "2025:03:01 09:15:30"),
			asciiEntry(tagOffsetTimeOrig, "+08:00"),
			asciiEntry(tagSubSecTimeOrig, "25"),
			rationalEntry(order, tagExposureTime, [2]uint32{1, 120}),
		}, extra...)}
		gps := &tiffIFD{entries: []tiffEntry{
			asciiEntry(tagGPSLatRef, "S"),
			rationalEntry(order, tagGPSLat, [2]uint32{33, 1}, [2]uint32{51, 1}, [2]uint32{3600, 100}),
			asciiEntry(tagGPSLonRef, "W"),
			rationalEntry(order, tagGPSLon, [2]uint32{151, 1}, [2]uint32{12, 1}, [2]uint32{0, 1}),
		}}
		return &tiffIFD{entries: []tiffEntry{
			asciiEntry(tagMake, "Apple"), asciiEntry(tagModel, "iPhone 15"), shortEntry(order, tagOrientation, 6),
			{tag: tagExifIFD, sub: exif}, {tag: tagGPSIFD, sub: gps},
		}, next: &tiffIFD{thumb: []byte("\xFF\xD8thumb\xFF\xD9")}}
	}
	for _, order := range []binary.ByteOrder{le, be} {
		t.Run("camera block "+order.String(), func(t *testing.T) {
			e := ParseEXIF(buildTIFF(order, camera(order)))
			if e.Make != "Apple" || e.Model != "iPhone 15" || e.Orientation != 6 || !e.HasExposure {
				t.Errorf("exif = %+v", e)
			}
			if e.GPS == nil || math.Abs(e.GPS.Lat+33.86) > 1e-9 || math.Abs(e.GPS.Lon+151.2) > 1e-9 {
				t.Errorf("gps = %+v", e.GPS)
			}
			if string(e.Thumbnail) != "\xFF\xD8thumb\xFF\xD9" {
				t.Errorf("thumbnail = %q", e.Thumbnail)
			}
			if len(e.Warnings) > 0 {
				t.Errorf("warnings = %v", e.Warnings)
			}
			fm := &FileMetadata{EXIF: e}
			at, noOffset, ok := fm.CaptureTime()
			want := time.Date(2025, 3, 1, 1, 15, 30, 250_000_000, time.UTC)
			if !ok || noOffset || !at.Equal(want) {
				t.Errorf("capture time = %v (no offset %v, ok %v), want %v", at, noOffset, ok, want)
			}
		})
	}
	t.Run("UNICODE user comment and Meitu artist", func(t *testing.T) {
		uc := append([]byte("UNICODE\x00"), 0, 'h', 0, 'i', 0, '!')
		e := ParseEXIF(buildTIFF(be, &tiffIFD{entries: []tiffEntry{
			asciiEntry(tagArtist, "Meitu"),
			{tag: tagExifIFD, sub: &tiffIFD{entries: []tiffEntry{undefinedEntry(tagUserComment, uc)}}},
		}}))
		if e.UserComment != "hi!" || e.Artist != "Meitu" {
			t.Errorf("user comment %q artist %q", e.UserComment, e.Artist)
		}
	})
	t.Run("TC260 label in UserComment", func(t *testing.T) {
		e := ParseEXIF(buildTIFF(le, &tiffIFD{entries: []tiffEntry{
			{tag: tagExifIFD, sub: &tiffIFD{entries: []tiffEntry{undefinedEntry(tagUserComment, append([]byte("ASCII\x00\x00\x00"), tc260JSON...))}}},
		}}))
		l := findAIGCLabel(&FileMetadata{EXIF: e})
		if l == nil || l.Source != "exif:UserComment" || l.ReservedCode2 != "r2" {
			t.Errorf("label = %+v", l)
		}
	})
	t.Run("IFD loop is detected", func(t *testing.T) {
		b := buildTIFF(le, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "X")}})
		// Point IFD0's next-IFD offset back at IFD0.
		binary.LittleEndian.PutUint32(b[8+2+12:], 8)
		e := ParseEXIF(b)
		if e.Make != "X" || !slices.ContainsFunc(e.Warnings, func(w string) bool { return strings.Contains(w, "loop") }) {
			t.Errorf("exif = %+v", e)
		}
	})
	t.Run("offsets out of range are ignored", func(t *testing.T) {
		b := buildTIFF(le, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "Long make name")}})
		binary.LittleEndian.PutUint32(b[8+2+8:], 0xFFFFFFF0)
		e := ParseEXIF(b)
		if e.Make != "" {
			t.Errorf("make = %q", e.Make)
		}
	})
	t.Run("huge counts are bounded", func(t *testing.T) {
		b := buildTIFF(le, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "Long make name")}})
		binary.LittleEndian.PutUint32(b[8+2+4:], 0xFFFFFFFF)
		e := ParseEXIF(b)
		if e.Make != "" {
			t.Errorf("make = %q", e.Make)
		}
	})
	t.Run("zero denominators drop GPS", func(t *testing.T) {
		e := ParseEXIF(buildTIFF(le, &tiffIFD{entries: []tiffEntry{{tag: tagGPSIFD, sub: &tiffIFD{entries: []tiffEntry{
			rationalEntry(le, tagGPSLat, [2]uint32{1, 0}, [2]uint32{0, 0}, [2]uint32{0, 0}),
			rationalEntry(le, tagGPSLon, [2]uint32{1, 1}, [2]uint32{0, 1}, [2]uint32{0, 1}),
		}}}}}))
		if e.GPS != nil {
			t.Errorf("gps = %+v", e.GPS)
		}
	})
	t.Run("GPS time stamp gives the zone", func(t *testing.T) {
		gps := time.Date(2025, 3, 1, 1, 14, 50, 0, time.UTC)
		fm := &FileMetadata{EXIF: &ExifData{DateTimeOriginal: "2025:03:01 09:15:30", GPSTime: gps}}
		at, noOffset, ok := fm.CaptureTime()
		if !ok || noOffset || !at.Equal(time.Date(2025, 3, 1, 1, 15, 30, 0, time.UTC)) {
			t.Errorf("capture time = %v (no offset %v)", at, noOffset)
		}
		// A fix taken an hour and a half earlier does not line up with a quarter hour.
		fm.EXIF.GPSTime = gps.Add(-97 * time.Minute)
		if _, noOffset, _ := fm.CaptureTime(); !noOffset {
			t.Error("a stale GPS fix invented a zone")
		}
	})
	t.Run("blank dates are not times", func(t *testing.T) {
		for _, v := range []string{"0000:00:00 00:00:00", "    :  :     :  :  ", "", "2025:13:45 99:00:00"} {
			if _, _, ok := parseEXIFTime(v, "", ""); ok {
				t.Errorf("%q parsed as a time", v)
			}
		}
	})
}

const tc260JSON = `{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"abc","ReservedCode1":"r1","ContentPropagator":"","PropagateID":"","ReservedCode2":"r2"}`

func TestXMPParsing(t *testing.T) {
	escaped := strings.NewReplacer(`"`, "&quot;").Replace(tc260JSON)
	tests := []struct {
		name   string
		packet string
		check  func(t *testing.T, x *XMPData, fm *FileMetadata)
	}{
		{"TC260 attribute form", `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
			<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="` + escaped + `"/></rdf:RDF></x:xmpmeta>`,
			func(t *testing.T, x *XMPData, fm *FileMetadata) {
				if l := fm.AIGC; l == nil || l.Label != "1" || l.ReservedCode1 != "r1" || l.ReservedCode2 != "r2" || l.ProduceID != "abc" {
					t.Errorf("aigc = %+v", l)
				}
			}},
		{"TC260 element form with another prefix", `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
			<rdf:Description rdf:about="" xmlns:aigc="http://www.tc260.org.cn/ns/AIGC/1.0/"><aigc:AIGC>` + escaped + `</aigc:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>`,
			func(t *testing.T, x *XMPData, fm *FileMetadata) {
				if l := fm.AIGC; l == nil || l.ContentProducer != "001191110102MACQD9K64010000" {
					t.Errorf("aigc = %+v", l)
				}
			}},
		{"TC260 prefix without namespace declaration", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description><TC260:AIGC>` + escaped + `</TC260:AIGC></rdf:Description></rdf:RDF>`,
			func(t *testing.T, x *XMPData, fm *FileMetadata) {
				if fm.AIGC == nil || fm.AIGC.Label != "1" {
					t.Errorf("aigc = %+v", fm.AIGC)
				}
			}},
		{"IPTC source type as resource, creator tool and Photoshop history", `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
			<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
			<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
			 xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
			 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)" photoshop:ColorMode="3">
			<Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"/>
			<xmpMM:History><rdf:Seq>
			  <rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Photoshop 25.0 (Windows)" stEvt:when="2025-01-02T10:00:00+08:00"/>
			  <rdf:li rdf:parseType="Resource"><stEvt:action>saved</stEvt:action><stEvt:softwareAgent>Adobe Photoshop 25.0 (Windows)</stEvt:softwareAgent><stEvt:changed>/</stEvt:changed></rdf:li>
			</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>   `,
			func(t *testing.T, x *XMPData, fm *FileMetadata) {
				if !isAISourceType(fm.Report.DigitalSourceType) || fm.Report.CreatorTool != "Adobe Photoshop 25.0 (Windows)" {
					t.Errorf("report = %+v", fm.Report)
				}
				if len(x.History) != 2 || x.History[0].Action != "created" || x.History[1].Action != "saved" || x.History[1].Changed != "/" {
					t.Errorf("history = %+v", x.History)
				}
				if len(fm.Report.EditHistory) != 2 || !strings.HasPrefix(fm.Report.EditHistory[1], "saved by Adobe Photoshop") {
					t.Errorf("edit history = %v", fm.Report.EditHistory)
				}
				if x.Get(nsPhotoshop, "ColorMode") != "3" {
					t.Errorf("photoshop:ColorMode = %q", x.Get(nsPhotoshop, "ColorMode"))
				}
			}},
		{"broken XML keeps what was read", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/"><xmp:CreatorTool>GIMP 2.10</xmp:CreatorTool><unclosed attr=>`,
			func(t *testing.T, x *XMPData, fm *FileMetadata) {
				if fm.Report.CreatorTool != "GIMP 2.10" {
					t.Errorf("creator tool = %q", fm.Report.CreatorTool)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := withSegments(metaJPEG(t, metaTestImage(16, 16), 90), xmpSegment(tc.packet))
			fm, err := ReadMetadata(data)
			if err != nil {
				t.Fatal(err)
			}
			if fm.XMP == nil {
				t.Fatal("no XMP")
			}
			tc.check(t, fm.XMP, fm)
		})
	}
	t.Run("deep nesting is bounded", func(t *testing.T) {
		x := ParseXMP([]byte(strings.Repeat("<a>", 10000)))
		if len(x.Warnings) == 0 {
			t.Error("no warning for 10000 nested elements")
		}
	})
}

func TestExtendedXMPAcrossSegments(t *testing.T) {
	guid := "0123456789ABCDEF0123456789ABCDEF"
	main := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmpNote="http://ns.adobe.com/xmp/note/" xmpNote:HasExtendedXMP="` + guid + `"/></rdf:RDF></x:xmpmeta>`
	ext := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>`
	part := func(off int, data string) []byte {
		b := append([]byte("http://ns.adobe.com/xmp/extension/\x00"), guid...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(ext)))
		b = binary.BigEndian.AppendUint32(b, uint32(off))
		return jpegSegment(0xE1, append(b, data...))
	}
	half := len(ext) / 2
	// Second half first: readers must place parts by offset.
	data := withSegments(metaJPEG(t, metaTestImage(16, 16), 90), xmpSegment(main), part(half, ext[half:]), part(0, ext[:half]))
	fm, err := ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if !isAISourceType(fm.Report.DigitalSourceType) {
		t.Errorf("digital source type from extended XMP = %q", fm.Report.DigitalSourceType)
	}
	// With one part missing, the claimed length is not covered: nothing is allocated for it
	// and the fragment is not parsed.
	fm, err = ReadMetadata(withSegments(metaJPEG(t, metaTestImage(16, 16), 90), xmpSegment(main), part(0, ext[:half])))
	if err != nil {
		t.Fatal(err)
	}
	if fm.Report.DigitalSourceType != "" {
		t.Errorf("incomplete extended XMP was parsed: %q", fm.Report.DigitalSourceType)
	}
}

// c2paStoreBytes builds a minimal manifest store with one actions assertion.
func c2paStoreBytes(t testing.TB, generator string, actions []map[string]any) []byte {
	t.Helper()
	claim, err := cbor.Marshal(map[string]any{"claim_generator": generator, "dc:format": "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	acts, err := cbor.Marshal(map[string]any{"actions": actions})
	if err != nil {
		t.Fatal(err)
	}
	return jumbfSuper("c2pa", "c2pa",
		jumbfSuper("c2ma", "urn:uuid:test-manifest",
			jumbfSuper("c2as", "c2pa.assertions",
				jumbfSuper("cbor", "c2pa.actions.v2", jumbfBoxBytes("cbor", acts))),
			jumbfSuper("c2cl", "c2pa.claim.v2", jumbfBoxBytes("cbor", claim))))
}

func TestC2PAContainers(t *testing.T) {
	store := c2paStoreBytes(t, "TestGen/1.0", []map[string]any{
		{"action": "c2pa.created", "softwareAgent": map[string]any{"name": "Imagen", "version": "4"},
			"digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"},
	})
	check := func(t *testing.T, fm *FileMetadata) {
		t.Helper()
		c := fm.Report.C2PA
		if c == nil || !c.AIGenerated || c.ClaimGenerator != "TestGen/1.0" || !slices.Equal(c.SoftwareAgents, []string{"Imagen/4"}) || c.Manifests != 1 {
			t.Errorf("c2pa = %+v", c)
		}
	}
	t.Run("JPEG APP11 spanning three segments", func(t *testing.T) {
		var segs [][]byte
		first, rest := store[:40], store[40:]
		hdr := func(seq uint32) []byte {
			b := []byte{'J', 'P', 0, 7}
			return binary.BigEndian.AppendUint32(b, seq)
		}
		segs = append(segs, jpegSegment(0xEB, append(hdr(1), first...)))
		for seq := uint32(2); len(rest) > 0; seq++ {
			n := min(len(rest), 60)
			p := append(hdr(seq), store[:8]...) // continuation segments repeat LBox/TBox
			segs = append(segs, jpegSegment(0xEB, append(p, rest[:n]...)))
			rest = rest[n:]
		}
		fm, err := ReadMetadata(withSegments(metaJPEG(t, metaTestImage(16, 16), 90), segs...))
		if err != nil {
			t.Fatal(err)
		}
		check(t, fm)
	})
	t.Run("PNG caBX", func(t *testing.T) {
		fm, err := ReadMetadata(withChunks(metaPNG(t, metaTestImage(16, 16)), pngChunk("caBX", store)))
		if err != nil {
			t.Fatal(err)
		}
		check(t, fm)
	})
	t.Run("WebP C2PA chunk", func(t *testing.T) {
		vp8x := make([]byte, 10)
		vp8x[4], vp8x[7] = 99, 49 // 100x50 canvas
		fm, err := ReadMetadata(riffWebP([2][]byte{[]byte("VP8X"), vp8x}, [2][]byte{[]byte("C2PA"), store}))
		if err != nil {
			t.Fatal(err)
		}
		check(t, fm)
		if fm.Width != 100 || fm.Height != 50 {
			t.Errorf("size = %dx%d", fm.Width, fm.Height)
		}
	})
	t.Run("JUMBF that is not C2PA is ignored", func(t *testing.T) {
		other := jumbfSuper("abcd", "something-else", jumbfBoxBytes("json", []byte("{}")))
		if s := ParseC2PA(other); s != nil {
			t.Errorf("store = %+v", s)
		}
	})
}

func TestPNGText(t *testing.T) {
	base := metaPNG(t, metaTestImage(16, 16))
	zlibBytes := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"><TC260:AIGC>{&quot;Label&quot;:&quot;2&quot;,&quot;ContentProducer&quot;:&quot;p&quot;}</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>`
	tests := []struct {
		name   string
		chunks [][]byte
		check  func(t *testing.T, fm *FileMetadata)
	}{
		{"A1111 parameters", [][]byte{pngChunk("tEXt", []byte("parameters\x00a red cup\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7"))},
			func(t *testing.T, fm *FileMetadata) {
				if !strings.Contains(fm.Report.Generator["parameters"], "Steps: 20") {
					t.Errorf("generator = %v", fm.Report.Generator)
				}
			}},
		{"ComfyUI prompt in compressed iTXt", [][]byte{pngChunk("iTXt", append([]byte("prompt\x00\x01\x00\x00\x00"), zlibBytes(`{"3":{"class_type":"KSampler","inputs":{}}}`)...))},
			func(t *testing.T, fm *FileMetadata) {
				if g := detectGenerators(fm); len(g) != 1 || g[0].Name != "ComfyUI" {
					t.Errorf("generators = %+v", g)
				}
			}},
		{"workflow in zTXt", [][]byte{pngChunk("zTXt", append([]byte("workflow\x00\x00"), zlibBytes(`{"nodes":[{"id":1}]}`)...))},
			func(t *testing.T, fm *FileMetadata) {
				if fm.Report.Generator["workflow"] != `{"nodes":[{"id":1}]}` {
					t.Errorf("generator = %v", fm.Report.Generator)
				}
			}},
		{"TC260 label in iTXt XMP", [][]byte{pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+xmp))},
			func(t *testing.T, fm *FileMetadata) {
				if fm.AIGC == nil || fm.AIGC.Label != "2" {
					t.Errorf("aigc = %+v", fm.AIGC)
				}
			}},
		{"TC260 JSON in tEXt AIGC", [][]byte{pngChunk("tEXt", []byte("AIGC\x00"+tc260JSON))},
			func(t *testing.T, fm *FileMetadata) {
				if fm.AIGC == nil || fm.AIGC.Source != "png:AIGC" || fm.AIGC.ContentProducer != "001191110102MACQD9K64010000" {
					t.Errorf("aigc = %+v", fm.AIGC)
				}
			}},
		{"bad CRC is tolerated", [][]byte{func() []byte {
			c := pngChunk("tEXt", []byte("parameters\x00x, Steps: 1, Sampler: y"))
			c[len(c)-1] ^= 0xFF
			return c
		}()},
			func(t *testing.T, fm *FileMetadata) {
				if fm.Report.Generator["parameters"] == "" || !slices.ContainsFunc(fm.Warnings, func(w string) bool { return strings.Contains(w, "CRC") }) {
					t.Errorf("generator %v warnings %v", fm.Report.Generator, fm.Warnings)
				}
			}},
		{"eXIf chunk", [][]byte{pngChunk("eXIf", buildTIFF(binary.BigEndian, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "Ideogram AI")}}))},
			func(t *testing.T, fm *FileMetadata) {
				if fm.Report.Make != "Ideogram AI" || len(detectGenerators(fm)) != 1 {
					t.Errorf("make %q generators %+v", fm.Report.Make, detectGenerators(fm))
				}
			}},
		{"ImageMagick raw EXIF profile", [][]byte{pngChunk("zTXt", append([]byte("Raw profile type exif\x00\x00"), func() []byte {
			tiff := append([]byte("Exif\x00\x00"), buildTIFF(binary.BigEndian, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "FUJIFILM")}})...)
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			fmt.Fprintf(w, "\nexif\n%8d\n%x\n", len(tiff), tiff)
			w.Close()
			return b.Bytes()
		}()...))},
			func(t *testing.T, fm *FileMetadata) {
				if fm.Report.Make != "FUJIFILM" {
					t.Errorf("make = %q", fm.Report.Make)
				}
			}},
		{"zlib bomb is refused", [][]byte{pngChunk("zTXt", append([]byte("prompt\x00\x00"), zlibBytes(strings.Repeat("A", maxPNGTextValue+10))...))},
			func(t *testing.T, fm *FileMetadata) {
				if len(fm.PNGText) != 0 || len(fm.Warnings) == 0 {
					t.Errorf("texts %d warnings %v", len(fm.PNGText), fm.Warnings)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fm, err := ReadMetadata(withChunks(base, tc.chunks...))
			if err != nil {
				t.Fatal(err)
			}
			if fm.Width != 16 || fm.Height != 16 {
				t.Errorf("size %dx%d", fm.Width, fm.Height)
			}
			tc.check(t, fm)
		})
	}
}

func TestWebPMetadata(t *testing.T) {
	tiff := buildTIFF(binary.LittleEndian, &tiffIFD{entries: []tiffEntry{asciiEntry(tagMake, "samsung"), shortEntry(binary.LittleEndian, tagOrientation, 8)}})
	xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Meitu"/></rdf:RDF></x:xmpmeta>`
	vp8l := []byte{0x2f, 0x3f, 0x40, 0x0f, 0x00, 0x00} // 64x62 header (the rest of the bitstream is not read)
	data := riffWebP([2][]byte{[]byte("VP8L"), vp8l}, [2][]byte{[]byte("EXIF"), append([]byte("Exif\x00\x00"), tiff...)}, [2][]byte{[]byte("XMP "), []byte(xmp)})
	fm, err := ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if fm.Format != "webp" || fm.Report.Make != "samsung" || fm.Report.Orientation != 8 || fm.Report.CreatorTool != "Meitu" || Orientation(data) != 8 {
		t.Errorf("format %s report %+v", fm.Format, fm.Report)
	}
	if fm.Width != 64 || fm.Height != 62 {
		t.Errorf("size %dx%d", fm.Width, fm.Height)
	}
}

func TestReadMetadataRejectsUnknownFormats(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("hello"), []byte("%PDF-1.7")} {
		_, err := ReadMetadata(data)
		if e := AsError(err); e == nil || e.Code != ErrCodeUnsupportedFormat {
			t.Errorf("%q: err = %v", data, err)
		}
	}
}

// metaCorpus lists every file under testdata/meta with an image extension.
func metaCorpus(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(metaTestdata, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif":
			files = append(files, p)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	return files
}

// TestReadMetadataSurvivesDamage reads every corpus file whole, truncated at many points and
// with bytes flipped in its header region: no panic, and only coded errors.
func TestReadMetadataSurvivesDamage(t *testing.T) {
	for _, p := range metaCorpus(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimPrefix(p, metaTestdata+"/"), func(t *testing.T) {
			head := data[:min(len(data), 64<<10)]
			for _, cut := range []int{3, 7, 20, 100, 500, 2000, 10000, len(head) / 2, len(head) - 1} {
				if cut < len(head) {
					fm, err := ReadMetadata(head[:cut])
					if err == nil && fm.Report == nil {
						t.Fatalf("cut %d: nil report", cut)
					}
				}
			}
			damaged := append([]byte(nil), head...)
			for i := 4; i < len(damaged); i += 97 {
				damaged[i] ^= 0x5A
			}
			_, _ = ReadMetadata(damaged)
			if _, err := ReadMetadata(data); err != nil {
				t.Fatalf("whole file: %v", err)
			}
		})
	}
}

func TestPhotoshopResources(t *testing.T) {
	// VersionInfo (0x0421): version, hasRealMergedData, writer name as a Unicode string.
	writer := "Adobe Photoshop"
	vi := []byte{0, 0, 0, 1, 1}
	vi = binary.BigEndian.AppendUint32(vi, uint32(len(writer)))
	for _, r := range writer {
		vi = binary.BigEndian.AppendUint16(vi, uint16(r))
	}
	iptc := []byte{0x1C, 2, 0x41, 0, 9}
	iptc = append(iptc, "Photoshop"...)
	block := func(id uint16, data []byte) []byte {
		b := append([]byte("8BIM"), byte(id>>8), byte(id), 0, 0) // empty Pascal name, padded
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		if len(data)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	irb := append(block(0x0404, iptc), block(0x0421, vi)...)
	data := withSegments(metaJPEG(t, metaTestImage(16, 16), 90), jpegSegment(0xED, append([]byte("Photoshop 3.0\x00"), irb...)))
	fm, err := ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	if fm.JPEG.IRBWriter != writer || fm.JPEG.IPTC["OriginatingProgram"] != "Photoshop" {
		t.Errorf("writer %q iptc %v", fm.JPEG.IRBWriter, fm.JPEG.IPTC)
	}
	if f := editingSoftwareFinding(fm); f == nil || f.Severity != SeverityMedium {
		t.Errorf("finding %+v", f)
	}
}
