package workerproc

import "syscall"

// sysProcAttr puts the worker in its own process group, and has the
// kernel send it SIGTERM (a drain) if its parent dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
