package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/distmr/dist/task/tasktest"
)

// TestPlainCountCorpus counts the test books with small splits and a
// small sort buffer, so maps spill and merge, and compares every word's
// count with one computed here in one pass.
func TestPlainCountCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/gutenberg/*.txt")
	if len(files) == 0 {
		t.Fatal("test corpus missing: ../../../shared/corpus/gutenberg/*.txt")
	}
	files = files[:3]
	want := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(string(data)), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r)
		}) {
			want[w]++
		}
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: files, Reduces: 3, SplitSize: 200 << 10, SortBuffer: 128 << 10})
	got := map[string]int{}
	for _, line := range out.Lines() {
		w, n, _ := strings.Cut(line, "\t")
		if _, dup := got[w]; dup {
			t.Fatalf("word %q written twice", w)
		}
		c, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("line %q: count is not a number", line)
		}
		got[w] = c
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct words, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			t.Errorf("word %q counted %d, want %d", w, got[w], n)
		}
	}
}
