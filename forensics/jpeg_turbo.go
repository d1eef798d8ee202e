//go:build cgo && !nolibjpeg

package forensics

// The libjpeg-turbo backend: JPEGs are decoded with DCT-domain scaling (scale_num/8), so a
// 12 MP photo is decoded straight to about 1500×1125 and box-averaged to the work raster
// row by row; no full-resolution image is ever allocated. It needs libjpeg-turbo's headers
// and library (Debian: libjpeg62-turbo-dev). Build with CGO_ENABLED=0 or -tags nolibjpeg
// for the pure-Go decoder.
//
// libjpeg reports fatal errors through error_exit, which must not return: here it longjmps
// back to the C function that called into the library (each entry point below sets its own
// setjmp), so corrupt input becomes an error instead of exit(). The jump never crosses a Go
// frame. Any warning (corrupt data that libjpeg would paper over with grey) makes the
// decode fail too, and Decode then gives the file to the pure-Go decoder: both builds
// accept and refuse the same files.

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char message[JMSG_LENGTH_MAX];
} rg_error;

typedef struct {
	struct jpeg_decompress_struct cinfo;
	rg_error err;
	int created;
} rg_decoder;

static void rg_error_exit(j_common_ptr cinfo) {
	rg_error *e = (rg_error *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, e->message);
	longjmp(e->jump, 1);
}

// Warnings (level -1) are fatal here; trace messages (level >= 0) are ignored.
static void rg_emit_message(j_common_ptr cinfo, int level) {
	if (level < 0) {
		rg_error_exit(cinfo);
	}
}

static void rg_output_message(j_common_ptr cinfo) {}

static int rg_open(rg_decoder *d, const unsigned char *data, unsigned long size) {
	memset(d, 0, sizeof(*d));
	d->cinfo.err = jpeg_std_error(&d->err.pub);
	d->err.pub.error_exit = rg_error_exit;
	d->err.pub.emit_message = rg_emit_message;
	d->err.pub.output_message = rg_output_message;
	if (setjmp(d->err.jump)) {
		return -1;
	}
	jpeg_create_decompress(&d->cinfo);
	d->created = 1;
	jpeg_mem_src(&d->cinfo, data, size);
	jpeg_read_header(&d->cinfo, TRUE);
	return 0;
}

static int rg_start(rg_decoder *d, int scale_num, J_COLOR_SPACE out) {
	if (setjmp(d->err.jump)) {
		return -1;
	}
	d->cinfo.scale_num = scale_num;
	d->cinfo.scale_denom = 8;
	d->cinfo.out_color_space = out;
	d->cinfo.dct_method = JDCT_ISLOW;
	// Replicated chroma like image/jpeg's nearest sampling; the raster averages it anyway.
	d->cinfo.do_fancy_upsampling = FALSE;
	d->cinfo.do_block_smoothing = FALSE;
	jpeg_start_decompress(&d->cinfo);
	return 0;
}

// rg_read reads up to max_rows scanlines into buf (stride bytes apart); returns the number
// read or -1 on error.
static int rg_read(rg_decoder *d, unsigned char *buf, int stride, int max_rows) {
	JSAMPROW rows[16];
	int n = 0;
	if (setjmp(d->err.jump)) {
		return -1;
	}
	while (n < max_rows && d->cinfo.output_scanline < d->cinfo.output_height) {
		int k = max_rows - n;
		if (k > 16) {
			k = 16;
		}
		for (int i = 0; i < k; i++) {
			rows[i] = buf + (size_t)(n + i) * (size_t)stride;
		}
		n += (int)jpeg_read_scanlines(&d->cinfo, rows, (JDIMENSION)k);
	}
	return n;
}

static void rg_close(rg_decoder *d) {
	if (d->created) {
		jpeg_destroy_decompress(&d->cinfo);
	}
}

static int rg_width(rg_decoder *d) { return (int)d->cinfo.image_width; }
static int rg_height(rg_decoder *d) { return (int)d->cinfo.image_height; }
static int rg_out_width(rg_decoder *d) { return (int)d->cinfo.output_width; }
static int rg_out_height(rg_decoder *d) { return (int)d->cinfo.output_height; }
static int rg_out_components(rg_decoder *d) { return d->cinfo.output_components; }
static int rg_color_space(rg_decoder *d) { return (int)d->cinfo.jpeg_color_space; }
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// libjpegTurboBuilt reports whether the libjpeg-turbo backend is compiled in.
const libjpegTurboBuilt = true

// turboBatchRows is how many scanlines one cgo call reads (and how often ctx is checked).
const turboBatchRows = 32

// decodeJPEGTurbo decodes a w×h JPEG (dimensions already checked against the limits)
// straight into the work raster, oriented. Only greyscale and YCbCr JPEGs take this path;
// anything else returns an error and falls back to the pure-Go decoder (decode_jpeg.go).
func decodeJPEGTurbo(ctx context.Context, data []byte, w, h, orientation int, path rasterPath) (*Raster, error) {
	if len(data) == 0 {
		return nil, errors.New("libjpeg: empty input")
	}
	d := (*C.rg_decoder)(C.malloc(C.sizeof_rg_decoder))
	if d == nil {
		return nil, errors.New("libjpeg: out of memory")
	}
	defer C.free(unsafe.Pointer(d))
	// libjpeg keeps the source pointer across calls, so the Go memory must stay put.
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()

	rc := C.rg_open(d, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)))
	defer C.rg_close(d)
	if rc != 0 {
		return nil, turboError(d)
	}
	if int(C.rg_width(d)) != w || int(C.rg_height(d)) != h {
		return nil, fmt.Errorf("libjpeg: size %d×%d differs from the header read by the Go decoder (%d×%d)",
			int(C.rg_width(d)), int(C.rg_height(d)), w, h)
	}
	var out C.J_COLOR_SPACE
	switch C.rg_color_space(d) {
	case C.JCS_GRAYSCALE:
		out = C.JCS_GRAYSCALE
	case C.JCS_YCbCr:
		out = C.JCS_YCbCr // no colour conversion: the raster wants YCbCr
	default:
		return nil, errors.New("libjpeg: RGB, CMYK and YCCK JPEGs take the pure-Go path")
	}
	m, ow, oh := jpegWorkSize(w, h, 1, 2, 3, 4, 5, 6, 7)
	if C.rg_start(d, C.int(m), out) != 0 {
		return nil, turboError(d)
	}
	sw, sh, comps := int(C.rg_out_width(d)), int(C.rg_out_height(d)), int(C.rg_out_components(d))
	if sw < ow || sh < oh || (comps != 1 && comps != 3) {
		return nil, fmt.Errorf("libjpeg: unexpected output %d×%d×%d for a %d×%d raster", sw, sh, comps, ow, oh)
	}
	g := newRasterGrid(w, h, sw, sh, ow, oh, transformOf(orientation), true, path)
	stride := sw * comps
	buf := make([]byte, stride*turboBatchRows)
	accY, colY, pre := make([]uint32, ow), make([]uint32, sw), make([]uint64, sw+1)
	var accCb, accCr, colCb, colCr []uint32
	if comps == 3 {
		accCb, accCr = make([]uint32, ow), make([]uint32, ow)
		colCb, colCr = make([]uint32, sw), make([]uint32, sw)
	}
	y, oy := 0, 0
	for y < sh {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := int(C.rg_read(d, (*C.uchar)(unsafe.Pointer(&buf[0])), C.int(stride), C.int(turboBatchRows)))
		if n < 0 {
			return nil, turboError(d)
		}
		if n == 0 {
			return nil, errors.New("libjpeg: no scanlines returned")
		}
		if g.perPixel() {
			for i := range n {
				row := buf[i*stride : (i+1)*stride]
				if comps == 3 {
					g.perPixelRow3(y, row)
				} else {
					g.perPixelRow(y, row, nil, nil, 0)
				}
				y++
			}
			continue
		}
		for i := range n {
			row := buf[i*stride : (i+1)*stride]
			if comps == 3 {
				addColumns3(colY, colCb, colCr, row)
			} else {
				addColumns(colY, row, 1)
			}
			if y == g.ye[oy]-1 { // the last source row of raster row oy
				g.sumCells(accY, colY, 0, pre)
				clear(colY)
				if comps == 3 {
					g.sumCells(accCb, colCb, 0, pre)
					g.sumCells(accCr, colCr, 0, pre)
					clear(colCb)
					clear(colCr)
				}
				flush(g, oy, accY, accCb, accCr)
				oy++
			}
			y++
		}
	}
	return g.r, nil
}

func turboError(d *C.rg_decoder) error {
	return fmt.Errorf("libjpeg: %s", C.GoString(&d.err.message[0]))
}
