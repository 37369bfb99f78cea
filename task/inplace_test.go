package task_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// A map whose worker opened the original input for it (Split.FD) reads
// bytes [Offset, Offset+Length) of it exactly as it reads the same bytes
// staged, in every format: text keys are Offset plus the position.

// inPlaceTask writes a map-only task directory whose split is
// [off, off+n) of the file at path, passed as a descriptor of its own.
func inPlaceTask(tb testing.TB, format, path string, off, n int64) (dir string, fd int) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	// The task closes the descriptor it is given: give it a copy.
	fd, err = syscall.Dup(int(f.Fd()))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := spec.Config{Job: "job", Task: "m-00000", Phase: task.PhaseMap, InputFormat: format,
		Split: spec.Split{FD: fd, Name: "in/" + filepath.Base(path), Offset: off, Length: n}}
	return tasktest.TaskDir(tb, tb.TempDir(), cfg, nil), fd
}

func TestMapInPlace(t *testing.T) {
	const data = "skipped line\nalpha beta\r\nk\tv\n\nlast line\nafter the split\n"
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	const off, end = 13, 40 // "alpha beta\r\n" to "last line\n"
	for _, format := range []string{"text", "kv", "wholefile"} {
		t.Run(format, func(t *testing.T) {
			staged := mapTask(t, spec.Config{InputFormat: format,
				Split: spec.Split{File: spec.SplitFile, Name: "in/input.txt", Offset: off, Length: end - off}}, data[off:end])
			if _, err := task.Run(task.App{}, staged); err != nil {
				t.Fatal(err)
			}
			dir, fd := inPlaceTask(t, format, path, off, end-off)
			res, err := task.Run(task.App{}, dir)
			if err != nil {
				t.Fatal(err)
			}
			got, want := readOut(t, dir, spec.PartName(0)), readOut(t, staged, spec.PartName(0))
			if got != want {
				t.Fatalf("in place:\n%q\nstaged:\n%q", got, want)
			}
			if res.Counters[spec.CounterInputBytes] != end-off {
				t.Errorf("input.bytes %d, want %d", res.Counters[spec.CounterInputBytes], end-off)
			}
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
				t.Errorf("the task left descriptor %d open (%v)", fd, err)
			}
		})
	}
	dir, _ := inPlaceTask(t, "text", path, off, end-off)
	if _, err := task.Run(task.App{}, dir); err != nil {
		t.Fatal(err)
	}
	if got, want := readOut(t, dir, spec.PartName(0)), "13\talpha beta\n25\tk\tv\n29\t\n30\tlast line\n"; got != want {
		t.Fatalf("text keys: got %q, want %q", got, want)
	}
}

func TestMapInPlaceCompressed(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("one\ntwo\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "input.txt.gz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, _ := inPlaceTask(t, "text", path, 0, int64(b.Len()))
	if _, err := task.Run(task.App{}, dir); err != nil {
		t.Fatal(err)
	}
	if got := readOut(t, dir, spec.PartName(0)); got != "0\tone\n4\ttwo\n" {
		t.Fatalf("got %q", got)
	}
}

// A file cut short while the task reads it fails the task, naming it,
// instead of mapping fewer lines.
func TestMapInPlaceCutShort(t *testing.T) {
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, _ := inPlaceTask(t, "text", path, 0, 10)
	err := mustFail(t, task.App{}, dir)
	if want := "in/input.txt ends at byte 4"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// What a task starts (an exec job's commands) does not inherit the
// descriptor of its input.
func TestMapInPlaceNotInherited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, fd := inPlaceTask(t, "text", path, 0, 2)
	app := task.App{Map: func(ctx *task.Context, _, _ string, emit task.Emit) error {
		out, err := exec.Command("ls", "/proc/self/fd").Output()
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(out)) {
			emit(f, "")
		}
		return nil
	}}
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	if got := readOut(t, dir, spec.PartName(0)); slices.Contains(strings.Fields(got), strconv.Itoa(fd)) {
		t.Fatalf("a child of the task holds descriptor %d: it lists %q", fd, got)
	}
}
