package master

import "syscall"

// masterProcAttr puts a master in its own process group, so that a kill
// takes what it started, and has the kernel SIGKILL it when the worker
// dies, so that the job's election moves on with the worker's session.
// Pdeathsig fires when the forking thread exits; Go ends no thread but
// one a goroutine locked, and masters are started from ordinary ones.
func masterProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
