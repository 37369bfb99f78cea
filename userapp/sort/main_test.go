package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task/tasktest"
)

// The part is the input's lines in byte order, duplicates kept, with
// lines cut at split edges and spilled runs merged on the way.
func TestSortLines(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var all []string
	var inputs []string
	for f := range 3 {
		var b strings.Builder
		for range 2000 {
			line := randomLine(rng)
			if rng.IntN(10) == 0 && len(all) > 0 {
				line = all[rng.IntN(len(all))] // a duplicate, maybe across files
			}
			all = append(all, line)
			b.WriteString(line + "\n")
		}
		path := filepath.Join(dir, string(rune('a'+f))+".txt")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, path)
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: inputs, Reduces: 1, SplitSize: 16 << 10, SortBuffer: 4 << 10})
	slices.Sort(all) // Go compares strings byte by byte, as LC_ALL=C sort
	want := strings.Join(all, "\n") + "\n"
	if len(out.Parts) != 1 || out.Parts[0] != want {
		t.Fatalf("the part is not the sorted input (%d parts; first differing line %d)", len(out.Parts), firstDiff(out.Parts[0], want))
	}
}

// Empty lines, tabs inside lines, CRLF ends and a last line without
// "\n": lines as the text input reads them.
func TestSortEdges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte("b\ta\r\n\nb\na\n\nb\ta\nz"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: []string{path}, Reduces: 1})
	if want := "\n\na\nb\nb\ta\nb\ta\nz\n"; out.Parts[0] != want {
		t.Fatalf("part %q, want %q", out.Parts[0], want)
	}
}

func TestLineFormat(t *testing.T) {
	var b bytes.Buffer
	w, err := lines{}.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{"line", ""}, {"key", "value"}, {"", ""}} {
		if err := w.Write(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "line\nkey\tvalue\n\n"; got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	if err := w.Write("late", ""); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// randomLine is 1 to 120 printable ASCII bytes.
func randomLine(rng *rand.Rand) string {
	b := make([]byte, 1+rng.IntN(120))
	for i := range b {
		b[i] = byte(' ' + rng.IntN(95))
	}
	return string(b)
}

func firstDiff(got, want string) int {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return i + 1
		}
	}
	return min(len(g), len(w)) + 1
}
