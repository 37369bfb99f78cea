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

func TestIndexSmall(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.txt": "The cat. The dog!\nA cat, again.\n",
		"b.txt": "dog DOG dog\n",
		"c.txt": "",
	}
	var inputs []string
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, path)
	}
	slices.Sort(inputs)
	a, b := inputs[0], inputs[1]
	out := tasktest.Run(t, App, tasktest.Job{Inputs: inputs, Reduces: 1})
	want := []string{
		"a\t1 " + a,
		"again\t1 " + a,
		"cat\t1 " + a,
		"dog\t2 " + a + "," + b,
		"the\t1 " + a,
	}
	if got := out.Lines(); !slices.Equal(got, want) {
		t.Fatalf("index:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIndexCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpus/gutenberg/*.txt")
	if len(files) == 0 {
		t.Fatal("test corpus missing: ../../../shared/corpus/gutenberg/*.txt")
	}
	in := map[string]map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(string(data)), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r)
		}) {
			if in[w] == nil {
				in[w] = map[string]bool{}
			}
			in[w][f] = true
		}
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: files, Reduces: 3, SplitSize: 200 << 10})
	lines := out.Lines()
	if len(lines) != len(in) {
		t.Errorf("%d words indexed, want %d", len(lines), len(in))
	}
	for _, line := range lines {
		w, rest, _ := strings.Cut(line, "\t")
		var names []string
		for f := range in[w] {
			names = append(names, f)
		}
		slices.Sort(names)
		if want := strconv.Itoa(len(names)) + " " + strings.Join(names, ","); rest != want {
			t.Fatalf("%q: got %q, want %q", w, rest, want)
		}
	}
}
