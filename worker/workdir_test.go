package worker

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDirLockedForTheWorkersLife: a second worker on a Dir in use fails
// to start with ErrDirInUse naming the holder's pid; once the holder shut
// down the Dir is free again.
func TestDirLockedForTheWorkersLife(t *testing.T) {
	first := newTestWorker(t, nil)
	c := DefaultConfig()
	c.Dir = first.cfg.Dir
	second, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(testContext(t))
	want := fmt.Sprintf("--dir %s is in use by dist worker pid %d: stop it or choose another --dir", c.Dir, os.Getpid())
	if !errors.Is(err, ErrDirInUse) || err.Error() != want {
		t.Fatalf("second Start on a Dir in use: %v, want %q", err, want)
	}
	if err := first.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
	third := newTestWorker(t, func(cfg *Config) { cfg.Dir = c.Dir })
	if third.Addr() == "" {
		t.Fatal("no worker started on the freed Dir")
	}
}

// orphanGroup starts a process group in dir whose leader exits at once
// (and is reaped) leaving a sleeping child; it returns the group's id,
// the leader's start time and the child's pid.
func orphanGroup(t *testing.T, dir string) (pgid int, start uint64, child int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", `sleep 1000 </dev/null >/dev/null 2>&1 & echo $!`)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid = cmd.Process.Pid
	if start, err = processStart(pgid); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	n, _ := stdout.Read(b)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if child, err = strconv.Atoi(strings.TrimSpace(string(b[:n]))); err != nil {
		t.Fatalf("child pid %q: %v", b[:n], err)
	}
	t.Cleanup(func() {
		if !gone(child) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
	})
	return pgid, start, child
}

// TestLeftoverGroupsKilledAtStart: a worker starting on a Dir kills the
// recorded process groups that are still the ones recorded, including a
// group whose leader is gone but whose child works in the attempt's
// directory, and leaves alone a group that is not the recorded one.
func TestLeftoverGroupsKilledAtStart(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	attempt := filepath.Join(dir, "tasks", "j", "m-00000-0")
	other := t.TempDir()
	for _, d := range []string{attempt, filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ours, oursStart, oursChild := orphanGroup(t, attempt)
	stranger, strangerStart, strangerChild := orphanGroup(t, other)
	record := func(r groupRecord) {
		if err := os.WriteFile(filepath.Join(dir, "run", strconv.Itoa(r.pgid)), r.encode(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record(groupRecord{pgid: ours, start: oursStart, dir: attempt})
	// The stranger's group works elsewhere: a recycled pgid, not ours.
	record(groupRecord{pgid: stranger, start: strangerStart, dir: filepath.Join(dir, "tasks", "j", "m-00001-0")})
	// A live leader with another start time than recorded: a reused pid.
	reused := exec.Command("sleep", "1000")
	reused.Dir = attempt
	reused.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := reused.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reused.Process.Kill(); _ = reused.Wait() })
	reusedStart, err := processStart(reused.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	record(groupRecord{pgid: reused.Process.Pid, start: reusedStart + 1, dir: attempt})

	newTestWorker(t, func(c *Config) { c.Dir = dir })
	waitFor(t, "the leftover child to be killed", func() bool { return gone(oursChild) })
	if gone(strangerChild) || gone(reused.Process.Pid) {
		t.Error("a process group that is not the recorded one was killed")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "run")); len(ents) != 0 {
		t.Errorf("records left after start: %v", ents)
	}
	if _, err := os.Stat(attempt); !os.IsNotExist(err) {
		t.Errorf("the old task directory survived the start (%v)", err)
	}
}
