package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024): "512M", "4G", "1048576".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(s, "B")
	shift := 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGT", s[n-1]); i >= 0 {
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
