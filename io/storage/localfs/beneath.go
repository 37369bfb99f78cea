package localfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/distmr/dist/internal/fsx"
)

// openFlags open a file or directory to read. O_NONBLOCK: a named pipe
// must not hang the caller (regular makes a file's reads blocking again).
const openFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC

// open opens name (beneath the root, for Beneath: name is then cleaned
// and relative) to read. Its errors are worded for the user.
func (fsys *FS) open(name string) (*os.File, error) {
	if fsys.root == "" {
		fd, err := unix.Open(name, openFlags, 0)
		if err != nil {
			return nil, fsys.unreadable(name, &os.PathError{Op: "open", Path: name, Err: err})
		}
		return os.NewFile(uintptr(fd), name), nil
	}
	f, err := openBeneath(fsys.root, name, openFlags)
	if err != nil {
		return nil, fsys.unreadable(name, err)
	}
	return f, nil
}

// openBeneath opens rel (slash-separated, relative, no "..") beneath dir,
// following a symlink only while it stays beneath dir: a path that
// leads outside fails with a *os.PathError whose Err is ErrOutside.
func openBeneath(dir, rel string, flags int) (*os.File, error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(root)
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fd, err := fsx.OpenBeneath(root, rel, flags, true)
	// ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that does not
	// know openat2.
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return openResolved(dir, full, flags)
	}
	if errors.Is(err, unix.EXDEV) {
		return nil, &os.PathError{Op: "open", Path: full, Err: ErrOutside}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

// openResolved opens full after resolving its symlinks and checking that
// it stays beneath dir, where openat2 is missing.
func openResolved(dir, full string, flags int) (*os.File, error) {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(base, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, &os.PathError{Op: "open", Path: full, Err: ErrOutside}
	}
	fd, err := unix.Open(real, flags|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}
