//go:build ignore

// reducepng copies a PNG keeping every chunk but IDAT, whose pixels it replaces with a
// flat grey picture of the same size, colour type and bit depth. The metadata (text,
// iTXt XMP, caBX C2PA, eXIf) is byte-for-byte the original's; the file shrinks from
// megabytes to kilobytes. C2PA hard-binding hashes no longer match (the pixels changed),
// which the metadata reader does not check anyway.
//
//	go run reducepng.go IN.png OUT.png
package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
)

func main() {
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	out := bytes.NewBuffer(append([]byte(nil), in[:8]...))
	var w, h, channels int
	wroteIDAT := false
	for p := 8; p+12 <= len(in); {
		n := int(binary.BigEndian.Uint32(in[p:]))
		typ := string(in[p+4 : p+8])
		body := in[p+8 : p+8+n]
		switch typ {
		case "IHDR":
			w, h = int(binary.BigEndian.Uint32(body)), int(binary.BigEndian.Uint32(body[4:]))
			if body[8] != 8 || body[12] != 0 {
				panic("only 8-bit non-interlaced PNGs")
			}
			channels = map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[body[9]]
			out.Write(in[p : p+12+n])
		case "IDAT":
			if !wroteIDAT {
				wroteIDAT = true
				var z bytes.Buffer
				zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
				row := make([]byte, 1+w*channels)
				for i := 1; i < len(row); i++ {
					row[i] = 0x80
					if (channels == 2 || channels == 4) && (i-1)%channels == channels-1 {
						row[i] = 0xFF
					}
				}
				for range h {
					zw.Write(row)
				}
				zw.Close()
				writeChunk(out, "IDAT", z.Bytes())
			}
		default:
			out.Write(in[p : p+12+n])
		}
		p += 12 + n
	}
	if err := os.WriteFile(os.Args[2], out.Bytes(), 0o644); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d -> %d bytes\n", os.Args[2], len(in), out.Len())
}

func writeChunk(b *bytes.Buffer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(data)))
	copy(hdr[4:], typ)
	b.Write(hdr[:])
	b.Write(data)
	c := crc32.ChecksumIEEE(append([]byte(typ), data...))
	binary.BigEndian.PutUint32(hdr[:4], c)
	b.Write(hdr[:4])
}
