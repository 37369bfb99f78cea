package main

import "testing"

func TestSizeTextReadsBack(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 1000, 1 << 10, 3 << 20, 1 << 30, 4 << 30, 5 << 40, 1<<30 + 1} {
		text := sizeText(n)
		got, err := parseSize(text)
		if err != nil || got != n {
			t.Errorf("parseSize(sizeText(%d) = %q) = %d, %v", n, text, got, err)
		}
	}
	if got := sizeText(4 << 30); got != "4G" {
		t.Errorf("sizeText(4<<30) = %q, want 4G", got)
	}
}
