// Package jpegscale is Go 1.26's image/jpeg decoder (BSD-3-Clause, The Go Authors; see
// LICENSE) with DCT-domain scaling and strip-wise output added, as libjpeg's scale_num /
// scale_denom and jpeg_read_scanlines give, so that a photo meant for a 1024-pixel
// analysis raster is never decoded, allocated and then thrown away at 12 MP.
//
// [Decode] and [DecodeConfig] behave as image/jpeg's and return the same pixels (tested
// byte for byte). [DecodeWith] adds [Options]:
//
//   - Scale 2, 4 or 8 reconstructs each 8×8 block as a 4×4, 2×2 or 1×1 box average straight
//     from its coefficients (idct_scaled.go), for baseline and progressive JPEGs, grey,
//     YCbCr with any subsampling image/jpeg supports, RGB and CMYK/YCbCrK; only the
//     reduced planes are allocated.
//   - Rows receives the picture in strips: a single-scan sequential grey or YCbCr JPEG is
//     then decoded one MCU row at a time into a buffer of one MCU row.
//
// What changed from the standard library's files (reader.go, scan.go, huffman.go, and
// dct.go as idct.go), and why:
//
//   - package name; the writer, the forward DCT and the tests are not copied (decoding only);
//   - reader.go: Options, DecodeWith; a natural-order copy of each quantisation table for
//     the reduced IDCTs; the YCbCrK→RGB step of applyBlack uses color.YCbCrToRGB (the same
//     arithmetic as image/internal/imageutil.DrawYCbCr, which is internal to the standard
//     library);
//   - scan.go: planes sized for the scale (and for one MCU row when streaming); progressive
//     frames allocate their planes when they are reconstructed, after the last scan, instead
//     of at the first, and when scaling keep their coefficients in 16 bits as libjpeg does
//     (half of image/jpeg's 4 bytes per coefficient; values past int16, from corrupt input
//     only, are clamped); reconstructBlock calls the reduced IDCT when scaling; a streamed
//     sequential frame refuses a second scan (its first scan held every component);
//   - idct_scaled.go is new; emitting strips for an empty (0-pixel-wide) picture is skipped.
//
// Everything else is image/jpeg's, on purpose, so that full-size decodes stay identical:
// the same accepted and refused files (including image/jpeg's refusal of progressive
// JPEGs with restart intervals whose luma has sampling factors above 1: it counts their
// non-interleaved restart intervals per MCU rather than per block), the same errors, and
// no limit on the number of scans (callers bound that; forensics refuses over 256).
package jpegscale
