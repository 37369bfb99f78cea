//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64)

package worker

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// runShim sets the limits, drops to the task's user and execs the
// program; it returns only on failure.
func runShim(args []string) error {
	a, err := parseShimArgs(args)
	if err != nil {
		return err
	}
	// syscall.Setrlimit, not prlimit: it also stops syscall.Exec from
	// restoring the open files limit the Go runtime found at start.
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: a.maxFiles, Max: a.maxFiles}); err != nil {
		return limitError("open files", a.maxFiles, err)
	}
	if a.maxProcs > 0 {
		if err := syscall.Setrlimit(rlimitNproc, &syscall.Rlimit{Cur: a.maxProcs, Max: a.maxProcs}); err != nil {
			return limitError("processes", a.maxProcs, err)
		}
	}
	if err := syscall.Setgroups([]int{}); err != nil {
		return fmt.Errorf("drop supplementary groups: %w", err)
	}
	if err := syscall.Setgid(int(a.gid)); err != nil {
		return fmt.Errorf("setgid %d: %w", a.gid, err)
	}
	if err := syscall.Setuid(int(a.uid)); err != nil {
		return fmt.Errorf("setuid %d: %w", a.uid, err)
	}
	for try := 0; ; try++ {
		err = syscall.Exec(a.path, a.argv, os.Environ())
		// A just-written artifact can be briefly busy (golang/go#22315).
		if !errors.Is(err, syscall.ETXTBSY) || try == startRetries {
			return fmt.Errorf("exec %s: %w", a.path, err)
		}
		time.Sleep(time.Duration(10<<try) * time.Millisecond)
	}
}
