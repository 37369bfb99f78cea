package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/distmr/dist/registry"
)

// ReadyPrefix starts the one line `dist worker` prints on stdout once it is
// listening: "dist worker ready id=ID addr=HOST:PORT".
const ReadyPrefix = "dist worker ready "

// DrainingPrefix starts the line `dist worker` prints on stdout when it
// begins to drain: "dist worker draining id=ID". A local cluster marks
// the worker draining in its registry, as ZooKeeper's node would say.
const DrainingPrefix = "dist worker draining "

// LocalConfig describes a local cluster of worker subprocesses.
type LocalConfig struct {
	// Workers is how many `dist worker` processes to start; at least 1.
	Workers int
	// Slots per worker; 0 shares the machine's cores among the workers
	// (at least one each), as `dist worker` takes one slot per core: more
	// task processes than cores only makes them take turns.
	Slots int
	// Binary is the dist executable to start; "" means this process's own.
	Binary string
	// Dir holds the workers' directories and logs; "" means a new
	// temporary directory, removed by Close.
	Dir string
	// Args are extra flags passed to every worker (e.g. --secret-file).
	Args []string
	// StartTimeout bounds each worker's start; 0 means 30s.
	StartTimeout time.Duration
}

// LocalCluster is N `dist worker` subprocesses on 127.0.0.1, known through
// an in-memory registry. It is the same code path as a real cluster except
// for the registry.
type LocalCluster struct {
	Registry *registry.Memory
	dir      string
	ownDir   bool
	procs    []*localWorker
	once     sync.Once
	follow   sync.WaitGroup // follow goroutines
}

type localWorker struct {
	info    registry.WorkerInfo
	cmd     *exec.Cmd
	log     string
	out     *readyWriter
	exited  chan struct{} // closed when Wait returns
	waitErr error
}

// StartLocal starts the workers and waits until each is listening.
func StartLocal(ctx context.Context, cfg LocalConfig) (*LocalCluster, error) {
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("--local needs at least 1 worker, not %d", cfg.Workers)
	}
	if cfg.Slots <= 0 {
		cfg.Slots = max(1, runtime.NumCPU()/cfg.Workers)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Binary = exe
	}
	lc := &LocalCluster{Registry: registry.NewMemory(), dir: cfg.Dir}
	if lc.dir == "" {
		d, err := os.MkdirTemp("", "dist-local-")
		if err != nil {
			return nil, err
		}
		lc.dir, lc.ownDir = d, true
	}
	type started struct {
		w   *localWorker
		err error
	}
	ch := make(chan started, cfg.Workers)
	for i := 0; i < cfg.Workers; i++ {
		go func() {
			w, err := startWorker(ctx, cfg, filepath.Join(lc.dir, fmt.Sprintf("w%d", i)))
			ch <- started{w, err}
		}()
	}
	var errs []error
	for i := 0; i < cfg.Workers; i++ {
		s := <-ch
		if s.err != nil {
			errs = append(errs, s.err)
			continue
		}
		lc.procs = append(lc.procs, s.w)
		if err := lc.Registry.Add(s.w.info); err != nil {
			errs = append(errs, err)
		}
		lc.followWorker(s.w)
	}
	if len(errs) > 0 {
		lc.Close()
		return nil, fmt.Errorf("start local cluster: %w", errors.Join(errs...))
	}
	return lc, nil
}

func startWorker(ctx context.Context, cfg LocalConfig, dir string) (*localWorker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logPath := dir + ".log"
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	args := append([]string{"worker", "--listen", "127.0.0.1:0", "--dir", dir,
		"--slots", fmt.Sprint(cfg.Slots)}, cfg.Args...)
	cmd := exec.Command(cfg.Binary, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	rw := &readyWriter{ready: make(chan registry.WorkerInfo, 1), draining: make(chan struct{})}
	cmd.Stdout = rw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s worker: %w", cfg.Binary, err)
	}
	w := &localWorker{cmd: cmd, log: logPath, out: rw, exited: make(chan struct{})}
	go func() {
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case w.info = <-rw.ready:
	case <-w.exited:
		err = fmt.Errorf("worker exited before it was ready: %v (log: %s)", w.waitErr, logPath)
	case <-timer.C:
		err = fmt.Errorf("worker not ready within %v (log: %s)", cfg.StartTimeout, logPath)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil && (w.info.ID == "" || w.info.Addr == "") {
		err = fmt.Errorf("worker printed a malformed ready line (log: %s)", logPath)
	}
	if err != nil {
		w.stop()
		return nil, err
	}
	w.info.Slots = cfg.Slots
	return w, nil
}

// followWorker keeps the registry true to what the worker says and does:
// draining once it says so, gone once it exits.
func (lc *LocalCluster) followWorker(w *localWorker) {
	lc.follow.Add(1)
	go func() {
		defer lc.follow.Done()
		select {
		case <-w.out.draining:
			info := w.info
			info.Draining = true
			_ = lc.Registry.Add(info)
			<-w.exited
		case <-w.exited:
		}
		lc.Registry.Remove(w.info.ID)
	}()
}

// readyWriter receives a worker's stdout and reports its ready line, then
// its draining line.
type readyWriter struct {
	mu       sync.Mutex
	buf      []byte
	seen     bool // the ready line
	drains   bool // the draining line
	ready    chan registry.WorkerInfo
	draining chan struct{} // closed at the draining line
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drains {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := strings.IndexByte(string(r.buf), '\n')
		if i < 0 {
			break
		}
		line := string(r.buf[:i])
		r.buf = r.buf[i+1:]
		switch {
		case !r.seen && strings.HasPrefix(line, ReadyPrefix):
			r.seen = true
			r.ready <- parseReady(line)
		case r.seen && strings.HasPrefix(line, DrainingPrefix):
			r.drains, r.buf = true, nil
			close(r.draining)
			return len(p), nil
		}
	}
	if len(r.buf) > 64<<10 {
		r.buf = nil // no line we look for is that long
	}
	return len(p), nil
}

// parseReady reads "dist worker ready id=ID addr=ADDR".
func parseReady(line string) registry.WorkerInfo {
	var info registry.WorkerInfo
	for _, f := range strings.Fields(strings.TrimPrefix(line, ReadyPrefix)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "id":
			info.ID = v
		case "addr":
			info.Addr = v
		}
	}
	return info
}

// stop sends SIGTERM to the worker's process group, SIGKILL after a grace
// period, and waits for it.
func (w *localWorker) stop() {
	pgid := w.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-w.exited:
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-w.exited
	}
}

// Close stops every worker, waits for them and removes the cluster's
// directory if it created it. Idempotent.
func (lc *LocalCluster) Close() error {
	lc.once.Do(func() {
		var wg sync.WaitGroup
		for _, p := range lc.procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lc.Registry.Remove(p.info.ID)
				p.stop()
			}()
		}
		wg.Wait()
		lc.follow.Wait()
		if lc.ownDir {
			_ = os.RemoveAll(lc.dir)
		}
	})
	return nil
}
