//go:build !linux

package localfs

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openat2Beneath: there is no openat2 here; openBeneath resolves the path
// itself instead.
func openat2Beneath(int, string, int) (int, error) { return -1, unix.ENOSYS }

// linkOpened cannot link an open file here; Link copies it.
func linkOpened(*os.File, string) error { return errors.ErrUnsupported }
