package hashindex

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"
)

// Hash256 is a 256-bit hash (PDQ) as four words; word 0 holds the first 16 hex digits.
type Hash256 [4]uint64

// Distance is the Hamming distance between two 256-bit hashes.
func (h Hash256) Distance(o Hash256) int {
	return bits.OnesCount64(h[0]^o[0]) + bits.OnesCount64(h[1]^o[1]) + bits.OnesCount64(h[2]^o[2]) + bits.OnesCount64(h[3]^o[3])
}

// String formats the hash as 64 lower-case hex digits, as forensics reports it.
func (h Hash256) String() string {
	return fmt.Sprintf("%016x%016x%016x%016x", h[0], h[1], h[2], h[3])
}

// Distance64 is the Hamming distance between two 64-bit hashes.
func Distance64(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// ParseHash64 reads a 64-bit hash (pHash, dHash) written as 16 hex digits.
func ParseHash64(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("hashindex: 64-bit hash %q: want 16 hex digits, got %d characters", clip(s), len(s))
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("hashindex: 64-bit hash %q: not hex", clip(s))
	}
	return v, nil
}

// ParseHash256 reads a 256-bit hash (PDQ) written as 64 hex digits.
func ParseHash256(s string) (Hash256, error) {
	var h Hash256
	if len(s) != 64 {
		return h, fmt.Errorf("hashindex: 256-bit hash %q: want 64 hex digits, got %d characters", clip(s), len(s))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hashindex: 256-bit hash %q: not hex", clip(s))
	}
	for i := range h {
		for _, c := range b[i*8 : i*8+8] {
			h[i] = h[i]<<8 | uint64(c)
		}
	}
	return h, nil
}

// clip keeps error messages short when a caller passes something huge.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
