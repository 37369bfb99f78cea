//go:build !linux

package fsx

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// OpenBeneath: there is no openat2 here; the caller resolves the path
// itself.
func OpenBeneath(int, string, int, bool) (int, error) { return -1, unix.ENOSYS }

// LinkOpened cannot link an open file here; the caller copies it.
func LinkOpened(*os.File, string) error { return errors.ErrUnsupported }
