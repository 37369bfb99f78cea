package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	artinfo "github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
)

// A binary whose runtime lacks input.Decompress is refused for compressed
// input, and only then.
func TestCheckDecompresses(t *testing.T) {
	prog := func(kind string, g *artinfo.GoInfo) *program {
		return &program{kind: kind, parts: []part{{art: &artifact{Path: "app"}, info: &artinfo.Info{Go: g}}}}
	}
	old := &artinfo.GoInfo{FuncTable: true, LinksTaskMain: true}
	cur := &artinfo.GoInfo{FuncTable: true, LinksTaskMain: true, Decompresses: true}
	for _, c := range []struct {
		name  string
		p     *program
		files []string
		bad   bool
	}{
		{"old runtime, .gz", prog(proto.KindBinary, old), []string{"a.txt", "b.gz"}, true},
		{"old runtime, .zst", prog(proto.KindBinary, old), []string{"b.zst"}, true},
		{"old runtime, plain", prog(proto.KindBinary, old), []string{"a.txt"}, false},
		{"current runtime", prog(proto.KindBinary, cur), []string{"b.gz"}, false},
		{"no function table", prog(proto.KindBinary, &artinfo.GoInfo{}), []string{"b.gz"}, false},
		{"plugin", prog(proto.KindPlugin, old), []string{"b.gz"}, false},
	} {
		err := c.p.checkDecompresses(c.files)
		if c.bad != (err != nil) || c.bad && (!errors.Is(err, ErrBadApp) || !strings.Contains(err.Error(), "rebuild it")) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// Compressed files are one split each, whatever their size.
func TestCompressedOneSplit(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"a.gz", "b.zst", "c.txt"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("line\n", 100)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	splits, err := localSplits(t, files, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 1+1+5 || splits[0].Length != 500 || splits[1].Length != 500 {
		t.Fatalf("splits %+v", splits)
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "stop.txt")
	if err := os.WriteFile(a, []byte("the\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "sub", "stop.txt")
	if err := os.WriteFile(b, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arts, err := checkFiles([]string{a})
	if err != nil || len(arts) != 1 || arts[0].Name != "stop.txt" || arts[0].Kind != proto.KindFile {
		t.Fatalf("checkFiles: %+v, %v", arts, err)
	}
	for _, c := range []struct {
		files []string
		want  string
	}{
		{[]string{a, b}, "same base name"},
		{[]string{filepath.Join(dir, "missing")}, "missing"},
		{[]string{dir}, "not a regular file"},
		{[]string{filepath.Join(dir, "stop words.txt")}, "not a safe name"},
	} {
		if _, err := checkFiles(c.files); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkFiles(%v) = %v, want %q", c.files, err, c.want)
		}
	}
}
