package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/distmr/dist/internal/fsx"
	"github.com/distmr/dist/task/spec"
)

// Reading what a task wrote. Once sandbox.prepare has given an attempt
// directory to the task's user, everything beneath it is the task's: it
// can replace stderr.log, result.msgpack, out/ or any file in it with a
// symlink to a file only the worker may read (a task run with RunAs, as
// nobody, pointing out/part-00000 at a root-only secret), and the worker,
// serving the "output", would hand the secret to the client. So the
// worker reads a task's files only through taskFiles.open, which follows
// no symlink anywhere on the path (openat2 RESOLVE_NO_SYMLINKS|
// RESOLVE_BENEATH, or openat O_NOFOLLOW one component at a time where
// openat2 is missing) and accepts only a regular file owned by the task's
// user (a hard link to someone else's file keeps its owner).
//
// Writes need no such care: the worker writes into an attempt directory
// (task.msgpack, in/split, staged map outputs, the log files it opens for
// the task) only before sandbox.prepare hands the directory over, while it
// and everything on the way to it belong to the worker and no task can
// write there. PutInput, which races with Launch, renames its file into
// place only while the attempt is not launched (handlePutInput).

// taskFiles opens the files of one attempt directory.
type taskFiles struct {
	dir string // the attempt directory; the path to it is the worker's
	who string // "task m-00001 attempt 0", for errors
	uid int    // the task's user; -1: the worker's own (no owner check)
}

// files opens the files the attempt's task wrote.
func (a *attempt) files() taskFiles {
	return taskFiles{dir: a.dir, who: a.key.String(), uid: a.w.sandbox.taskUID()}
}

// open opens name (slash-separated, relative to the attempt directory)
// for reading. It follows no symlink, stays beneath the directory and
// accepts only a regular file of the task's user; a refusal is an
// errUnsafeTaskFile naming the file. A missing file is fs.ErrNotExist.
func (tf taskFiles) open(name string) (*os.File, error) {
	// O_NONBLOCK: opening a named pipe the task left must not hang the
	// worker; it is refused below once open.
	f, err := tf.openBeneath(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, err
	}
	if err := tf.check(name, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkDir checks that every entry of directory name is a regular file
// of the task's user. A missing directory holds nothing.
func (tf taskFiles) checkDir(name string) error {
	d, err := tf.openBeneath(name, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, e := range ents {
		f, err := tf.open(path.Join(name, e.Name()))
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// check accepts an opened file only if it is regular and the task's own.
func (tf taskFiles) check(name string, f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	if kind := fileKind(uint32(st.Mode)); kind != "" {
		return &taskFileError{tf.who, name, "as " + kind + ": refusing to read it (only regular files are read)"}
	}
	if tf.uid >= 0 && int(st.Uid) != tf.uid {
		return &taskFileError{tf.who, name, fmt.Sprintf("owned by uid %d, not by the task's user (uid %d): refusing to read it", st.Uid, tf.uid)}
	}
	return nil
}

// fileKind names a file type other than regular; "" for a regular file.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return ""
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFIFO:
		return "a named pipe"
	case unix.S_IFSOCK:
		return "a socket"
	default:
		return "a device"
	}
}

// openBeneath opens name beneath the attempt directory with flags,
// following no symlink. Errors name the file; a symlink on the way is an
// errUnsafeTaskFile naming the symlink.
func (tf taskFiles) openBeneath(name string, flags int) (*os.File, error) {
	full := filepath.Join(tf.dir, filepath.FromSlash(name))
	if !beneathName(name) {
		return nil, &os.PathError{Op: "open", Path: full, Err: errors.New("not a plain name beneath the task directory")}
	}
	root, err := unix.Open(tf.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: tf.dir, Err: err}
	}
	defer unix.Close(root)
	fd, err := fsx.OpenBeneath(root, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, false)
	// ENOSYS: a kernel before 5.6; EPERM: a seccomp filter (older
	// container runtimes) that does not know openat2. The walk is as
	// strict, only slower.
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		fd, err = walkBeneath(root, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &taskFileError{tf.who, tf.symlinkOn(name), "as a symlink: refusing to follow it"}
		}
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

// beneathName reports whether name is a relative slash-separated path of
// plain components: no "", ".", ".." or absolute path.
func beneathName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// walkBeneath opens name one component at a time with O_NOFOLLOW: a
// symlink anywhere on the path fails with ELOOP (ENOTDIR on some systems
// for a directory component).
func walkBeneath(root int, name string, flags int) (int, error) {
	parts := strings.Split(name, "/")
	dir := root
	defer func() {
		if dir != root {
			unix.Close(dir)
		}
	}()
	for _, c := range parts[:len(parts)-1] {
		fd, err := unix.Openat(dir, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		if dir != root {
			unix.Close(dir)
		}
		dir = fd
	}
	return unix.Openat(dir, parts[len(parts)-1], flags, 0)
}

// symlinkOn names the first symlink on name's path, for an error
// message; the file is not opened through it. Falls back to name.
func (tf taskFiles) symlinkOn(name string) string {
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		if fi, err := os.Lstat(filepath.Join(tf.dir, filepath.FromSlash(p))); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return p
		}
	}
	return name
}

// outputsSafe checks what a successful attempt left for the worker to
// serve: every file in out/ must be one the worker will read.
func (tf taskFiles) outputsSafe() error { return tf.checkDir(spec.OutDir) }
