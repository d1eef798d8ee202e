package hashindex

import (
	"strings"
	"testing"
)

func TestParseHash64(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"0000000000000000", 0, ""},
		{"ffffffffffffffff", ^uint64(0), ""},
		{"8F0E1D2C3B4A5968", 0x8f0e1d2c3b4a5968, ""},
		{"8f0e1d2c3b4a596", 0, "want 16 hex digits, got 15 characters"},
		{"p:8f0e1d2c3b4a59", 0, "not hex"},
		{"+f0e1d2c3b4a5968", 0, "not hex"},
		{"", 0, "want 16 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHash64(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHash64 = %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}

func TestParseHash256(t *testing.T) {
	const hex = "f8f8f0cee0f4a84f06370a32038f67f0b36e2ed596623e1d33e6339c4e9c9b22"
	h, err := ParseHash256(hex)
	if err != nil {
		t.Fatal(err)
	}
	if h[0] != 0xf8f8f0cee0f4a84f || h[3] != 0x33e6339c4e9c9b22 {
		t.Errorf("words %x", h)
	}
	if h.String() != hex {
		t.Errorf("String() = %s", h)
	}
	if up, err := ParseHash256(strings.ToUpper(hex)); err != nil || up != h {
		t.Errorf("upper case: %v %v", up, err)
	}
	for _, bad := range []string{hex[:63], hex + "0", "g" + hex[1:], strings.Repeat("x", 200)} {
		if _, err := ParseHash256(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if len(err.Error()) > 200 {
			t.Errorf("error message not clipped: %d bytes", len(err.Error()))
		}
	}
	other := h
	other[2] ^= 0b1011
	if d := h.Distance(other); d != 3 {
		t.Errorf("distance %d, want 3", d)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("f8f8f0cee0f4a84f06370a32038f67f0b36e2ed596623e1d33e6339c4e9c9b22")
	f.Add("8f0e1d2c3b4a5968")
	f.Add("-000000000000000")
	f.Add("0x00000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := ParseHash256(s); err == nil {
			if got := h.String(); !strings.EqualFold(got, s) {
				t.Fatalf("round trip %q -> %q", s, got)
			}
		}
		if v, err := ParseHash64(s); err == nil {
			if len(s) != 16 || strings.ContainsAny(s, "+-xX_") {
				t.Fatalf("accepted %q as %x", s, v)
			}
		}
	})
}
