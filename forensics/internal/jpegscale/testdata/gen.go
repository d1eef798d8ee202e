//go:build ignore

// gen writes the test JPEGs of this directory with libjpeg (cgo; Debian
// libjpeg62-turbo-dev): crops of Meta's PDQ test photo (see NOTICE) encoded in every layout
// the decoder must scale: baseline 4:2:0/4:2:2/4:4:0/4:1:1/4:4:4, grey, restart
// intervals, progressive, one scan per component, RGB, CMYK and YCCK (Adobe), and sizes
// with partial MCUs.
//
//	cd testdata && go run gen.go ../../../testdata/pdq/reg-test-input/dih/bridge-1-original.jpg
package main

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

// encode compresses w×h pixels of comps channels (in_space) into *out.
// hv holds each component's sampling factors as 0xHV; prog asks for the simple
// progression; scans, if > 0, writes one sequential scan per component.
static int encode(unsigned char *pix, int w, int h, int comps, int in_space, int jpeg_space,
		int quality, const int *hv, int prog, int restart_mcus, int restart_rows, int scans,
		unsigned char **out, unsigned long *outSize) {
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, out, outSize);
	c.image_width = w;
	c.image_height = h;
	c.input_components = comps;
	c.in_color_space = (J_COLOR_SPACE)in_space;
	jpeg_set_defaults(&c);
	jpeg_set_colorspace(&c, (J_COLOR_SPACE)jpeg_space);
	jpeg_set_quality(&c, quality, TRUE);
	for (int i = 0; i < c.num_components; i++) {
		c.comp_info[i].h_samp_factor = hv[i] >> 4;
		c.comp_info[i].v_samp_factor = hv[i] & 15;
	}
	c.restart_interval = restart_mcus;
	c.restart_in_rows = restart_rows;
	jpeg_scan_info si[4];
	if (prog) {
		jpeg_simple_progression(&c);
	} else if (scans) {
		for (int i = 0; i < c.num_components; i++) {
			si[i].comps_in_scan = 1;
			si[i].component_index[0] = i;
			si[i].Ss = 0; si[i].Se = 63; si[i].Ah = 0; si[i].Al = 0;
		}
		c.scan_info = si;
		c.num_scans = c.num_components;
	}
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = pix + (size_t)c.next_scanline * w * comps;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return 0;
}
*/
import "C"

import (
	"image"
	"image/jpeg"
	"log"
	"os"
	"unsafe"
)

type variant struct {
	name             string
	crop             image.Rectangle
	in, out          C.int // J_COLOR_SPACE of the input pixels and of the file
	hv               []C.int
	prog             bool
	restart, rstRows int
	scans            bool
}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	src, err := jpeg.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	// 203×157: neither side a multiple of 8 or 16, so every variant has partial MCUs.
	crop := image.Rect(700, 420, 903, 577)
	tiny := image.Rect(900, 500, 909, 517)
	dot := image.Rect(900, 500, 901, 501)
	rgb, grey, cmyk := C.int(C.JCS_RGB), C.int(C.JCS_GRAYSCALE), C.int(C.JCS_CMYK)
	ycc, ycck := C.int(C.JCS_YCbCr), C.int(C.JCS_YCCK)
	h420, h422, h440, h411, h444 := []C.int{0x22, 0x11, 0x11}, []C.int{0x21, 0x11, 0x11},
		[]C.int{0x12, 0x11, 0x11}, []C.int{0x41, 0x11, 0x11}, []C.int{0x11, 0x11, 0x11}
	variants := []variant{
		{name: "baseline-420", crop: crop, in: rgb, out: ycc, hv: h420},
		{name: "baseline-422", crop: crop, in: rgb, out: ycc, hv: h422},
		{name: "baseline-440", crop: crop, in: rgb, out: ycc, hv: h440},
		{name: "baseline-411", crop: crop, in: rgb, out: ycc, hv: h411},
		{name: "baseline-444", crop: crop, in: rgb, out: ycc, hv: h444},
		{name: "grey", crop: crop, in: rgb, out: grey, hv: []C.int{0x11}},
		{name: "restart-420", crop: crop, in: rgb, out: ycc, hv: h420, restart: 3},
		{name: "restart-grey", crop: crop, in: rgb, out: grey, hv: []C.int{0x11}, rstRows: 1},
		{name: "progressive-420", crop: crop, in: rgb, out: ycc, hv: h420, prog: true},
		// image/jpeg counts restart intervals in non-interleaved scans per MCU of the
		// interleaved grid, not per block, so it refuses progressive files with restarts
		// whose luma has sampling factors above 1 (libjpeg's default 4:2:0); 4:4:4 it reads.
		{name: "progressive-444-restart", crop: crop, in: rgb, out: ycc, hv: h444, prog: true, restart: 2},
		{name: "progressive-grey", crop: crop, in: rgb, out: grey, hv: []C.int{0x11}, prog: true},
		{name: "multiscan-420", crop: crop, in: rgb, out: ycc, hv: h420, scans: true},
		{name: "rgb", crop: crop, in: rgb, out: rgb, hv: h444},
		{name: "cmyk", crop: crop, in: cmyk, out: cmyk, hv: []C.int{0x11, 0x11, 0x11, 0x11}},
		{name: "ycck-420", crop: crop, in: cmyk, out: ycck, hv: []C.int{0x22, 0x11, 0x11, 0x22}},
		{name: "progressive-cmyk", crop: crop, in: cmyk, out: cmyk, hv: []C.int{0x11, 0x11, 0x11, 0x11}, prog: true},
		{name: "tiny-420", crop: tiny, in: rgb, out: ycc, hv: h420},
		{name: "tiny-progressive-420", crop: tiny, in: rgb, out: ycc, hv: h420, prog: true},
		{name: "dot-420", crop: dot, in: rgb, out: ycc, hv: h420},
	}
	for _, v := range variants {
		comps := 3
		if v.in == cmyk {
			comps = 4
		}
		w, h := v.crop.Dx(), v.crop.Dy()
		pix := make([]byte, w*h*comps)
		for y := range h {
			for x := range w {
				r, g, b, _ := src.At(v.crop.Min.X+x, v.crop.Min.Y+y).RGBA()
				p := pix[(y*w+x)*comps:]
				if comps == 3 {
					p[0], p[1], p[2] = byte(r>>8), byte(g>>8), byte(b>>8)
					continue
				}
				// Naive CMYK with grey component replacement; libjpeg stores it as given
				// and the Adobe marker makes readers invert it.
				c, m, yy := 255-byte(r>>8), 255-byte(g>>8), 255-byte(b>>8)
				k := min(c, m, yy) / 2
				p[0], p[1], p[2], p[3] = 255-(c-k), 255-(m-k), 255-(yy-k), 255-k
			}
		}
		var out *C.uchar
		var size C.ulong
		C.encode((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(w), C.int(h), C.int(comps), v.in, v.out,
			85, &v.hv[0], cBool(v.prog), C.int(v.restart), C.int(v.rstRows), cBool(v.scans), &out, &size)
		data := C.GoBytes(unsafe.Pointer(out), C.int(size))
		C.free(unsafe.Pointer(out))
		if err := os.WriteFile(v.name+".jpg", data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
