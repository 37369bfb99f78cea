package s3test

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so that a kill
// takes weed and anything it started, and kills it if the test binary
// dies without running its cleanups (a -timeout panic, say).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill kills p's process group at once: the store's data dies with the
// test, so there is nothing to shut down cleanly.
func kill(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
