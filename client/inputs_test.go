package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage/localfs"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expandInputs lists local inputs and returns their names.
func expandInputs(patterns []string) ([]string, error) {
	objs, err := listLocal(context.Background(), localfs.New(), patterns)
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names, err
}

// localSplits lists files and cuts them into splits.
func localSplits(t *testing.T, files []string, size int64, whole bool) ([]split, error) {
	t.Helper()
	objs, err := listLocal(context.Background(), localfs.New(), files)
	if err != nil {
		t.Fatal(err)
	}
	return makeSplits(context.Background(), localfs.New(), objs, size, whole)
}

func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "a")
	writeFile(t, filepath.Join(dir, "b.txt"), "b")
	writeFile(t, filepath.Join(dir, "sub", "c.txt"), "c")
	writeFile(t, filepath.Join(dir, "sub", "_SUCCESS"), "")
	writeFile(t, filepath.Join(dir, "sub", ".hidden"), "")

	got, err := expandInputs([]string{filepath.Join(dir, "*.txt"), filepath.Join(dir, "a.txt"), filepath.Join(dir, "sub")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt"), filepath.Join(dir, "sub", "c.txt")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v (sorted, de-duplicated, no hidden or _ files)", got, want)
	}
	for _, bad := range []string{filepath.Join(dir, "*.csv"), filepath.Join(dir, "missing.txt"), "[", filepath.Join(dir, "sub", "_SUCCESS", "x")} {
		if _, err := expandInputs([]string{bad}); !errors.Is(err, ErrNoInput) || !strings.Contains(err.Error(), bad) {
			t.Errorf("expandInputs(%q) = %v, want ErrNoInput naming the pattern", bad, err)
		}
	}
}

// TestSplitsCutAtLineBoundaries checks that splits tile each file exactly
// and that every split but a file's last ends with a newline.
func TestSplitsCutAtLineBoundaries(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", i%97))
	}
	b.WriteString("last line without newline")
	long := strings.Repeat("y", 50000) + "\nshort\n" // one line longer than the split size
	files := map[string]string{"big.txt": b.String(), "long.txt": long, "empty.txt": "", "small.txt": "one\n"}
	var paths []string
	for name, content := range files {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		paths = append(paths, p)
	}
	splits, err := localSplits(t, paths, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]split{}
	for _, s := range splits {
		byFile[s.Path] = append(byFile[s.Path], s)
	}
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		var joined bytes.Buffer
		next := int64(0)
		for i, s := range byFile[p] {
			if s.Offset != next {
				t.Fatalf("%s: split %d starts at %d, want %d", p, i, s.Offset, next)
			}
			chunk := data[s.Offset : s.Offset+s.Length]
			if i < len(byFile[p])-1 && !bytes.HasSuffix(chunk, []byte("\n")) {
				t.Fatalf("%s: split %d does not end at a line boundary", p, i)
			}
			joined.Write(chunk)
			next += s.Length
		}
		if !bytes.Equal(joined.Bytes(), data) {
			t.Fatalf("%s: splits do not tile the file", p)
		}
	}
	if n := len(byFile[filepath.Join(dir, "big.txt")]); n < 10 {
		t.Fatalf("big.txt cut into %d splits, want many", n)
	}
	if n := len(byFile[filepath.Join(dir, "empty.txt")]); n != 1 {
		t.Fatalf("empty file gave %d splits, want 1", n)
	}
	whole, _ := localSplits(t, paths, 4096, true)
	if len(whole) != len(paths) {
		t.Fatalf("wholefile: %d splits for %d files", len(whole), len(paths))
	}
}
