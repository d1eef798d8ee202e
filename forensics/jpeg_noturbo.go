//go:build !cgo || nolibjpeg

package forensics

import (
	"context"
	"errors"
)

// libjpegTurboBuilt reports whether the libjpeg-turbo backend is compiled in. This build
// (CGO_ENABLED=0 or -tags nolibjpeg) decodes every JPEG with the pure-Go backend
// (decode_jpeg.go: image/jpeg's decoder with DCT-domain scaling).
const libjpegTurboBuilt = false

func decodeJPEGTurbo(context.Context, []byte, int, int, int, rasterPath) (*Raster, error) {
	return nil, errors.New("libjpeg-turbo backend not built (CGO_ENABLED=0 or -tags nolibjpeg)")
}
