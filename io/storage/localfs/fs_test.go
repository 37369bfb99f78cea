package localfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/io/storage"
)

// tree makes files (name → content) under a new directory and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func names(objs []storage.Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Name)
	}
	return strings.Join(out, " ")
}

func TestList(t *testing.T) {
	dir := tree(t, map[string]string{"a.txt": "a\n", "b.txt": "bb\n", "sub/c.txt": "c\n", "sub/_SUCCESS": "", "sub/.hidden": "", "sub/deep/d.txt": "d\n"})
	if err := os.Symlink("../a.txt", filepath.Join(dir, "sub", "link.txt")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fsys := New()
	objs, err := fsys.List(ctx, filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	// The directory stands for its visible regular files, not its links
	// or subdirectories.
	want := fmt.Sprintf("%[1]s/a.txt %[1]s/b.txt %[1]s/sub/c.txt", dir)
	if names(objs) != want {
		t.Fatalf("List = %s, want %s", names(objs), want)
	}
	fi, _ := os.Stat(filepath.Join(dir, "b.txt"))
	if o := objs[1]; o.Kind != storage.Local || o.Size != 3 || o.Version != fmt.Sprint(fi.ModTime().UnixNano()) {
		t.Errorf("b.txt listed as %+v, want size 3 and its mtime in ns", o)
	}

	for pattern, sentinel := range map[string]error{
		filepath.Join(dir, "*.csv"):       storage.ErrNoMatch,
		filepath.Join(dir, "missing.txt"): storage.ErrNoMatch,
		filepath.Join(dir, "["):           ErrBadPattern,
	} {
		if _, err := fsys.List(ctx, pattern); !errors.Is(err, sentinel) || !strings.Contains(err.Error(), pattern) {
			t.Errorf("List(%s) = %v, want %v naming the pattern", pattern, err, sentinel)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.List(ctx, fifo); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), fifo) {
		t.Errorf("List of a named pipe = %v, want ErrNotRegular naming it", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if objs, err := fsys.List(ctx, empty); err != nil || len(objs) != 0 {
		t.Errorf("List of an empty directory = %v, %v; want nothing, no error", objs, err)
	}
}

// dataTree makes a data dir and, beside it, a directory outside it that
// symlinks point into.
func dataTree(t *testing.T) (data string) {
	t.Helper()
	root := tree(t, map[string]string{
		"data/app/a.log": "alpha\n", "data/app/b.log": "beta beta\n", "data/app/_tmp": "t\n",
		"data/top.txt": "top\n", "outside/secret": "secret\n",
	})
	data = filepath.Join(root, "data")
	for link, target := range map[string]string{
		"data/link-in":     "app/a.log",
		"data/link-out":    "../outside/secret",
		"data/abs-out":     filepath.Join(root, "outside", "secret"),
		"data/dir-out":     "../outside",
		"data/app/out.log": filepath.Join(root, "outside", "secret"),
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

func TestBeneath(t *testing.T) {
	data := dataTree(t)
	ctx := context.Background()
	fsys := Beneath(data)
	for pattern, want := range map[string]string{
		"app/*.log": "worker:app/a.log worker:app/b.log", // out.log leads out: skipped
		"app":       "worker:app/a.log worker:app/b.log", // a directory: not its links
		"worker:*":  "worker:app/a.log worker:app/b.log worker:link-in worker:top.txt",
		"link-in":   "worker:link-in",
	} {
		objs, err := fsys.List(ctx, pattern)
		if err != nil || names(objs) != want {
			t.Errorf("List(%s) = %s, %v; want %s", pattern, names(objs), err, want)
		}
	}
	for _, p := range []string{"link-out", "abs-out", "dir-out/secret", "app/out.log", "../outside/secret", "/etc/passwd", "app/../../outside/secret"} {
		if _, err := fsys.List(ctx, p); !errors.Is(err, ErrOutside) {
			t.Errorf("List(%s) = %v, want ErrOutside", p, err)
		}
		obj := storage.Object{Name: storage.WorkerPrefix + p, Kind: storage.Worker}
		if f, err := fsys.OpenFile(ctx, obj); !errors.Is(err, ErrOutside) {
			t.Errorf("OpenFile(%s) = %v, want ErrOutside", p, err)
			if f != nil {
				f.Close()
			}
		}
	}
	objs, err := fsys.List(ctx, "link-in")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.OpenFile(ctx, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := os.ReadFile(f.Name()); string(b) != "alpha\n" {
		t.Errorf("link-in read %q", b)
	}
}

// Without openat2 the path is resolved here, as strictly.
func TestOpenResolved(t *testing.T) {
	data := dataTree(t)
	for name, outside := range map[string]bool{"link-in": false, "app/a.log": false, "link-out": true, "dir-out/secret": true, "app/out.log": true, "abs-out": true} {
		f, err := openResolved(data, filepath.Join(data, name), os.O_RDONLY)
		switch {
		case outside && !errors.Is(err, ErrOutside):
			t.Errorf("%s: %v, want ErrOutside", name, err)
		case !outside && err != nil:
			t.Errorf("%s: %v", name, err)
		}
		if f != nil {
			f.Close()
		}
	}
}

func TestOpen(t *testing.T) {
	dir := tree(t, map[string]string{"f.txt": "0123456789"})
	path := filepath.Join(dir, "f.txt")
	ctx := context.Background()
	fsys := New()
	list := func() storage.Object {
		t.Helper()
		objs, err := fsys.List(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return objs[0]
	}
	obj := list()
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {3, 4, "3456"}, {8, 100, "89"}, {10, -1, ""}} {
		got, err := read(fsys, obj, c.off, c.n)
		if err != nil || got != c.want {
			t.Errorf("Open(%d, %d) read %q, %v; want %q", c.off, c.n, got, err, c.want)
		}
	}
	if _, err := fsys.Open(ctx, obj, 11, 1); err == nil {
		t.Error("Open past the end succeeded")
	}

	// Changed before it is opened: refused, saying how.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	var ce *ChangedError
	if _, err := fsys.Open(ctx, obj, 0, -1); !errors.As(err, &ce) || !errors.Is(err, storage.ErrChanged) || ce.Size != 10 || !strings.Contains(err.Error(), "modified") {
		t.Errorf("Open of a touched file: %v, want a ChangedError saying it was modified", err)
	}
	obj = list()
	if err := os.WriteFile(path, []byte("0123"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Open(ctx, obj, 0, -1); !errors.As(err, &ce) || ce.Size != 4 || !strings.Contains(err.Error(), "size 10 → 4") {
		t.Errorf("Open of a shrunk file: %v, want a ChangedError saying its size", err)
	}

	// Changed while it is read: the end of the range says so.
	obj = list()
	rc, err := fsys.Open(ctx, obj, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	var rerr error
	for rerr == nil {
		_, rerr = rc.Read(buf)
	}
	rc.Close()
	if !errors.Is(rerr, storage.ErrChanged) {
		t.Errorf("reading a file that changed meanwhile ended with %v, want ErrChanged", rerr)
	}

	// Gone: changed, and not there.
	obj = list()
	os.Remove(path)
	if _, err := fsys.Open(ctx, obj, 0, -1); !errors.Is(err, storage.ErrChanged) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a deleted file: %v, want ErrChanged and ErrNotExist", err)
	}
}

// read reads a range of obj whole.
func read(fsys *FS, obj storage.Object, off, n int64) (string, error) {
	rc, err := fsys.Open(context.Background(), obj, off, n)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	buf := make([]byte, 3) // several reads
	for {
		k, err := rc.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			if err.Error() == "EOF" {
				return b.String(), nil
			}
			return b.String(), err
		}
	}
}
