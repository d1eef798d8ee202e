package forensics

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to both backends and hashes what decodes. Seeds: the
// committed corpus in testdata/fuzz/FuzzDecode (tiny JPEG, progressive JPEG, PNG, GIF and
// WebP files) plus the small broken files kept for the robustness test.
//
//	go test -run '^$' -fuzz FuzzDecode ./forensics
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"corrupt", "invalid", "formats"} {
		files, _ := filepath.Glob(filepath.Join("testdata/decode", dir, "*"))
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
	}
	limits := Limits{MaxPixels: 4_000_000} // keeps each run fast; limits are tested apart
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range testBackends() {
			dec := b.dec
			dec.Limits = limits
			d, err := dec.Decode(context.Background(), data)
			checkDecodeOutcome(t, d, err)
			if err == nil {
				hs := ComputeHashes(d)
				if hs.PDQ.Quality < 0 || hs.PDQ.Quality > 100 {
					t.Fatalf("PDQ quality %d", hs.PDQ.Quality)
				}
			}
		}
	})
}

// FuzzParseHashes checks that hash text either parses and round-trips or is refused.
func FuzzParseHashes(f *testing.F) {
	f.Add("d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22")
	f.Add("8000000000000000")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParsePDQHash(s); err == nil {
			if h2, err := ParsePDQHash(h.String()); err != nil || h2 != h {
				t.Fatalf("PDQ %q does not round-trip", s)
			}
		}
		if v, err := ParseHash64(s); err == nil {
			if v2, err := ParseHash64(formatHash64(v)); err != nil || v2 != v {
				t.Fatalf("64-bit hash %q does not round-trip", s)
			}
		}
	})
}
