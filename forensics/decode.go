package forensics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/webp"

	"github.com/refundguard/refundguard/forensics/internal/jpegscale"
)

// WorkSide is the longest side of Decoded.Work, the raster every pixel stage (hashes,
// matching, alignment, local diffs) works on. 1024 keeps a painted crack a few pixels wide
// visible while a 12 MP photo's raster stays under 10 MB with chroma. A JPEG whose 1/2,
// 1/4 or 1/8 decode has a long side of 960-1023 px keeps that size (minWorkSide): a 12 MP
// photo's raster is its 1/4 decode, 1000-1008 px.
const WorkSide = 1024

// Backends that can produce a Decoded.
const (
	BackendGo           = "go"            // the standard library and golang.org/x/image
	BackendLibjpegTurbo = "libjpeg-turbo" // cgo, DCT-domain scaled (JPEG only; see jpeg_turbo.go)
)

// Decoded is a photo ready for analysis: what the file is, its size as displayed, and a
// reduced raster of the displayed picture. The full-resolution pixels are not kept.
type Decoded struct {
	Format      string  // "jpeg", "png", "webp" or "gif" (sniffed from the content, never the name)
	Width       int     // full-resolution width after EXIF orientation
	Height      int     // full-resolution height after EXIF orientation
	Orientation int     // EXIF orientation that was applied (1-8; 1 when the file has none)
	Work        *Raster // displayed picture, luma and chroma, long side at most WorkSide
	Backend     string  // BackendGo or BackendLibjpegTurbo
}

// Decoder decodes photos for analysis. The zero value uses the default limits and the
// fastest backend built in. It is safe for concurrent use.
type Decoder struct {
	Limits Limits
	// PureGo skips the libjpeg-turbo backend even where it is built in: for comparing the
	// two backends and for bisecting a decoding difference.
	PureGo bool
}

// Decode decodes a JPEG, PNG, WebP or GIF (first frame) photo with the default backend;
// see Decoder.Decode.
func Decode(ctx context.Context, data []byte, limits Limits) (*Decoded, error) {
	return Decoder{Limits: limits}.Decode(ctx, data)
}

// Decode sniffs the format from the content, reads the header's dimensions and refuses the
// file before decoding when it is over the byte or pixel limit, reads the EXIF orientation,
// decodes, and builds Decoded.Work straight from the decoder's planes (box average, then
// the orientation applied to the small raster). JPEGs are decoded at a reduced scale in
// the DCT domain by either backend (decode_jpeg.go, jpeg_turbo.go), so no full-resolution
// JPEG is ever held in memory. Errors are *Error with code
// unsupported_format (not an image, HEIC/AVIF, an unsupported JPEG variant), corrupt,
// too_large or canceled. No input makes it panic; time and memory are bounded by the
// limits.
func (dec Decoder) Decode(ctx context.Context, data []byte) (*Decoded, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceledError(err)
	}
	lim := dec.Limits.withDefaults()
	if err := lim.checkBytes(len(data)); err != nil {
		return nil, err
	}
	format := sniffFormat(data)
	if err := unsupported(format, data); err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(format, data)
	if err != nil {
		return nil, classify(format, err, "cannot read the %s header", format)
	}
	if err := lim.checkPixels(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	orientation := 1
	if format != "gif" {
		orientation = Orientation(data)
	}
	if format == "jpeg" {
		if err := checkJPEGScans(data); err != nil {
			return nil, err
		}
		if !dec.PureGo && libjpegTurboBuilt {
			work, err := decodeJPEGTurbo(ctx, data, cfg.Width, cfg.Height, orientation, pathAuto)
			if err == nil {
				return newDecoded(format, orientation, work, BackendLibjpegTurbo), nil
			}
			if ctx.Err() != nil {
				return nil, canceledError(ctx.Err())
			}
			// Anything libjpeg refuses gets the Go decoder's verdict, so both builds
			// accept and refuse the same files.
		}
		work, err := decodeJPEGGo(ctx, data, cfg.Width, cfg.Height, orientation, pathAuto)
		if err != nil {
			if ctx.Err() != nil {
				return nil, canceledError(ctx.Err())
			}
			return nil, classify(format, err, "cannot decode the %s image", format)
		}
		return newDecoded(format, orientation, work, BackendGo), nil
	}
	img, err := decodeImage(ctx, format, data)
	if err != nil {
		if ctx.Err() != nil {
			return nil, canceledError(ctx.Err())
		}
		return nil, classify(format, err, "cannot decode the %s image", format)
	}
	b := img.Bounds()
	if err := lim.checkPixels(b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	if format == "webp" {
		expandVP8Range(img)
	}
	work := RasterFromImage(img, orientation, WorkSide, true)
	return newDecoded(format, orientation, work, BackendGo), nil
}

// expandVP8Range rescales lossy WebP planes in place from the video range VP8 codes in
// (luma 16-235, chroma 16-240, as libwebp converts them) to the full range image.YCbCr
// means; x/image/webp returns them unconverted, which would show every WebP greyer than
// the JPEG it was made from.
func expandVP8Range(img image.Image) {
	var m *image.YCbCr
	switch v := img.(type) {
	case *image.YCbCr:
		m = v
	case *image.NYCbCrA:
		m = &v.YCbCr
	default:
		return // lossless WebP is RGB
	}
	var ly, lc [256]uint8
	for i := range 256 {
		ly[i] = uint8(min(max((float64(i)-16)*255/219+0.5, 0), 255))
		lc[i] = uint8(min(max((float64(i)-128)*127/112+128.5, 0), 255))
	}
	for i, v := range m.Y {
		m.Y[i] = ly[v]
	}
	for i, v := range m.Cb {
		m.Cb[i] = lc[v]
	}
	for i, v := range m.Cr {
		m.Cr[i] = lc[v]
	}
}

func newDecoded(format string, orientation int, work *Raster, backend string) *Decoded {
	return &Decoded{
		Format:      format,
		Width:       work.FullW,
		Height:      work.FullH,
		Orientation: orientation,
		Work:        work,
		Backend:     backend,
	}
}

// sniffFormat names the image format from the first bytes: "jpeg", "png", "webp", "gif",
// "heif" (HEIC and other HEIF brands), "avif", or "" when it is none of these.
func sniffFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return isoBrand(data)
	}
	return ""
}

// isoBrand classifies an ISO base media file by its ftyp major and compatible brands.
func isoBrand(data []byte) string {
	size := int(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3]))
	size = min(max(size, 12), len(data), 256)
	kind := ""
	for off := 8; off+4 <= size; off += 4 {
		if off == 12 {
			continue // minor version, not a brand
		}
		switch string(data[off : off+4]) {
		case "avif", "avis":
			return "avif"
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			kind = "heif"
		}
	}
	return kind
}

// unsupported explains formats that are recognised but not decoded.
func unsupported(format string, data []byte) error {
	switch format {
	case "jpeg", "png", "gif", "webp":
		return nil
	case "heif":
		return newError(ErrCodeUnsupportedFormat, nil,
			"HEIC/HEIF photos cannot be analysed yet; please upload the photo as JPEG "+
				"(on an iPhone: Settings > Camera > Formats > Most Compatible, or share it as JPEG)")
	case "avif":
		return newError(ErrCodeUnsupportedFormat, nil, "AVIF images cannot be analysed; please upload the photo as JPEG")
	}
	if name := otherFormat(data); name != "" {
		return newError(ErrCodeUnsupportedFormat, nil, "%s files cannot be analysed; please upload a JPEG, PNG, WebP or GIF photo", name)
	}
	return newError(ErrCodeUnsupportedFormat, nil, "not a JPEG, PNG, WebP or GIF image")
}

// otherFormat names a few common non-image or unsupported uploads for a clearer message.
func otherFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "TIFF"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) > 14:
		return "BMP"
	case bytes.HasPrefix(data, []byte("%PDF")):
		return "PDF"
	case bytes.HasPrefix(data, []byte{0xFF, 0x4F, 0xFF, 0x51}), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cjP  ")):
		return "JPEG 2000"
	case bytes.HasPrefix(data, []byte{0xFF, 0x0A}), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL ")):
		return "JPEG XL"
	}
	return ""
}

// codec is one format's standard decoder.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error) // GIF: the first frame
}

var codecs = map[string]codec{
	"jpeg": {jpegscale.DecodeConfig, jpegscale.Decode}, // image/jpeg's parser; see decode_jpeg.go
	"png":  {png.DecodeConfig, png.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

func decodeConfig(format string, data []byte) (image.Config, error) {
	c, ok := codecs[format]
	if !ok {
		return image.Config{}, fmt.Errorf("no decoder for %q", format)
	}
	return c.config(bytes.NewReader(data))
}

// decodeImage decodes the full picture. Reads check ctx, so a cancelled request stops
// within one buffer refill.
func decodeImage(ctx context.Context, format string, data []byte) (image.Image, error) {
	c, ok := codecs[format]
	if !ok {
		return nil, fmt.Errorf("no decoder for %q", format)
	}
	return c.decode(&ctxReader{ctx: ctx, r: bytes.NewReader(data)})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// classify turns a decoder's error into an *Error: unsupported variants of a known format
// (arithmetic-coded or 12-bit JPEG, animated WebP) are unsupported_format, everything else
// is corrupt.
func classify(format string, err error, msg string, args ...any) *Error {
	detail := err.Error()
	var ju jpeg.UnsupportedError
	var su jpegscale.UnsupportedError
	var pu png.UnsupportedError
	switch {
	case errors.As(err, &ju), errors.As(err, &su), errors.As(err, &pu), strings.Contains(detail, "unsupported"):
		return newError(ErrCodeUnsupportedFormat, err, msg+": %s", append(args, detail)...)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return newError(ErrCodeCorrupt, err, msg+": the file is truncated", args...)
	}
	return newError(ErrCodeCorrupt, err, msg+": %s", append(args, detail)...)
}

func canceledError(err error) *Error {
	return newError(ErrCodeCanceled, err, "the analysis was cancelled before the image was decoded")
}
