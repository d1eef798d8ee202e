package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag.Value for an amount of memory: a number of bytes, or one with a unit,
// KB, MB or GB (also written KiB, MiB, GiB; all powers of 1024, as the photo limits'
// "20 MiB" = 20971520), e.g. 256MB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	scale  int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

func (b *byteSize) Set(s string) error {
	num, scale := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, scale = strings.TrimSpace(rest), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil:
		return errors.New("want a number of bytes, or with a unit: 512KB, 256MB, 1GB")
	case n < 0:
		return errors.New("must not be negative")
	case n > (1<<62)/scale:
		return errors.New("too large")
	}
	*b = byteSize(n * scale)
	return nil
}

func (b byteSize) String() string {
	n := int64(b)
	for _, u := range []struct {
		unit  string
		scale int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n != 0 && n%u.scale == 0 {
			return fmt.Sprintf("%d%s", n/u.scale, u.unit)
		}
	}
	return strconv.FormatInt(n, 10)
}
