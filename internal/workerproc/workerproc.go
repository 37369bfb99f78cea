package workerproc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Config says which worker to start.
type Config struct {
	// Binary is the dist executable. Required.
	Binary string
	// Args are the flags after `worker` (--listen, --dir, ...).
	Args []string
	// Log is the file that receives the worker's stderr, created (or
	// truncated) by Start. Required.
	Log string
	// ReadyTimeout bounds the wait for the ready line; 0 means 30s.
	ReadyTimeout time.Duration
}

// Proc is a running `dist worker` child.
type Proc struct {
	Ready // what its ready line said

	log     string
	cmd     *exec.Cmd
	out     *readyWriter
	exited  chan struct{} // closed when Wait returns
	waitErr error
}

// Start starts the worker and waits, up to cfg.ReadyTimeout or ctx, for its
// ready line. A worker that is not ready is stopped before Start returns.
func Start(ctx context.Context, cfg Config) (*Proc, error) {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	p, err := start(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.awaitReady(ctx, cfg.ReadyTimeout); err != nil {
		p.Stop(10 * time.Second)
		return nil, err
	}
	return p, nil
}

// start starts the process with its stderr in the log and its stdout read
// by a readyWriter.
func start(cfg Config) (*Proc, error) {
	logf, err := os.Create(cfg.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(cfg.Binary, append([]string{"worker"}, cfg.Args...)...)
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	// A pipe of our own, not StdoutPipe or an io.Writer: Wait then returns
	// when the worker exits, whoever else still holds its stdout.
	out, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s worker: %w", cfg.Binary, err)
	}
	p := &Proc{log: cfg.Log, cmd: cmd, out: newReadyWriter(), exited: make(chan struct{})}
	go func() { // ends when every holder of the pipe's write end has exited
		_, _ = io.Copy(p.out, out)
		out.Close()
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *Proc) awaitReady(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case p.Ready = <-p.out.ready:
	case <-p.exited:
		return fmt.Errorf("worker exited before it was ready: %v (log: %s)", p.waitErr, p.log)
	case <-timer.C:
		return fmt.Errorf("worker not ready within %v (log: %s)", timeout, p.log)
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.ID == "" || p.Addr == "" {
		return fmt.Errorf("worker printed a malformed ready line (log: %s)", p.log)
	}
	return nil
}

// Pid is the worker's process id (and its process group's).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the worker, unless it has exited: SIGKILL to its
// whole process group (nothing of it may outlive the kill), any other
// signal to the worker alone, as systemd's KillMode=mixed does
// (scripts/dist-worker.service). A SIGTERM is the worker's to act on: it
// drains and ends its own tasks. Sent to the group, it would also reach a
// task forked a moment before, still in the worker's group until it moves
// to its own, and kill the very task the drain should let finish.
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		return
	default:
	}
	pid := p.cmd.Process.Pid
	if sig == syscall.SIGKILL {
		pid = -pid
	}
	_ = syscall.Kill(pid, sig)
}

// Stop sends SIGTERM to the worker, SIGKILL to its process group if it
// has not exited after grace, and waits for it.
func (p *Proc) Stop(grace time.Duration) {
	p.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// Exited is closed once the worker has exited and been waited for.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Draining is closed when the worker says it drains.
func (p *Proc) Draining() <-chan struct{} { return p.out.draining }
