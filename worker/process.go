package worker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/distmr/dist/task/spec"
)

// The attempt's process: started in the attempt directory, in its own
// process group, with a scrubbed environment and the sandbox's limits;
// killed with the group (SIGTERM, SIGKILL after KillGrace) when the
// attempt is; always waited for.

// taskEnv is the whole environment of a task process: nothing of the
// worker's own (in particular never the secret) but PATH.
func taskEnv(dir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{
		"PATH=" + path,
		"HOME=" + dir,
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"LANG=C.UTF-8",
		spec.EnvTaskDir + "=" + dir,
	}
}

// startRetries bounds retries of a start that failed with ETXTBSY.
const startRetries = 8

// runProcess runs the program in the attempt directory in its own process
// group and waits for it. started is called once it runs. The attempt's
// ctx kills the group: SIGTERM, then SIGKILL after KillGrace. Whatever the
// program left behind in its group is SIGKILLed when it exits. The group
// is recorded under <Dir>/run while it runs, for a worker that restarts
// after this one died (workdir.go).
func (a *attempt) runProcess(path string, args []string, started func()) (*os.ProcessState, error) {
	stdout, err := createLog(filepath.Join(a.dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := createLog(filepath.Join(a.dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	if err := a.w.sandbox.prepare(a.dir); err != nil {
		return nil, err
	}

	var cmd *exec.Cmd
	for try := 0; ; try++ {
		cmd = a.command(path, args, stdout, stderr)
		err = cmd.Start()
		if err == nil {
			break
		}
		// A just-written executable can be briefly "busy" while another
		// goroutine's fork still holds its write descriptor
		// (golang/go#22315): wait and try again.
		if !errors.Is(err, syscall.ETXTBSY) || try == startRetries {
			return nil, err
		}
		t := time.NewTimer(time.Duration(10<<try) * time.Millisecond)
		select {
		case <-t.C:
		case <-a.ctx.Done():
			t.Stop()
			return nil, context.Cause(a.ctx)
		}
	}
	forget := a.recordGroup(cmd.Process.Pid)
	defer forget() // after the group is killed below
	if err := a.w.sandbox.start(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, err
	}
	a.log.Debug("task started", "pid", cmd.Process.Pid)
	started()
	err = cmd.Wait()
	if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr == nil {
		a.log.Debug("killed leftover processes of the task's group")
	}
	return cmd.ProcessState, err
}

// createLog creates a fresh log file for the task, never through a
// symlink (see taskfs.go).
func createLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
}

// command is the attempt's process, not yet started: killed with its
// group when the attempt's ctx ends.
func (a *attempt) command(path string, args []string, stdout, stderr *os.File) *exec.Cmd {
	cmd := exec.CommandContext(a.ctx, path, args...)
	cmd.Dir = a.dir
	cmd.Env = taskEnv(a.dir)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if a.input != nil {
		cmd.ExtraFiles = []*os.File{a.input} // inputFD in the task
	}
	cmd.SysProcAttr = taskProcAttr()
	a.w.sandbox.apply(cmd)
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	// After the grace os/exec SIGKILLs the leader; runProcess then
	// SIGKILLs the rest of the group.
	cmd.WaitDelay = a.w.cfg.KillGrace
	return cmd
}
