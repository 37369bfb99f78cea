//go:build !linux

package streaming

import "syscall"

// commandProcAttr: there is no parent death signal here.
func commandProcAttr() *syscall.SysProcAttr { return nil }
