package forensics

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// C2PA manifest reading: the JUMBF box tree (ISO 19566-5) holding a C2PA manifest store,
// each manifest's claim (claim_generator / claim_generator_info) and its actions
// assertions (c2pa.actions, c2pa.actions.v2: action, softwareAgent, digitalSourceType).
// Signatures, certificate chains and hard-binding hashes are NOT verified: a manifest tells
// what its writer claims, and anyone can write one. Findings word it that way.

const (
	maxJUMBFDepth = 16
	maxJUMBFBoxes = 8192
	maxC2PAItems  = 256 // actions, agents, assertions kept per store
)

// cborDecMode bounds CBOR decoding: nesting, array and map sizes. It is immutable
// configuration, shared safely.
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  24,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		DupMapKey:        cbor.DupMapKeyQuiet,
		IndefLength:      cbor.IndefLengthAllowed,
		UTF8:             cbor.UTF8DecodeInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // the options above are constants; this cannot happen at run time
	}
	return dm
}()

// jumbfBox is one box of the tree. Superboxes ("jumb") have a label and children;
// content boxes have a payload.
type jumbfBox struct {
	typ      string
	dtype    string // the description box's type UUID, first four bytes as text ("c2pa", "c2ma", "cbor"...)
	label    string
	children []*jumbfBox
	payload  []byte
}

type jumbfParser struct {
	boxes    int
	warnings []string
}

func (p *jumbfParser) warn(format string, args ...any) {
	if len(p.warnings) < 16 {
		p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
	}
}

// parseBoxes reads the sequence of boxes in b.
func (p *jumbfParser) parseBoxes(b []byte, depth int) []*jumbfBox {
	if depth > maxJUMBFDepth {
		p.warn("JUMBF nested too deeply")
		return nil
	}
	var out []*jumbfBox
	for len(b) >= 8 {
		if p.boxes >= maxJUMBFBoxes {
			p.warn("too many JUMBF boxes")
			return out
		}
		p.boxes++
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				p.warn("JUMBF box %q: truncated large size", printable([]byte(typ)))
				return out
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			p.warn("JUMBF box %q: size %d does not fit in %d bytes", printable([]byte(typ)), size, len(b))
			if size < hdr {
				return out
			}
			size = uint64(len(b)) // a truncated last box: read what is there
		}
		body := b[hdr:size]
		b = b[size:]
		box := &jumbfBox{typ: typ}
		if typ == "jumb" {
			kids := p.parseBoxes(body, depth+1)
			if len(kids) > 0 && kids[0].typ == "jumd" {
				box.dtype, box.label = describe(kids[0].payload)
				kids = kids[1:]
			}
			box.children = kids
		} else {
			box.payload = body
		}
		out = append(out, box)
	}
	return out
}

// describe reads a JUMBF description box: a 16-byte type UUID, toggles, then an optional
// NUL-terminated label.
func describe(b []byte) (dtype, label string) {
	if len(b) < 17 {
		return "", ""
	}
	dtype = strings.TrimRight(printable(b[:4]), "\x00")
	if b[16]&0x02 != 0 {
		rest := b[17:]
		if i := indexByte(rest, 0); i >= 0 {
			rest = rest[:i]
		}
		label = truncate(string(rest), 256)
	}
	return dtype, label
}

// C2PAAction is one action of a c2pa.actions assertion.
type C2PAAction struct {
	Action            string `json:"action"`
	SoftwareAgent     string `json:"software_agent,omitempty"`
	DigitalSourceType string `json:"digital_source_type,omitempty"`
}

// C2PAManifestInfo is one manifest of a store, as its writer claims it.
type C2PAManifestInfo struct {
	Label          string       `json:"label"`
	ClaimGenerator string       `json:"claim_generator,omitempty"`
	GeneratorInfo  []string     `json:"generator_info,omitempty"` // claim_generator_info names (with versions)
	Title          string       `json:"title,omitempty"`
	Format         string       `json:"format,omitempty"`
	Assertions     []string     `json:"assertions,omitempty"`
	Actions        []C2PAAction `json:"actions,omitempty"`
}

// C2PAStore is a parsed manifest store. The active manifest is the last one.
type C2PAStore struct {
	Manifests []C2PAManifestInfo
	Warnings  []string
}

// ParseC2PA reads C2PA manifest stores from JUMBF boxes (an APP11 reassembled payload, a PNG
// caBX chunk or a WebP C2PA chunk). It returns nil when none of the boxes is a C2PA store.
func ParseC2PA(jumbf ...[]byte) *C2PAStore {
	var store *C2PAStore
	p := &jumbfParser{}
	for _, b := range jumbf {
		for _, top := range p.parseBoxes(b, 0) {
			if top.typ != "jumb" || (top.label != "c2pa" && top.dtype != "c2pa") {
				continue
			}
			if store == nil {
				store = &C2PAStore{}
			}
			for _, m := range top.children {
				if m.typ != "jumb" || len(store.Manifests) >= maxC2PAItems {
					continue
				}
				store.Manifests = append(store.Manifests, readManifest(m, p))
			}
		}
	}
	if store != nil {
		store.Warnings = p.warnings
	}
	return store
}

func readManifest(m *jumbfBox, p *jumbfParser) C2PAManifestInfo {
	info := C2PAManifestInfo{Label: m.label}
	for _, part := range m.children {
		switch {
		case part.typ != "jumb":
		case strings.HasPrefix(part.label, "c2pa.claim"):
			readClaim(part, &info, p)
		case part.label == "c2pa.assertions":
			for _, a := range part.children {
				if a.typ != "jumb" || len(info.Assertions) >= maxC2PAItems {
					continue
				}
				info.Assertions = append(info.Assertions, a.label)
				if isActionsLabel(a.label) {
					readActions(a, &info, p)
				}
			}
		}
	}
	return info
}

// isActionsLabel matches c2pa.actions, c2pa.actions.v2 and their instance suffixes
// ("c2pa.actions__1").
func isActionsLabel(l string) bool {
	base, _, _ := strings.Cut(l, "__")
	return base == "c2pa.actions" || base == "c2pa.actions.v2"
}

// contentBytes returns the payload of the first cbor or json content box and which it was.
func contentBytes(b *jumbfBox) ([]byte, string) {
	for _, c := range b.children {
		if c.typ == "cbor" || c.typ == "json" {
			return c.payload, c.typ
		}
	}
	return nil, ""
}

func decodeContent(b *jumbfBox, v any, p *jumbfParser) bool {
	data, kind := contentBytes(b)
	var err error
	switch kind {
	case "cbor":
		err = cborDecMode.Unmarshal(data, v)
	case "json":
		err = json.Unmarshal(data, v)
	default:
		return false
	}
	if err != nil {
		// A field of an unexpected type is reported but the rest is still decoded.
		p.warn("C2PA %s: %v", b.label, err)
	}
	return true
}

type c2paClaim struct {
	ClaimGenerator     string          `cbor:"claim_generator" json:"claim_generator"`
	ClaimGeneratorInfo cbor.RawMessage `cbor:"claim_generator_info" json:"-"`
	Title              string          `cbor:"dc:title" json:"dc:title"`
	Format             string          `cbor:"dc:format" json:"dc:format"`
}

func readClaim(b *jumbfBox, info *C2PAManifestInfo, p *jumbfParser) {
	var c c2paClaim
	if !decodeContent(b, &c, p) {
		return
	}
	info.ClaimGenerator = truncate(c.ClaimGenerator, 512)
	info.Title, info.Format = truncate(c.Title, 512), truncate(c.Format, 128)
	if len(c.ClaimGeneratorInfo) == 0 {
		return
	}
	// v1 claims carry a list of generator-info maps, v2 claims a single map.
	var generic any
	if cborDecMode.Unmarshal(c.ClaimGeneratorInfo, &generic) != nil {
		return
	}
	list, ok := generic.([]any)
	if !ok {
		list = []any{generic}
	}
	for _, g := range list {
		if s := generatorName(g); s != "" && len(info.GeneratorInfo) < 16 {
			info.GeneratorInfo = append(info.GeneratorInfo, s)
		}
	}
}

// generatorName renders a generator-info value ({name, version} map, or a plain string).
func generatorName(g any) string {
	switch v := g.(type) {
	case string:
		return truncate(v, 256)
	case map[any]any:
		name, _ := v["name"].(string)
		if ver, ok := v["version"].(string); ok && ver != "" && name != "" {
			name += "/" + ver
		}
		return truncate(name, 256)
	}
	return ""
}

type c2paActions struct {
	Actions []struct {
		Action            string          `cbor:"action" json:"action"`
		SoftwareAgent     cbor.RawMessage `cbor:"softwareAgent" json:"-"`
		SoftwareAgentJSON json.RawMessage `cbor:"-" json:"softwareAgent"`
		DigitalSourceType string          `cbor:"digitalSourceType" json:"digitalSourceType"`
	} `cbor:"actions" json:"actions"`
}

func readActions(b *jumbfBox, info *C2PAManifestInfo, p *jumbfParser) {
	var a c2paActions
	if !decodeContent(b, &a, p) {
		return
	}
	for _, act := range a.Actions {
		if len(info.Actions) >= maxC2PAItems {
			break
		}
		var agent any
		switch {
		case len(act.SoftwareAgent) > 0:
			_ = cborDecMode.Unmarshal(act.SoftwareAgent, &agent)
		case len(act.SoftwareAgentJSON) > 0:
			var m map[string]any
			if json.Unmarshal(act.SoftwareAgentJSON, &m) == nil {
				agent = map[any]any{"name": m["name"], "version": m["version"]}
			} else {
				var s string
				_ = json.Unmarshal(act.SoftwareAgentJSON, &s)
				agent = s
			}
		}
		info.Actions = append(info.Actions, C2PAAction{
			Action:            truncate(act.Action, 256),
			SoftwareAgent:     generatorName(agent),
			DigitalSourceType: truncate(act.DigitalSourceType, 512),
		})
	}
}

// aiSourceTypes are the IPTC digital source types that mean "made by an algorithm"
// (https://cv.iptc.org/newscodes/digitalsourcetype/): generative models, composites with
// their output, and purely algorithmic pictures. compositeSynthetic is left out: it covers
// ordinary CGI composites too.
var aiSourceTypes = []string{"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia"}

// isAISourceType reports whether a digitalSourceType value (a full IPTC URI or the bare
// term) declares AI generation.
func isAISourceType(v string) bool {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexAny(v, "/#:"); i >= 0 {
		v = v[i+1:]
	}
	for _, t := range aiSourceTypes {
		if strings.EqualFold(v, t) {
			return true
		}
	}
	return false
}

// Summary condenses the store into the report's C2PAManifest: the active (last) manifest's
// generator and actions, and software agents and source types from every manifest
// (ingredients included: an AI-made ingredient matters even when a later edit is not AI).
func (s *C2PAStore) Summary() *C2PAManifest {
	if s == nil {
		return nil
	}
	out := &C2PAManifest{Manifests: len(s.Manifests)}
	seenAgent, seenDST := map[string]bool{}, map[string]bool{}
	for i, m := range s.Manifests {
		active := i == len(s.Manifests)-1
		if active {
			out.ActiveManifest = m.Label
			out.ClaimGenerator = m.ClaimGenerator
			if out.ClaimGenerator == "" && len(m.GeneratorInfo) > 0 {
				out.ClaimGenerator = m.GeneratorInfo[0]
			}
		}
		for _, a := range m.Actions {
			if active {
				out.Actions = append(out.Actions, a.Action)
			}
			if a.SoftwareAgent != "" && !seenAgent[a.SoftwareAgent] {
				seenAgent[a.SoftwareAgent] = true
				out.SoftwareAgents = append(out.SoftwareAgents, a.SoftwareAgent)
			}
			if a.DigitalSourceType != "" && !seenDST[a.DigitalSourceType] {
				seenDST[a.DigitalSourceType] = true
				out.DigitalSourceTypes = append(out.DigitalSourceTypes, a.DigitalSourceType)
			}
			if isAISourceType(a.DigitalSourceType) {
				out.AIGenerated = true
			}
		}
	}
	return out
}
