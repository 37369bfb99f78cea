package worker

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
)

// dataTree makes a data dir and, beside it, a directory outside it that
// symlinks point into.
func dataTree(t *testing.T) (data, outside string) {
	t.Helper()
	root := t.TempDir()
	data, outside = filepath.Join(root, "data"), filepath.Join(root, "outside")
	files := map[string]string{
		"data/app/a.log":     "alpha\n",
		"data/app/b.log":     "beta beta\n",
		"data/app/.hidden":   "h\n",
		"data/app/_tmp":      "t\n",
		"data/app/sub/c.log": "c\n",
		"data/top.txt":       "top\n",
		"outside/secret":     "secret\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"data/link-in":     "app/a.log",                      // stays beneath: followed
		"data/link-out":    "../outside/secret",              // leads out
		"data/abs-out":     filepath.Join(outside, "secret"), // leads out
		"data/dir-out":     "../outside",                     // a directory outside
		"data/app/ln.log":  "../top.txt",                     // a symlink in a listed directory
		"data/app/out.log": filepath.Join(outside, "secret"), // ditto, leading out
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return data, outside
}

func listData(t *testing.T, s *proto.Session, patterns ...string) ([]proto.DataFile, error) {
	t.Helper()
	var rep proto.ListDataReply
	err := s.Call(testContext(t), proto.OpListData, "", &proto.ListDataRequest{Patterns: patterns}, &rep)
	return rep.Files, err
}

func paths(files []proto.DataFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func TestListData(t *testing.T) {
	data, _ := dataTree(t)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	s := connect(t, w, nil)
	for _, tc := range []struct {
		patterns []string
		want     []string
	}{
		{[]string{"app/*.log"}, []string{"app/a.log", "app/b.log", "app/ln.log"}},
		// A directory is its visible regular files, symlinks not followed.
		{[]string{"app"}, []string{"app/a.log", "app/b.log"}},
		{[]string{"app/", "top.txt", "app/a.log"}, []string{"app/a.log", "app/b.log", "top.txt"}},
		{[]string{"link-in"}, []string{"link-in"}},
		// A glob skips what leads outside.
		{[]string{"*"}, []string{"app/a.log", "app/b.log", "link-in", "top.txt"}},
		{[]string{"dir-out/*"}, nil},
		{[]string{"app/*.log", "app/sub/*"}, []string{"app/a.log", "app/b.log", "app/ln.log", "app/sub/c.log"}},
		{[]string{"nothing*"}, nil},
		{[]string{""}, []string{"top.txt"}},
	} {
		files, err := listData(t, s, tc.patterns...)
		if err != nil {
			t.Fatalf("%q: %v", tc.patterns, err)
		}
		if got := paths(files); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.patterns, got, tc.want)
		}
	}

	files, err := listData(t, s, "app/a.log", "link-in")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(data, "app/a.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Size != fi.Size() || f.ModTime != fi.ModTime().UnixNano() {
			t.Errorf("%s: size %d mtime %d, want %d %d", f.Path, f.Size, f.ModTime, fi.Size(), fi.ModTime().UnixNano())
		}
	}
}

func TestListDataRefused(t *testing.T) {
	data, _ := dataTree(t)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	s := connect(t, w, nil)
	for _, p := range []string{"../x", "app/../../outside/secret", "/etc/passwd", "app/.."} {
		_, err := listData(t, s, "app/a.log", p)
		e := wireCode(t, err, proto.CodeBadRequest, "leaves the data dir")
		if want := `worker: path "` + p + `" leaves the data dir: name files under it (worker:app/*.log)`; e.Message != want {
			t.Errorf("got %q, want %q", e.Message, want)
		}
	}
	// A name the user gave that leads outside is refused, not skipped.
	for _, p := range []string{"link-out", "abs-out", "dir-out"} {
		_, err := listData(t, s, p)
		wireCode(t, err, proto.CodeBadRequest, "leads outside the data dir")
	}
	_, err := listData(t, s, "app/[")
	wireCode(t, err, proto.CodeBadRequest, "not a valid glob")

	// The worker goes on serving.
	if files, err := listData(t, s, "top.txt"); err != nil || len(files) != 1 {
		t.Fatalf("after refusals: %v %v", files, err)
	}
}

func TestListDataWithoutDataDir(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	_, err := listData(t, s, "app/*.log")
	e := wireCode(t, err, proto.CodeUnsupported, "--data-dir")
	if want := "worker " + w.ID() + " serves no worker: inputs: start it with --data-dir DIR"; e.Message != want {
		t.Fatalf("got %q, want %q", e.Message, want)
	}
	if info := w.Info(); info.Data || info.Host != storage.HostID() {
		t.Fatalf("Info says data %v host %q", info.Data, info.Host)
	}
}

func TestDataDirConfig(t *testing.T) {
	data, _ := dataTree(t)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	if info := w.Info(); !info.Data || info.Host != storage.HostID() {
		t.Fatalf("Info says data %v host %q", info.Data, info.Host)
	}
	c := DefaultConfig()
	c.Dir, c.DataDir = t.TempDir(), filepath.Join(data, "top.txt")
	if err := c.Validate(); err == nil {
		t.Fatal("a data dir that is a file was accepted")
	}
}
