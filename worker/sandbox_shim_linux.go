//go:build linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64)

package worker

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runShim sets the limits, drops to the task's user and execs the
// program; it returns only on failure.
func runShim(args []string) error {
	// The parent death signal belongs to a thread: set it on the one that
	// execs the program.
	runtime.LockOSThread()
	worker := os.Getppid()
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
	// Changing credentials cleared the parent death signal the worker
	// asked for (taskProcAttr): set it again, then make sure the worker
	// did not die in between, which would leave nobody to send it.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent death signal: %w", err)
	}
	if os.Getppid() != worker {
		return errors.New("the worker died before the task started")
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
