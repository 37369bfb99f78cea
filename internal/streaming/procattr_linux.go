package streaming

import "syscall"

// commandProcAttr has the kernel SIGKILL a command when the task process
// running it dies (the worker SIGKILLs the task when it dies itself), so
// no command outlives its worker. The signal follows the thread that
// started the command; Go does not end that thread while the process
// runs (no goroutine here locks one).
func commandProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
