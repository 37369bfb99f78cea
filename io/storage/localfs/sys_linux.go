package localfs

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openat2Beneath opens name beneath dirfd with openat2(2), following only
// symlinks that stay beneath it (an absolute one never does): EXDEV when
// the path leads out. ENOSYS means a kernel without openat2.
func openat2Beneath(dirfd int, name string, flags int) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
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

// linkOpened hard-links the very file f is open on (not whatever its path
// names now) as dst, through /proc/self/fd.
func linkOpened(f *os.File, dst string) error {
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: dst, Err: err}
	}
	return nil
}
