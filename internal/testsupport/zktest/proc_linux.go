package zktest

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr puts the server in its own process group, so that a kill
// takes the JVM and anything it started, and kills it if the test binary
// dies without running its cleanups (a -timeout panic, say).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill kills p's process group at once: the tests want a crash, and
// ZooKeeper has written every acknowledged change to its log.
func kill(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
