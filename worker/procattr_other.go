//go:build !linux

package worker

import "syscall"

// taskProcAttr puts a task in its own process group; there is no parent
// death signal here.
func taskProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
