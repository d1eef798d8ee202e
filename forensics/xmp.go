package forensics

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"sort"
	"strings"
)

// XMP reading with encoding/xml's token stream: properties are recognised by namespace URI,
// whatever prefix the writer chose, in element form (<ns:Prop>v</ns:Prop>), attribute form
// (<rdf:Description ns:Prop="v"/>) and rdf:resource form. Input size, nesting depth,
// token count and kept values are bounded.

// XMP namespaces read here.
const (
	nsRDF       = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXMPMeta   = "adobe:ns:meta/"
	nsTC260     = "http://www.tc260.org.cn/ns/AIGC/1.0/"
	nsIPTCExt   = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
	nsXMP       = "http://ns.adobe.com/xap/1.0/"
	nsXMPMM     = "http://ns.adobe.com/xap/1.0/mm/"
	nsStEvt     = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
	nsPhotoshop = "http://ns.adobe.com/photoshop/1.0/"
	nsXMPNote   = "http://ns.adobe.com/xmp/note/"
	nsEXIFXMP   = "http://ns.adobe.com/exif/1.0/"
	nsTIFFXMP   = "http://ns.adobe.com/tiff/1.0/"
	nsDC        = "http://purl.org/dc/elements/1.1/"
)

const (
	maxXMPBytes       = 8 << 20
	maxXMPDepth       = 64
	maxXMPTokens      = 1 << 18
	maxXMPValues      = 4096
	maxXMPValueLen    = 1 << 16
	maxXMPHistory     = 256
	maxXMPPerProperty = 64
)

// XMPEvent is one entry of xmpMM:History (an editing step recorded by Adobe software).
type XMPEvent struct {
	Action        string `json:"action,omitempty"`
	SoftwareAgent string `json:"software_agent,omitempty"`
	When          string `json:"when,omitempty"`
	Changed       string `json:"changed,omitempty"`
}

// XMPData is what an XMP packet says.
type XMPData struct {
	// Props maps "namespace-URI localName" to the values found, in document order
	// (array items become several values).
	Props   map[string][]string
	History []XMPEvent
	// Namespaces lists the namespace URIs properties were found in, sorted.
	Namespaces []string
	Warnings   []string
	values     int
}

// Get returns the first value of a property, or "".
func (x *XMPData) Get(ns, local string) string {
	if x == nil {
		return ""
	}
	if v := x.Props[ns+" "+local]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// All returns every value of a property.
func (x *XMPData) All(ns, local string) []string {
	if x == nil {
		return nil
	}
	return x.Props[ns+" "+local]
}

// HasNamespace reports whether any property of the namespace was found.
func (x *XMPData) HasNamespace(ns string) bool {
	if x == nil {
		return false
	}
	i := sort.SearchStrings(x.Namespaces, ns)
	return i < len(x.Namespaces) && x.Namespaces[i] == ns
}

type xmpFrame struct {
	name     xml.Name
	text     []byte
	hasChild bool
	event    *XMPEvent // set on an rdf:li of xmpMM:History
}

// ParseXMP reads an XMP packet. It never fails: what could not be read is in Warnings.
func ParseXMP(b []byte) *XMPData {
	x := &XMPData{Props: map[string][]string{}}
	if len(b) > maxXMPBytes {
		x.Warnings = append(x.Warnings, "XMP larger than the limit; read the first part only")
		b = b[:maxXMPBytes]
	}
	// Tolerate BOMs and junk before the packet.
	if i := bytes.IndexByte(b, '<'); i > 0 {
		b = b[i:]
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false // writers leave unknown entities and stray tags; take what is readable
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []*xmpFrame
	namespaces := map[string]bool{}
	for tokens := 0; ; tokens++ {
		if tokens > maxXMPTokens {
			x.warn("XMP has too many tokens; the rest was ignored")
			break
		}
		// Token resolves prefixes to namespace URIs; an undeclared prefix stays as is.
		tok, err := d.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				x.warn("XMP: " + err.Error())
			}
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMPDepth {
				x.warn("XMP nested too deeply; the rest was ignored")
				return x.finish(namespaces)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].hasChild = true
			}
			f := &xmpFrame{name: t.Name}
			stack = append(stack, f)
			x.start(stack, t.Attr, namespaces)
		case xml.CharData:
			if len(stack) > 0 {
				f := stack[len(stack)-1]
				if len(f.text)+len(t) <= maxXMPValueLen {
					f.text = append(f.text, t...)
				}
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			x.end(stack, namespaces)
			stack = stack[:len(stack)-1]
		}
	}
	return x.finish(namespaces)
}

func (x *XMPData) warn(s string) {
	if len(x.Warnings) < 16 {
		x.Warnings = append(x.Warnings, s)
	}
}

func (x *XMPData) finish(namespaces map[string]bool) *XMPData {
	for ns := range namespaces {
		x.Namespaces = append(x.Namespaces, ns)
	}
	sort.Strings(x.Namespaces)
	return x
}

// isStructural reports names that are RDF/XMP scaffolding rather than properties.
func isStructural(n xml.Name) bool {
	return n.Space == nsRDF || n.Space == nsXMPMeta || strings.EqualFold(n.Space, "rdf") || strings.EqualFold(n.Space, "x") ||
		n.Local == "xmpmeta" || n.Local == "xapmeta"
}

// property returns the property an element's value belongs to: the element itself, or for
// rdf:li / rdf:Bag / rdf:Description the nearest enclosing property element.
func property(stack []*xmpFrame) (xml.Name, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if !isStructural(stack[i].name) {
			return stack[i].name, true
		}
	}
	return xml.Name{}, false
}

// event returns the History event the innermost frames belong to, if any.
func event(stack []*xmpFrame) *XMPEvent {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].event != nil {
			return stack[i].event
		}
	}
	return nil
}

func (x *XMPData) start(stack []*xmpFrame, attrs []xml.Attr, namespaces map[string]bool) {
	f := stack[len(stack)-1]
	if isRDF(f.name, "li") && len(x.History) < maxXMPHistory {
		if p, ok := property(stack); ok && p.Space == nsXMPMM && p.Local == "History" {
			x.History = append(x.History, XMPEvent{})
			f.event = &x.History[len(x.History)-1]
		}
	}
	ev := event(stack)
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == "xml":
			continue
		case isRDF(a.Name, "resource"):
			if p, ok := property(stack); ok {
				x.add(p, a.Value, namespaces)
			}
		case a.Name.Space == nsRDF || a.Name.Space == "" || isStructural(a.Name):
			continue // rdf:about, rdf:parseType, x:xmptk
		case ev != nil && a.Name.Space == nsStEvt:
			ev.set(a.Name.Local, a.Value)
		default:
			x.add(a.Name, a.Value, namespaces)
		}
	}
}

func (x *XMPData) end(stack []*xmpFrame, namespaces map[string]bool) {
	f := stack[len(stack)-1]
	if f.hasChild {
		return
	}
	v := strings.TrimSpace(string(f.text))
	if v == "" {
		return
	}
	if ev := event(stack); ev != nil && f.name.Space == nsStEvt {
		ev.set(f.name.Local, v)
		return
	}
	if p, ok := property(stack); ok {
		x.add(p, v, namespaces)
	}
}

func isRDF(n xml.Name, local string) bool {
	return n.Local == local && (n.Space == nsRDF || strings.EqualFold(n.Space, "rdf"))
}

func (e *XMPEvent) set(local, v string) {
	v = truncate(v, 1024)
	switch local {
	case "action":
		e.Action = v
	case "softwareAgent":
		e.SoftwareAgent = v
	case "when":
		e.When = v
	case "changed":
		e.Changed = v
	}
}

func (x *XMPData) add(n xml.Name, v string, namespaces map[string]bool) {
	if x.values >= maxXMPValues {
		return
	}
	key := n.Space + " " + n.Local
	if len(x.Props[key]) >= maxXMPPerProperty {
		return
	}
	x.values++
	x.Props[key] = append(x.Props[key], truncate(v, maxXMPValueLen))
	namespaces[n.Space] = true
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
