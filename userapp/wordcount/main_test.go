package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/distmr/dist/task/tasktest"
)

func TestWordCountCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/gutenberg/*.txt")
	if len(files) == 0 {
		t.Fatal("test corpus missing: ../../../shared/corpus/gutenberg/*.txt")
	}
	want := map[string]string{}
	counts := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(string(data)), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r)
		}) {
			counts[w]++
		}
	}
	for w, n := range counts {
		want[w] = strconv.Itoa(n)
	}

	out := tasktest.Run(t, App, tasktest.Job{Inputs: files, Reduces: 4, SplitSize: 300 << 10, SortBuffer: 256 << 10})
	got := map[string]string{}
	for _, line := range out.Lines() {
		w, n, _ := strings.Cut(line, "\t")
		if _, dup := got[w]; dup {
			t.Fatalf("word %q written twice", w)
		}
		got[w] = n
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct words, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			t.Fatalf("word %q: count %q, want %s", w, got[w], n)
		}
	}
}

func TestSumCounts(t *testing.T) {
	var got []string
	emit := func(k, v string) { got = append(got, k+"="+v) }
	if err := sumCounts(nil, "the", slices.Values([]string{"1", "20", "300"}), emit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "the=321" {
		t.Fatalf("emitted %v", got)
	}
	err := sumCounts(nil, "word", slices.Values([]string{"1", "lots"}), emit)
	if err == nil || err.Error() != `count "lots" of word "word" is not a number` {
		t.Fatalf("got %v", err)
	}
}
