//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64)

package worker

import (
	"syscall"
	"unsafe"
)

// rlimitNproc is RLIMIT_NPROC on these architectures (asm-generic); the
// syscall package does not define it.
const rlimitNproc = 6

// limit sets a started task's resource limits: open files and, when
// configured, processes.
func (sb *sandbox) limit(pid int) error {
	n := sb.filesLimit()
	if err := prlimit(pid, syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		return limitError("open files", n, err)
	}
	if sb.maxProcs > 0 {
		if err := prlimit(pid, rlimitNproc, &syscall.Rlimit{Cur: sb.maxProcs, Max: sb.maxProcs}); err != nil {
			return limitError("processes", sb.maxProcs, err)
		}
	}
	return nil
}

func prlimit(pid, resource int, lim *syscall.Rlimit) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
