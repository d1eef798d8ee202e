package forensics

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Builders for synthetic test files: TIFF/EXIF blocks, JPEGs with extra segments, PNGs with
// extra chunks, WebP RIFF files.

type tiffEntry struct {
	tag   uint16
	typ   uint16
	count uint32
	data  []byte
	sub   *tiffIFD // for pointer tags (ExifIFD, GPS): the IFD the value points to
}

type tiffIFD struct {
	entries []tiffEntry
	next    *tiffIFD
	// thumb, when set on IFD1, is written after the IFD and pointed to by tags 0x201/0x202.
	thumb []byte
}

func asciiEntry(tag uint16, s string) tiffEntry {
	return tiffEntry{tag: tag, typ: exifTypeASCII, count: uint32(len(s) + 1), data: append([]byte(s), 0)}
}

func shortEntry(order binary.ByteOrder, tag uint16, v uint16) tiffEntry {
	b := make([]byte, 2)
	order.PutUint16(b, v)
	return tiffEntry{tag: tag, typ: exifTypeShort, count: 1, data: b}
}

func rationalEntry(order binary.ByteOrder, tag uint16, vals ...[2]uint32) tiffEntry {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		order.PutUint32(b[8*i:], v[0])
		order.PutUint32(b[8*i+4:], v[1])
	}
	return tiffEntry{tag: tag, typ: exifTypeRation, count: uint32(len(vals)), data: b}
}

func undefinedEntry(tag uint16, b []byte) tiffEntry {
	return tiffEntry{tag: tag, typ: exifTypeUndef, count: uint32(len(b)), data: b}
}

// buildTIFF serialises IFD chains into a TIFF block.
func buildTIFF(order binary.ByteOrder, ifd0 *tiffIFD) []byte {
	var buf []byte
	if order == binary.LittleEndian {
		buf = []byte("II*\x00\x00\x00\x00\x00")
	} else {
		buf = []byte("MM\x00*\x00\x00\x00\x00")
	}
	var write func(ifd *tiffIFD) uint32
	write = func(ifd *tiffIFD) uint32 {
		off := uint32(len(buf))
		n := len(ifd.entries)
		if ifd.thumb != nil {
			n += 2
		}
		table := make([]byte, 2+12*n+4)
		order.PutUint16(table, uint16(n))
		buf = append(buf, table...)
		type patch struct {
			at  int
			sub *tiffIFD
		}
		var patches []patch
		i := 0
		put := func(e tiffEntry) {
			p := int(off) + 2 + 12*i
			order.PutUint16(buf[p:], e.tag)
			order.PutUint16(buf[p+2:], e.typ)
			order.PutUint32(buf[p+4:], e.count)
			switch {
			case e.sub != nil:
				patches = append(patches, patch{p + 8, e.sub})
			case len(e.data) <= 4:
				copy(buf[p+8:], e.data)
			default:
				order.PutUint32(buf[p+8:], uint32(len(buf)))
				buf = append(buf, e.data...)
				if len(buf)%2 == 1 {
					buf = append(buf, 0)
				}
			}
			i++
		}
		for _, e := range ifd.entries {
			if e.sub != nil {
				e.typ, e.count = exifTypeLong, 1
			}
			put(e)
		}
		if ifd.thumb != nil {
			b := make([]byte, 4)
			order.PutUint32(b, uint32(len(ifd.thumb)))
			put(tiffEntry{tag: tagThumbOffset, typ: exifTypeLong, count: 1, data: []byte{0, 0, 0, 0}})
			put(tiffEntry{tag: tagThumbLength, typ: exifTypeLong, count: 1, data: b})
			p := int(off) + 2 + 12*(i-2) + 8
			order.PutUint32(buf[p:], uint32(len(buf)))
			buf = append(buf, ifd.thumb...)
		}
		// write appends to buf: take each offset before indexing buf again.
		for _, pt := range patches {
			subOff := write(pt.sub)
			order.PutUint32(buf[pt.at:], subOff)
		}
		if ifd.next != nil {
			nextOff := write(ifd.next)
			order.PutUint32(buf[int(off)+2+12*n:], nextOff)
		}
		return off
	}
	first := write(ifd0)
	order.PutUint32(buf[4:], first)
	return buf
}

// testImage is a small picture with structure: a gradient, a dark square and a few
// blobs at irregular places, so that crops and shifts of it do not look alike.
func metaTestImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	blobs := [][3]int{{15, 20, 9}, {70, 15, 7}, {85, 70, 11}, {40, 85, 6}, {60, 45, 5}} // x%, y%, radius%
	for y := range h {
		for x := range w {
			v := 40 + 180*x/w
			if x > w/4 && x < w/2 && y > h/4 && y < h*3/4 {
				v = 20
			}
			for i, b := range blobs {
				dx, dy, r := x-b[0]*w/100, y-b[1]*h/100, b[2]*min(w, h)/100
				if dx*dx+dy*dy < r*r {
					v = 250 - 45*i
				}
			}
			img.Set(x, y, color.RGBA{uint8(v), uint8(200 - 150*y/h), uint8(v / 2), 255})
		}
	}
	return img
}

func metaJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegSegment renders one marker segment.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegments inserts segments right after a JPEG's SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

func exifSegment(tiff []byte) []byte {
	return jpegSegment(0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

func xmpSegment(packet string) []byte {
	return jpegSegment(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...))
}

func metaPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngChunk(typ string, data []byte) []byte {
	out := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(data)))
	copy(out[4:], typ)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// withChunks inserts chunks right after a PNG's IHDR.
func withChunks(p []byte, chunks ...[]byte) []byte {
	ihdrEnd := 8 + 12 + 13
	out := append([]byte(nil), p[:ihdrEnd]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[ihdrEnd:]...)
}

// riffWebP builds a WebP container from chunks (fourcc, payload).
func riffWebP(chunks ...[2][]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c[0]...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(c[1])))
		body = append(body, c[1]...)
		if len(c[1])%2 == 1 {
			body = append(body, 0)
		}
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// jumbfBoxBytes renders a box.
func jumbfBoxBytes(typ string, payload []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(out, typ...), payload...)
}

// jumbfSuper renders a JUMBF superbox with a description (type's first four bytes, label).
func jumbfSuper(dtype, label string, children ...[]byte) []byte {
	d := make([]byte, 16)
	copy(d, dtype)
	copy(d[4:], []byte{0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	d = append(d, 0x03) // requestable, label present
	d = append(append(d, label...), 0)
	body := jumbfBoxBytes("jumd", d)
	for _, c := range children {
		body = append(body, c...)
	}
	return jumbfBoxBytes("jumb", body)
}
