package forensics

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Labels and traces: the GB 45438-2025 implicit label, generator parameters (Stable
// Diffusion, ComfyUI, Midjourney, NovelAI, InvokeAI), known generator and editor names.

// findAIGCLabel looks for the TC260 AIGC label: XMP TC260:AIGC, then a PNG text chunk
// keyed AIGC, then JSON in EXIF UserComment or ImageDescription.
func findAIGCLabel(fm *FileMetadata) *AIGCLabel {
	if x := fm.XMP; x != nil {
		for key, vals := range x.Props {
			ns, local, _ := strings.Cut(key, " ")
			if isTC260Namespace(ns) && strings.EqualFold(local, "AIGC") && len(vals) > 0 {
				if l := parseAIGCJSON(vals[0]); l != nil {
					l.Source = "xmp"
					return l
				}
			}
		}
	}
	for _, t := range fm.PNGText {
		if strings.EqualFold(t.Keyword, "AIGC") {
			if l := parseAIGCJSON(t.Text); l != nil {
				l.Source = "png:" + t.Keyword
				return l
			}
		}
	}
	if e := fm.EXIF; e != nil {
		for _, c := range []struct{ src, v string }{{"exif:UserComment", e.UserComment}, {"exif:ImageDescription", e.ImageDescription}} {
			if l := parseAIGCJSON(c.v); l != nil {
				l.Source = c.src
				return l
			}
		}
	}
	return nil
}

// isTC260Namespace accepts the standard URI, its variants without the trailing slash or
// over https, and an undeclared "TC260" prefix.
func isTC260Namespace(ns string) bool {
	n := strings.TrimSuffix(strings.ToLower(ns), "/")
	n = strings.TrimPrefix(strings.TrimPrefix(n, "http://"), "https://")
	return n == "www.tc260.org.cn/ns/aigc/1.0" || n == "tc260.org.cn/ns/aigc/1.0" || n == "tc260"
}

// parseAIGCJSON reads the label's JSON value. Values may be strings or numbers; a JSON
// object without Label nor ContentProducer is not a label. The whole value may itself be
// wrapped as {"AIGC": {...}}.
func parseAIGCJSON(s string) *AIGCLabel {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || len(s) > 1<<16 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	if inner, ok := m["AIGC"].(map[string]any); ok {
		m = inner
	}
	get := func(k string) string {
		for key, v := range m {
			if strings.EqualFold(key, k) {
				switch x := v.(type) {
				case string:
					return truncate(x, 512)
				case float64:
					b, _ := json.Marshal(x)
					return string(b)
				}
			}
		}
		return ""
	}
	l := &AIGCLabel{
		Label:             get("Label"),
		ContentProducer:   get("ContentProducer"),
		ProduceID:         get("ProduceID"),
		ReservedCode1:     get("ReservedCode1"),
		ContentPropagator: get("ContentPropagator"),
		PropagateID:       get("PropagateID"),
		ReservedCode2:     get("ReservedCode2"),
	}
	if l.Label == "" && l.ContentProducer == "" {
		return nil
	}
	return l
}

// generatorKeys are PNG text keywords written by image generators.
var generatorKeys = []string{"parameters", "prompt", "workflow", "Dream", "sd-metadata", "invokeai_metadata", "generation_data", "Comment", "Description", "Source", "Software"}

const maxGeneratorValue = 2048

// generatorParams returns the generator-related PNG text (truncated) and EXIF traces for
// the report, keyed by PNG keyword or "exif:<tag>"; nil when there are none.
func generatorParams(fm *FileMetadata) map[string]string {
	out := map[string]string{}
	for _, g := range detectGenerators(fm) {
		if _, ok := out[g.Source]; !ok && g.Value != "" {
			out[g.Source] = truncate(g.Value, maxGeneratorValue)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// generatorHit is one trace of an image generator.
type generatorHit struct {
	Name   string // "Stable Diffusion (A1111)", "ComfyUI", "Midjourney", ...
	Source string // "parameters", "exif:ImageDescription", "xmp:CreatorTool"...
	Value  string
	Strong bool // the trace is specific to a generator (not merely a name in a free-text field)
}

var (
	reA1111      = regexp.MustCompile(`(?s)Steps: \d+, Sampler: `)
	reMidjourney = regexp.MustCompile(`(?i)(--v(ersion)? \d|--niji|--ar \d+:\d+).*Job ID: [0-9a-f]{8}-[0-9a-f]{4}-`)
	reMJJobID    = regexp.MustCompile(`(?i)\bJob ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reUUID       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// knownGenerators are names that, in Software / CreatorTool / Make / a C2PA generator,
// identify an image generator. Matched case-insensitively as substrings.
var knownGenerators = []struct{ needle, name string }{
	{"midjourney", "Midjourney"}, {"dall-e", "DALL-E"}, {"dall·e", "DALL-E"}, {"stable diffusion", "Stable Diffusion"},
	{"comfyui", "ComfyUI"}, {"automatic1111", "Stable Diffusion (A1111)"}, {"novelai", "NovelAI"},
	{"invokeai", "InvokeAI"}, {"adobe firefly", "Adobe Firefly"}, {"ideogram", "Ideogram"},
	{"leonardo.ai", "Leonardo.Ai"}, {"black forest labs", "Flux"}, {"flux.1", "Flux"}, {"flux.2", "Flux"},
	{"imagen", "Google Imagen"}, {"gpt-4o", "OpenAI GPT-4o"}, {"chatgpt", "ChatGPT"}, {"openai", "OpenAI"},
	{"doubao", "Doubao"}, {"豆包", "Doubao"}, {"jimeng", "Jimeng"}, {"即梦", "Jimeng"}, {"dreamina", "Dreamina"},
	{"kling", "Kling"}, {"可灵", "Kling"}, {"tongyi wanxiang", "Tongyi Wanxiang"}, {"通义万相", "Tongyi Wanxiang"},
	{"wenxin yige", "ERNIE-ViLG"}, {"文心一格", "ERNIE-ViLG"}, {"bing image creator", "Bing Image Creator"},
	{"grok", "Grok"}, {"xai aurora", "Grok"}, {"runway", "Runway"}, {"nightcafe", "NightCafe"}, {"fooocus", "Fooocus"},
}

// matchGenerator returns the generator a name field mentions, or "".
func matchGenerator(v string) string {
	l := strings.ToLower(v)
	for _, g := range knownGenerators {
		if containsWord(l, g.needle) {
			return g.name
		}
	}
	return ""
}

// detectGenerators lists every trace of an image generator in the metadata. TC260 labels,
// IPTC source types and C2PA are reported by their own findings, not here.
func detectGenerators(fm *FileMetadata) []generatorHit {
	var hits []generatorHit
	add := func(name, src, v string, strong bool) {
		hits = append(hits, generatorHit{Name: name, Source: src, Value: v, Strong: strong})
	}
	for _, t := range fm.PNGText {
		k, v := t.Keyword, t.Text
		switch {
		case k == "parameters":
			// A1111 and its forks (Forge, SD.Next) write the prompt then "Steps: N, Sampler: ...".
			add("Stable Diffusion (A1111)", k, v, true)
		case k == "prompt" && strings.Contains(v, "class_type"):
			add("ComfyUI", k, v, true)
		case k == "workflow" && strings.Contains(v, "\"nodes\""):
			add("ComfyUI", k, v, true)
		case k == "Dream" || k == "sd-metadata" || k == "invokeai_metadata":
			add("InvokeAI", k, v, true)
		case k == "generation_data":
			add("Stable Diffusion", k, v, true)
		case (k == "Description" || k == "Comment" || k == "Title") && (reMidjourney.MatchString(v) || reMJJobID.MatchString(v)):
			add("Midjourney", k, v, true)
		case k == "Comment" && strings.Contains(v, "\"sampler\"") && strings.Contains(v, "\"steps\""):
			add("NovelAI", k, v, true)
		case k == "Software" || k == "Source":
			if g := matchGenerator(v); g != "" {
				add(g, k, v, true)
			}
		}
	}
	if e := fm.EXIF; e != nil {
		if reA1111.MatchString(e.UserComment) {
			add("Stable Diffusion (A1111)", "exif:UserComment", e.UserComment, true)
		}
		// Grok (xAI) writes "Signature: <base64>" to ImageDescription and UserComment and a
		// UUID to Artist.
		if strings.HasPrefix(e.ImageDescription, "Signature: ") {
			strong := reUUID.MatchString(e.Artist) || strings.HasPrefix(e.UserComment, "Signature: ")
			add("Grok (xAI)", "exif:ImageDescription", e.ImageDescription, strong)
		}
		for _, f := range []struct{ src, v string }{{"exif:Make", e.Make}, {"exif:Model", e.Model}, {"exif:Software", e.Software}, {"exif:Artist", e.Artist}} {
			if g := matchGenerator(f.v); g != "" {
				add(g, f.src, f.v, true)
			}
		}
	}
	if x := fm.XMP; x != nil {
		if v := x.Get(nsXMP, "CreatorTool"); v != "" {
			if g := matchGenerator(v); g != "" {
				add(g, "xmp:CreatorTool", v, true)
			}
		}
	}
	return hits
}

// editorClass grades software by what it can do to a picture.
type editorClass int

const (
	editorNone      editorClass = iota
	editorConverter             // batch converters and optimisers: re-encode, do not paint
	editorDeveloper             // raw developers and photo organisers: global adjustments, crops
	editorGIMP                  // GIMP: a full editor, but the usual tool for honest resizing too
	editorPainter               // pixel editors able to paint damage in
)

var editors = []struct {
	needle string
	name   string
	class  editorClass
}{
	{"photoshop lightroom", "Adobe Lightroom", editorDeveloper}, {"lightroom", "Adobe Lightroom", editorDeveloper},
	{"photoshop express", "Photoshop Express", editorPainter}, {"photoshop", "Adobe Photoshop", editorPainter},
	{"adobe fireworks", "Adobe Fireworks", editorPainter}, {"meitu", "Meitu", editorPainter}, {"美图", "Meitu", editorPainter},
	{"picsart", "PicsArt", editorPainter}, {"pixelmator", "Pixelmator", editorPainter}, {"affinity photo", "Affinity Photo", editorPainter},
	{"paint.net", "Paint.NET", editorPainter}, {"photopea", "Photopea", editorPainter}, {"canva", "Canva", editorPainter},
	{"fotor", "Fotor", editorPainter}, {"snapseed", "Snapseed", editorPainter}, {"facetune", "Facetune", editorPainter},
	{"beautycam", "BeautyCam", editorPainter}, {"醒图", "Hypic", editorPainter}, {"hypic", "Hypic", editorPainter},
	{"polarr", "Polarr", editorDeveloper}, {"vsco", "VSCO", editorDeveloper}, {"photodirector", "PhotoDirector", editorPainter},
	{"paintshop", "PaintShop Pro", editorPainter}, {"corel", "Corel", editorPainter}, {"krita", "Krita", editorPainter},
	{"luminar", "Luminar", editorDeveloper}, {"capture one", "Capture One", editorDeveloper}, {"darktable", "darktable", editorDeveloper},
	{"rawtherapee", "RawTherapee", editorDeveloper}, {"digikam", "digiKam", editorDeveloper}, {"picasa", "Picasa", editorDeveloper},
	{"photo gallery", "Windows Photo Gallery", editorDeveloper}, {"gimp", "GIMP", editorGIMP},
	{"imagemagick", "ImageMagick", editorConverter}, {"graphicsmagick", "GraphicsMagick", editorConverter},
	{"gd-jpeg", "libgd", editorConverter}, {"jpegmini", "JPEGmini", editorConverter}, {"squoosh", "Squoosh", editorConverter},
}

// matchEditor returns the editor a name field mentions.
func matchEditor(v string) (string, editorClass) {
	l := strings.ToLower(v)
	for _, e := range editors {
		if containsWord(l, e.needle) {
			return e.name, e.class
		}
	}
	return "", editorNone
}

// containsWord reports whether needle occurs in s not glued to other letters ("kling" is
// not in "sparkling", "canva" not in "canvas").
func containsWord(s, needle string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], needle)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(needle)
		if (i == 0 || !isASCIILetter(s[i-1])) && (j == len(s) || !isASCIILetter(s[j])) {
			return true
		}
		off = i + 1
	}
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
