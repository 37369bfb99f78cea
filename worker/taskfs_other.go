//go:build !linux

package worker

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openat2Beneath: there is no openat2 here; openBeneath walks instead.
func openat2Beneath(int, string, int) (int, error) { return -1, unix.ENOSYS }

// linkOpened cannot link an open file here; the caller copies it.
func linkOpened(*os.File, string) error { return errors.ErrUnsupported }
