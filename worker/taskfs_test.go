package worker

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// plantedDir makes an attempt directory holding what a hostile task could
// leave, and a secret outside it. It returns the directory and the secret.
func plantedDir(t *testing.T) (string, string) {
	t.Helper()
	base := t.TempDir()
	secret := filepath.Join(base, "secret")
	elsewhere := filepath.Join(base, "elsewhere")
	dir := filepath.Join(base, "attempt")
	for _, d := range []string{elsewhere, filepath.Join(dir, "out"), filepath.Join(dir, "adir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, body := range map[string]string{
		secret:                               "the secret",
		filepath.Join(elsewhere, "f"):        "the secret",
		filepath.Join(dir, "ok"):             "fine",
		filepath.Join(dir, "out", "part-00"): "fine",
	} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link":         secret,
		"relative":     "../secret",
		"linkdir":      elsewhere,
		"out/part-01":  secret,
		"out/loop":     "loop",
		"out/dangling": filepath.Join(base, "nothing"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

// TestTaskFilesRefuseWhatTheTaskPlanted: the worker's reader of task
// files opens regular files beneath the attempt directory and refuses
// symlinks anywhere on the path, other kinds of file and other owners,
// with an error naming the file; a named pipe does not hang it.
func TestTaskFilesRefuseWhatTheTaskPlanted(t *testing.T) {
	dir, _ := plantedDir(t)
	tf := taskFiles{dir: dir, who: "task m-00001 attempt 0", uid: -1}
	for _, name := range []string{"ok", "out/part-00"} {
		f, err := tf.open(name)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "fine" {
			t.Fatalf("%s reads %q", name, b)
		}
	}
	for name, want := range map[string]string{
		"link":           "task m-00001 attempt 0 left link as a symlink: refusing to follow it",
		"relative":       "left relative as a symlink: refusing to follow it",
		"linkdir/f":      "left linkdir as a symlink: refusing to follow it",
		"out/part-01":    "left out/part-01 as a symlink: refusing to follow it",
		"out/loop":       "left out/loop as a symlink: refusing to follow it",
		"out/dangling":   "left out/dangling as a symlink: refusing to follow it",
		"fifo":           "left fifo as a named pipe: refusing to read it",
		"adir":           "left adir as a directory: refusing to read it",
		"ok/../link":     "not a plain name",
		"/etc/passwd":    "not a plain name",
		"out/../../link": "not a plain name",
	} {
		f, err := tf.open(name)
		if err == nil {
			f.Close()
			t.Errorf("open %s succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("open %s: %v, want %q", name, err, want)
		}
		if strings.Contains(want, "refusing") != errors.Is(err, errUnsafeTaskFile) {
			t.Errorf("open %s: errors.Is(%v, errUnsafeTaskFile) is wrong", name, err)
		}
	}
	if _, err := tf.open("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := tf.checkDir("out"); !errors.Is(err, errUnsafeTaskFile) {
		t.Errorf("checkDir(out) with symlinks in it: %v", err)
	}

	// With tasks running as another user, a file must be that user's: a
	// hard link to someone else's file is refused.
	other := taskFiles{dir: dir, who: "task m-00001 attempt 0", uid: os.Getuid() + 1}
	if _, err := other.open("ok"); !errors.Is(err, errUnsafeTaskFile) || !strings.Contains(err.Error(), "not by the task's user") {
		t.Errorf("a file of another user: %v", err)
	}
}

// TestWalkBeneathFollowsNoSymlink: the fallback for kernels without
// openat2 refuses the same symlinks.
func TestWalkBeneathFollowsNoSymlink(t *testing.T) {
	dir, _ := plantedDir(t)
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(root)
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	for _, name := range []string{"ok", "out/part-00"} {
		fd, err := walkBeneath(root, name, flags)
		if err != nil {
			t.Fatalf("walk to %s: %v", name, err)
		}
		unix.Close(fd)
	}
	for _, name := range []string{"link", "relative", "linkdir/f", "out/part-01", "out/loop"} {
		fd, err := walkBeneath(root, name, flags)
		if err == nil {
			unix.Close(fd)
			t.Errorf("walk to %s succeeded", name)
		} else if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("walk to %s: %v, want ELOOP", name, err)
		}
	}
}

// TestServedFilesNeverFollowSymlinks: a map's output replaced by a
// symlink after the map succeeded (by a process it left behind, or a
// task of another attempt running as the same user) is neither served
// (FetchPartition, FetchOutput) nor staged for a reduce on this worker:
// the reduce is refused and its in/ holds no symlink.
func TestServedFilesNeverFollowSymlinks(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	res := runMap(t, s, "j", 0, 1, art, "the cat saw the dog\n")
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("CANARY-the-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(attemptDirOf(w, "j", "m-00000", 0), spec.OutDir)
	part := filepath.Join(out, spec.MapPartName(0))
	if err := os.Remove(part); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, part); err != nil {
		t.Fatal(err)
	}
	ref := proto.AttemptRef{Job: "j", Task: "m-00000"}
	_, _, err := fetch(testContext(t), s, proto.OpFetchPartition, "j", &proto.FetchPartitionRequest{AttemptRef: ref})
	wireCode(t, err, proto.CodeNotFound, "left out/map-00000 as a symlink: refusing to follow it")
	_, _, err = fetch(testContext(t), s, proto.OpFetchOutput, "j", &proto.FetchOutputRequest{AttemptRef: ref, Name: spec.MapPartName(0)})
	wireCode(t, err, proto.CodeNotFound, "left out/map-00000 as a symlink: refusing to follow it")

	mo := proto.MapOutput{WorkerID: w.ID(), Task: "m-00000", Partition: 0, Size: res.Outputs[0].Size, CRC32C: res.Outputs[0].CRC32C}
	evs := runToEnd(t, s, reduceRequest("j", 0, 1, art, []proto.MapOutput{mo}))
	final := evs[len(evs)-1]
	if final.Error == nil || !strings.Contains(final.Error.Message, "left out/map-00000 as a symlink: refusing to follow it") {
		t.Fatalf("reduce fed a symlinked map output: %+v", final.Error)
	}
	in := filepath.Join(attemptDirOf(w, "j", "r-00000", 0), spec.InDir)
	_ = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			t.Errorf("the reduce's input %s is a symlink", p)
		}
		return nil
	})
}
