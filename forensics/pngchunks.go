package forensics

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PNG chunk walking: IHDR for dimensions, the text chunks (tEXt, zTXt, iTXt, compressed or
// not), eXIf, and caBX (C2PA). IDAT is skipped without being read, so the cost does not
// grow with the picture. CRC mismatches are noted, not fatal: text written by careless
// tools is still evidence.

const (
	maxPNGChunks    = 1 << 16
	maxPNGTextTotal = 16 << 20 // inflated text kept per file
	maxPNGTextValue = 8 << 20  // one inflated text chunk (ComfyUI workflows run to ~1 MB)
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngText is one text chunk.
type pngText struct {
	Chunk   string // tEXt, zTXt or iTXt
	Keyword string
	Text    string
}

type pngChunks struct {
	width, height int
	colorType     int
	bitDepth      int
	texts         []pngText
	exif          []byte
	xmp           []byte
	jumbf         [][]byte
	hasTIME       bool
	chunkTypes    []string // distinct ancillary chunk types in order, for reports
	warnings      []string
	textBytes     int
}

func (p *pngChunks) warn(s string) {
	if len(p.warnings) < 32 {
		p.warnings = append(p.warnings, s)
	}
}

// walkPNG walks the chunks of a PNG file.
func walkPNG(data []byte) *pngChunks {
	p := &pngChunks{}
	if !bytes.HasPrefix(data, pngSignature) {
		p.warn("not a PNG: missing signature")
		return p
	}
	pos := len(pngSignature)
	seen := map[string]bool{}
	for n := 0; n < maxPNGChunks; n++ {
		if pos+8 > len(data) {
			p.warn("PNG ends without IEND")
			return p
		}
		length := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := data[pos+4 : pos+8]
		start := uint64(pos) + 8
		if length > 1<<31-1 || start+length > uint64(len(data)) {
			p.warn("PNG chunk " + printable(typ) + " truncated")
			return p
		}
		body := data[start : start+length]
		crcOK := true
		end := start + length + 4
		switch {
		case end > uint64(len(data)):
			p.warn("PNG chunk " + printable(typ) + " without CRC")
			crcOK = false
		case string(typ) != "IDAT":
			crcOK = crc32.Update(crc32.ChecksumIEEE(typ), crc32.IEEETable, body) == binary.BigEndian.Uint32(data[start+length:])
			if !crcOK {
				p.warn("PNG chunk " + printable(typ) + " has a bad CRC")
			}
		}
		t := string(typ)
		if !seen[t] && t != "IHDR" && t != "IDAT" && t != "IEND" && len(p.chunkTypes) < 64 {
			seen[t] = true
			p.chunkTypes = append(p.chunkTypes, printable(typ))
		}
		p.chunk(t, body)
		if t == "IEND" || end > uint64(len(data)) {
			return p
		}
		pos = int(end)
	}
	p.warn("too many PNG chunks")
	return p
}

func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			sb.WriteByte(c)
		} else {
			sb.WriteString("\\x" + strconv.FormatUint(uint64(c), 16))
		}
	}
	return sb.String()
}

func (p *pngChunks) chunk(typ string, body []byte) {
	switch typ {
	case "IHDR":
		if len(body) >= 13 {
			p.width = int(binary.BigEndian.Uint32(body))
			p.height = int(binary.BigEndian.Uint32(body[4:]))
			p.bitDepth, p.colorType = int(body[8]), int(body[9])
		}
	case "tEXt":
		k, v, ok := bytes.Cut(body, []byte{0})
		if ok {
			p.addText(typ, k, textBytes(v))
		}
	case "zTXt":
		k, rest, ok := bytes.Cut(body, []byte{0})
		if !ok || len(rest) < 1 {
			p.warn("malformed zTXt chunk")
			return
		}
		if v, ok := p.inflate(rest[1:]); ok {
			p.addText(typ, k, textBytes(v))
		}
	case "iTXt":
		p.iTXt(body)
	case "eXIf":
		if p.exif == nil {
			p.exif = body
		}
	case "caBX":
		if len(p.jumbf) < maxJUMBFStreams {
			p.jumbf = append(p.jumbf, body)
		}
	case "tIME":
		p.hasTIME = true
	}
}

// iTXt: keyword NUL, compression flag, method, language NUL, translated keyword NUL, text.
func (p *pngChunks) iTXt(body []byte) {
	k, rest, ok := bytes.Cut(body, []byte{0})
	if !ok || len(rest) < 2 {
		p.warn("malformed iTXt chunk")
		return
	}
	compressed := rest[0] == 1
	rest = rest[2:]
	_, rest, ok1 := bytes.Cut(rest, []byte{0}) // language tag
	_, rest, ok2 := bytes.Cut(rest, []byte{0}) // translated keyword
	if !ok1 || !ok2 {
		p.warn("malformed iTXt chunk")
		return
	}
	text := rest
	if compressed {
		var ok bool
		if text, ok = p.inflate(rest); !ok {
			return
		}
	}
	p.addText("iTXt", k, string(text))
}

// inflate decompresses a zlib stream, refusing to produce more than the per-file budget.
func (p *pngChunks) inflate(b []byte) ([]byte, bool) {
	budget := min(maxPNGTextValue, maxPNGTextTotal-p.textBytes)
	if budget <= 0 {
		p.warn("PNG text budget exhausted")
		return nil, false
	}
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		p.warn("PNG compressed text: " + err.Error())
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(budget)+1))
	if len(out) > budget {
		p.warn("PNG compressed text over the size limit")
		return nil, false
	}
	if err != nil {
		p.warn("PNG compressed text: " + err.Error())
		// Keep what inflated: a truncated prompt is still a prompt.
	}
	return out, true
}

// textBytes decodes tEXt/zTXt text: Latin-1 by the standard, UTF-8 in practice (A1111 and
// Midjourney write UTF-8), so valid UTF-8 is kept as is.
func textBytes(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return latin1(b)
}

func (p *pngChunks) addText(chunk string, keyword []byte, text string) {
	if p.textBytes+len(text) > maxPNGTextTotal || len(p.texts) >= 256 {
		p.warn("PNG text budget exhausted")
		return
	}
	p.textBytes += len(text)
	k := textBytes(keyword)
	switch {
	case k == "XML:com.adobe.xmp":
		if p.xmp == nil {
			p.xmp = []byte(text)
		}
		return
	case strings.HasPrefix(k, "Raw profile type ") && (strings.HasSuffix(k, "exif") || strings.HasSuffix(k, "APP1")):
		// ImageMagick stores EXIF as hex text: "\nexif\n  <length>\n<hex lines>".
		if p.exif == nil {
			p.exif = rawProfile(text)
		}
		return
	case strings.HasPrefix(k, "Raw profile type ") && strings.HasSuffix(k, "xmp"):
		if p.xmp == nil {
			p.xmp = rawProfile(text)
		}
		return
	}
	p.texts = append(p.texts, pngText{Chunk: chunk, Keyword: k, Text: text})
}

// rawProfile decodes ImageMagick's hex "Raw profile type" text; EXIF profiles may carry the
// "Exif\0\0" prefix, which is removed.
func rawProfile(text string) []byte {
	lines := strings.SplitN(strings.TrimLeft(text, "\n"), "\n", 3)
	if len(lines) < 3 {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n <= 0 || n > len(lines[2]) {
		return nil
	}
	h := strings.Map(func(r rune) rune {
		if r == '\n' || r == ' ' || r == '\r' {
			return -1
		}
		return r
	}, lines[2])
	b, err := hex.DecodeString(h[:min(len(h), 2*n)])
	if err != nil {
		return nil
	}
	return bytes.TrimPrefix(b, exifHeader)
}
