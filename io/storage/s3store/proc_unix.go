//go:build unix

package s3store

import (
	"errors"
	"syscall"
)

// alive says whether a process pid runs on this host (one we may not
// signal runs too).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
