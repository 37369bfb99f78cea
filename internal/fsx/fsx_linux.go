package fsx

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenBeneath opens name beneath the directory dirfd with openat2(2),
// never leaving it (EXDEV when the path would). With symlinks false it
// resolves no symlink at all (ELOOP); with it true it follows those that
// stay beneath dirfd. ENOSYS means a kernel without openat2: the caller
// resolves the path itself.
func OpenBeneath(dirfd int, name string, flags int, symlinks bool) (int, error) {
	resolve := uint64(unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS)
	if !symlinks {
		resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	how := &unix.OpenHow{Flags: uint64(flags), Resolve: resolve}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(dirfd, name, how)
		// EAGAIN: a concurrent rename made the kernel unsure the lookup
		// stayed beneath dirfd; the man page says to try again.
		if (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && try < 8 {
			continue
		}
		return fd, err
	}
}

// LinkOpened hard-links the very file f is open on (not whatever its path
// names now) as dst, through /proc/self/fd. It fails across file systems
// (EXDEV); the caller then copies.
func LinkOpened(f *os.File, dst string) error {
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: dst, Err: err}
	}
	return nil
}
