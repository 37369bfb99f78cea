//go:build !linux

package master

import "syscall"

// masterProcAttr puts a master in its own process group. Without Linux's
// Pdeathsig a master may outlive a worker that dies: it then keeps its
// job until its own ZooKeeper session or the job ends.
func masterProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
