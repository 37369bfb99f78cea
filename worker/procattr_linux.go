package worker

import "syscall"

// taskProcAttr puts a task in its own process group (so a kill takes
// what it started) and has the kernel SIGKILL it when the worker dies, so
// a crashed worker leaves no task running. Pdeathsig fires when the
// thread that forked the task exits, not the process: Go never ends its
// threads except one a goroutine locked and exited on, and the worker
// starts tasks from ordinary goroutines, so that thread lives as long as
// the worker. With RunAs the shim drops privileges, which clears the
// setting, and sets it again before it execs the task (runShim).
func taskProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
