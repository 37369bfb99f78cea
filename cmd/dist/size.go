package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeSuffixes are the size suffixes, each 1024 times the one before.
const sizeSuffixes = "KMGT"

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024): "512M", "4G", "1048576".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(s, "B")
	shift := 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte(sizeSuffixes, s[n-1]); i >= 0 {
			shift = 10 * (i + 1)
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || (shift > 0 && v > (1<<62)>>shift) {
		return 0, fmt.Errorf("%q is not a size: use bytes or a number with K, M, G or T, e.g. 512M", s)
	}
	return v << shift, nil
}

// sizeText writes a byte count as parseSize reads it, with the largest
// suffix that divides it exactly: 4<<30 is "4G".
func sizeText(n int64) string {
	for i := len(sizeSuffixes) - 1; i >= 0; i-- {
		shift := 10 * (i + 1)
		if n != 0 && n%(1<<shift) == 0 {
			return strconv.FormatInt(n>>shift, 10) + sizeSuffixes[i:i+1]
		}
	}
	return strconv.FormatInt(n, 10)
}
