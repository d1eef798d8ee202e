package forensics

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The exiftool cross-check: exiftool's reading of the test files (committed as
// testdata/meta/exiftool.json, so the test needs no exiftool) is compared field by field with
// ReadMetadata's. Regenerate with `go test ./forensics -run TestMetadataAgreesWithExiftool
// -update-meta` where exiftool is installed. The flag has its own name so that it cannot
// clash with other golden-file flags of the package.

var updateMeta = flag.Bool("update-meta", false, "regenerate testdata/meta/exiftool.json with exiftool")

const exiftoolGolden = "exiftool.json"

var exiftoolArgs = []string{
	"-j", "-G1", "-n", "-r", "-ext", "jpg", "-ext", "jpeg", "-ext", "png", "-ext", "webp", "-ext", "heic", "-ext", "heif",
	"-Make", "-Model", "-Software", "-Orientation", "-Artist", "-ImageDescription", "-DateTimeOriginal",
	"-OffsetTimeOriginal", "-SubSecTimeOriginal", "-UserComment", "-GPSLatitude", "-GPSLongitude",
	"-ThumbnailLength", "-ImageWidth", "-ImageHeight", "-CreatorTool", "-DigitalSourceType", "-XMP-TC260:all",
	"-Comment", "-HistorySoftwareAgent", "-HistoryAction", "-WriterName",
	"aigc", "c2pa", "corrupt", "exif-samples",
}

func regenerateExiftool(t *testing.T) {
	if _, err := exec.LookPath("exiftool"); err != nil {
		t.Fatalf("-update-meta needs exiftool: %v", err)
	}
	cmd := exec.Command("exiftool", exiftoolArgs...)
	cmd.Dir = metaTestdata
	out, err := cmd.Output()
	// exiftool exits 1 when some file had an error; the JSON is still complete.
	if err != nil && len(out) == 0 {
		t.Fatalf("exiftool: %v", err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("exiftool output: %v", err)
	}
	sort.Slice(entries, func(i, j int) bool {
		return fmt.Sprint(entries[i]["SourceFile"]) < fmt.Sprint(entries[j]["SourceFile"])
	})
	b, err := json.MarshalIndent(entries, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(metaTestdata, exiftoolGolden), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fieldTally counts agreements per field.
type fieldTally struct{ compared, agreed int }

func TestMetadataAgreesWithExiftool(t *testing.T) {
	if *updateMeta {
		regenerateExiftool(t)
	}
	raw, err := os.ReadFile(filepath.Join(metaTestdata, exiftoolGolden))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var entries []map[string]any
	if err := dec.Decode(&entries); err != nil {
		t.Fatal(err)
	}
	tally := map[string]*fieldTally{}
	var disagreements []string
	check := func(file, field string, want any, got string) {
		if want == nil {
			return
		}
		ft := tally[field]
		if ft == nil {
			ft = &fieldTally{}
			tally[field] = ft
		}
		ft.compared++
		w := strings.TrimSpace(jsonStr(want))
		if w == "0" && (field == "ThumbnailLength" || field == "Orientation") {
			w = "" // exiftool prints an absent or empty thumbnail as length 0
		}
		if w == strings.TrimSpace(got) {
			ft.agreed++
			return
		}
		if _, known := exiftoolKnownDifferences[file+" "+field]; known {
			return
		}
		disagreements = append(disagreements, fmt.Sprintf("%s %s: exiftool %q, ours %q", file, field, w, got))
	}
	for _, e := range entries {
		file := jsonStr(e["SourceFile"])
		data, err := os.ReadFile(filepath.Join(metaTestdata, file))
		if err != nil {
			t.Fatal(err)
		}
		fm, err := ReadMetadata(data)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		ex := fm.EXIF
		if ex == nil {
			ex = &ExifData{}
		}
		check(file, "Make", e["IFD0:Make"], ex.Make)
		check(file, "Model", e["IFD0:Model"], ex.Model)
		check(file, "Software", e["IFD0:Software"], ex.Software)
		check(file, "Artist", e["IFD0:Artist"], ex.Artist)
		check(file, "ImageDescription", e["IFD0:ImageDescription"], ex.ImageDescription)
		check(file, "Orientation", e["IFD0:Orientation"], itoaOrEmpty(ex.Orientation))
		check(file, "DateTimeOriginal", e["ExifIFD:DateTimeOriginal"], ex.DateTimeOriginal)
		check(file, "OffsetTimeOriginal", e["ExifIFD:OffsetTimeOriginal"], ex.OffsetTimeOrig)
		check(file, "SubSecTimeOriginal", e["ExifIFD:SubSecTimeOriginal"], ex.SubSecTimeOrig)
		check(file, "UserComment", e["ExifIFD:UserComment"], ex.UserComment)
		check(file, "ThumbnailLength", e["IFD1:ThumbnailLength"], itoaOrEmpty(len(fm.Thumbnail)))
		for _, g := range []string{"File", "PNG"} {
			if w, ok := e[g+":ImageWidth"]; ok {
				check(file, "ImageWidth", w, itoaOrEmpty(fm.Width))
				check(file, "ImageHeight", e[g+":ImageHeight"], itoaOrEmpty(fm.Height))
			}
		}
		if lat, ok := e["Composite:GPSLatitude"]; ok {
			check(file, "GPS", fmt.Sprintf("%.6f,%.6f", jsonNum(lat), jsonNum(e["Composite:GPSLongitude"])), gpsString(fm.Report.GPS))
		}
		check(file, "CreatorTool", e["XMP-xmp:CreatorTool"], fm.Report.CreatorTool)
		check(file, "DigitalSourceType", e["XMP-iptcExt:DigitalSourceType"], fm.Report.DigitalSourceType)
		for k, v := range e {
			// exiftool names the property "Aigc".
			if strings.EqualFold(k, "XMP-TC260:AIGC") {
				check(file, "TC260:AIGC", labelString(parseAIGCJSON(jsonStr(v))), labelString(fm.AIGC))
			}
		}
		if v, ok := e["File:Comment"]; ok && fm.JPEG != nil {
			got := ""
			if len(fm.JPEG.Comments) > 0 {
				got = fm.JPEG.Comments[0]
			}
			check(file, "Comment", v, got)
		}
		if v, ok := e["Photoshop:WriterName"]; ok && fm.JPEG != nil {
			check(file, "Photoshop WriterName", v, fm.JPEG.IRBWriter)
		}
		if v, ok := e["XMP-xmpMM:HistorySoftwareAgent"]; ok {
			var agents []string
			for _, h := range fm.XMP.History {
				if h.SoftwareAgent != "" {
					agents = append(agents, h.SoftwareAgent)
				}
			}
			check(file, "HistorySoftwareAgent", strings.Join(strList(v), "|"), strings.Join(agents, "|"))
		}
	}
	var names []string
	for k := range tally {
		names = append(names, k)
	}
	sort.Strings(names)
	total, agreed := 0, 0
	for _, k := range names {
		t.Logf("%-22s %3d/%3d agree", k, tally[k].agreed, tally[k].compared)
		total += tally[k].compared
		agreed += tally[k].agreed
	}
	t.Logf("all fields: %d/%d agree over %d files (%d known differences excused)", agreed, total, len(entries), len(exiftoolKnownDifferences))
	for _, d := range disagreements {
		t.Error(d)
	}
}

// exiftoolKnownDifferences are disagreements that are understood (key: "file field").
var exiftoolKnownDifferences = map[string]string{
	// The tag holds the string "1.00"; exiftool's JSON prints number-like strings as
	// numbers under -n, so it reads back as 1.
	"exif-samples/jpg/tests/35-empty.jpg Software": "exiftool JSON number formatting",
}

func jsonStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case []any:
		return strings.Join(strList(x), ", ")
	}
	return fmt.Sprint(v)
}

func strList(v any) []string {
	if l, ok := v.([]any); ok {
		var out []string
		for _, x := range l {
			out = append(out, jsonStr(x))
		}
		return out
	}
	return []string{jsonStr(v)}
}

func jsonNum(v any) float64 {
	var f float64
	fmt.Sscan(jsonStr(v), &f)
	return f
}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func gpsString(g *GPS) string {
	if g == nil {
		return ""
	}
	return fmt.Sprintf("%.6f,%.6f", g.Lat+0, g.Lon+0)
}

func labelString(l *AIGCLabel) string {
	if l == nil {
		return ""
	}
	return strings.Join([]string{l.Label, l.ContentProducer, l.ProduceID, l.ReservedCode1, l.ContentPropagator, l.PropagateID, l.ReservedCode2}, "|")
}
