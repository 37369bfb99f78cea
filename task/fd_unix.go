//go:build unix

package task

import "syscall"

// closeOnExec keeps a descriptor the worker passed from what the task
// starts (an exec job's commands).
func closeOnExec(fd int) { syscall.CloseOnExec(fd) }
