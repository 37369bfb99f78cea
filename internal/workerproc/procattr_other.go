//go:build !linux

package workerproc

import "syscall"

// sysProcAttr puts the worker in its own process group; there is no
// parent-death signal here, so a parent that dies leaves it running.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
