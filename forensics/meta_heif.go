package forensics

import (
	"bytes"
	"encoding/binary"
)

// HEIF/AVIF metadata: the ISO-BMFF 'meta' box lists items (iinf) and where their bytes are
// (iloc); EXIF is an item of type "Exif" (a 4-byte offset to the TIFF header, then the
// TIFF), XMP an item of type "mime" with content type application/rdf+xml. Image size
// comes from the largest 'ispe' property. Only items stored in the file itself
// (construction method 0) are read. Orientation in HEIF is carried by the irot/imir
// properties the decoder applies, not by the EXIF tag, which is informational there.

const (
	maxHEIFBoxes = 4096
	maxHEIFItems = 1024
)

type heifChunks struct {
	width, height int
	exif          []byte
	xmp           []byte
	warnings      []string
}

type heifItem struct {
	typ, contentType string
	offset, length   uint64
	located          bool
}

// isoBox is one ISO-BMFF box: its type and body.
type isoBox struct {
	typ  string
	body []byte
}

// isoBoxes splits b into boxes; count is shared across calls to bound the total work.
func isoBoxes(b []byte, count *int) ([]isoBox, bool) {
	var out []isoBox
	for len(b) >= 8 {
		if *count >= maxHEIFBoxes {
			return out, false
		}
		*count++
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return out, false
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return out, false
		}
		out = append(out, isoBox{typ, b[hdr:size]})
		b = b[size:]
	}
	return out, true
}

// walkHEIF reads the metadata items of a HEIF or AVIF file.
func walkHEIF(data []byte) *heifChunks {
	h := &heifChunks{}
	count := 0
	top, ok := isoBoxes(data, &count)
	if !ok {
		h.warnings = append(h.warnings, "HEIF box structure damaged or too large")
	}
	for _, box := range top {
		if box.typ == "meta" && len(box.body) >= 4 {
			h.meta(box.body[4:], data, &count) // skip version and flags
			break
		}
	}
	return h
}

func (h *heifChunks) meta(b, file []byte, count *int) {
	boxes, _ := isoBoxes(b, count)
	items := map[uint32]*heifItem{}
	for _, box := range boxes {
		switch box.typ {
		case "iinf":
			h.iinf(box.body, items, count)
		case "iloc":
			h.iloc(box.body, items)
		case "iprp":
			h.iprp(box.body, count)
		}
	}
	for _, it := range items {
		if !it.located || it.offset+it.length > uint64(len(file)) {
			continue
		}
		payload := file[it.offset : it.offset+it.length]
		switch {
		case it.typ == "Exif" && h.exif == nil && len(payload) >= 4:
			skip := uint64(binary.BigEndian.Uint32(payload))
			if 4+skip <= uint64(len(payload)) {
				h.exif = bytes.TrimPrefix(payload[4+skip:], exifHeader)
			}
		case it.typ == "mime" && it.contentType == "application/rdf+xml" && h.xmp == nil:
			h.xmp = payload
		}
	}
}

// iinf: version, entry count, then infe boxes (version 2 and 3 carry the item type).
func (h *heifChunks) iinf(b []byte, items map[uint32]*heifItem, count *int) {
	if len(b) < 4 {
		return
	}
	n := 2
	if b[0] != 0 {
		n = 4
	}
	if len(b) < 4+n {
		return
	}
	boxes, _ := isoBoxes(b[4+n:], count)
	for _, box := range boxes {
		if box.typ != "infe" || len(box.body) < 4 || len(items) >= maxHEIFItems {
			continue
		}
		v, p := box.body[0], box.body[4:]
		var id uint32
		switch {
		case v == 2 && len(p) >= 8:
			id, p = uint32(binary.BigEndian.Uint16(p)), p[2:]
		case v == 3 && len(p) >= 10:
			id, p = binary.BigEndian.Uint32(p), p[4:]
		default:
			continue
		}
		it := item(items, id)
		it.typ = string(p[2:6]) // after item_protection_index
		rest := p[6:]
		if _, after, ok := bytes.Cut(rest, []byte{0}); ok && it.typ == "mime" { // item name, then content type
			ct, _, _ := bytes.Cut(after, []byte{0})
			it.contentType = string(ct)
		}
	}
}

func item(items map[uint32]*heifItem, id uint32) *heifItem {
	it, ok := items[id]
	if !ok {
		it = &heifItem{}
		items[id] = it
	}
	return it
}

// iloc reads item locations; only single-extent items at file offsets are kept.
func (h *heifChunks) iloc(b []byte, items map[uint32]*heifItem) {
	if len(b) < 8 {
		return
	}
	v := b[0]
	offSize, lenSize := int(b[4]>>4), int(b[4]&0x0F)
	baseSize, idxSize := int(b[5]>>4), 0
	if v == 1 || v == 2 {
		idxSize = int(b[5] & 0x0F)
	}
	r := &byteReader{b: b[6:]}
	var n uint32
	if v < 2 {
		n = uint32(r.uint(2))
	} else {
		n = uint32(r.uint(4))
	}
	for i := uint32(0); i < n && i < maxHEIFItems && !r.failed; i++ {
		var id uint32
		if v < 2 {
			id = uint32(r.uint(2))
		} else {
			id = uint32(r.uint(4))
		}
		method := uint64(0)
		if v == 1 || v == 2 {
			method = r.uint(2) & 0x0F
		}
		r.uint(2) // data reference index
		base := r.uint(baseSize)
		extents := r.uint(2)
		var off, length uint64
		for e := uint64(0); e < extents && !r.failed; e++ {
			if idxSize > 0 {
				r.uint(idxSize)
			}
			o, l := r.uint(offSize), r.uint(lenSize)
			if e == 0 {
				off, length = o, l
			}
		}
		if r.failed || method != 0 || extents != 1 || length == 0 {
			continue
		}
		if len(items) >= maxHEIFItems && items[id] == nil {
			continue
		}
		it := item(items, id)
		it.offset, it.length, it.located = base+off, length, true
	}
}

// iprp → ipco → ispe: the largest spatial extent is the primary image's size (grid
// tiles and thumbnails are smaller).
func (h *heifChunks) iprp(b []byte, count *int) {
	boxes, _ := isoBoxes(b, count)
	for _, box := range boxes {
		if box.typ != "ipco" {
			continue
		}
		props, _ := isoBoxes(box.body, count)
		for _, p := range props {
			if p.typ == "ispe" && len(p.body) >= 12 {
				w, hh := binary.BigEndian.Uint32(p.body[4:]), binary.BigEndian.Uint32(p.body[8:])
				if uint64(w)*uint64(hh) > uint64(h.width)*uint64(h.height) && w < 1<<20 && hh < 1<<20 {
					h.width, h.height = int(w), int(hh)
				}
			}
		}
	}
}

// byteReader reads big-endian integers of 0, 2, 4 or 8 bytes, remembering a short read.
type byteReader struct {
	b      []byte
	failed bool
}

func (r *byteReader) uint(n int) uint64 {
	if n == 0 {
		return 0
	}
	if len(r.b) < n || (n != 2 && n != 4 && n != 8) {
		r.failed = true
		return 0
	}
	var v uint64
	for _, c := range r.b[:n] {
		v = v<<8 | uint64(c)
	}
	r.b = r.b[n:]
	return v
}
