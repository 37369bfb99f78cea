package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/distmr/dist/internal/workerproc"
	"github.com/distmr/dist/registry"
)

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
	info registry.WorkerInfo
	proc *workerproc.Proc
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
	args := append([]string{"--listen", "127.0.0.1:0", "--dir", dir,
		"--slots", fmt.Sprint(cfg.Slots)}, cfg.Args...)
	p, err := workerproc.Start(ctx, workerproc.Config{
		Binary: cfg.Binary, Args: args, Log: dir + ".log", ReadyTimeout: cfg.StartTimeout})
	if err != nil {
		return nil, err
	}
	return &localWorker{info: registry.WorkerInfo{ID: p.ID, Addr: p.Addr, Slots: cfg.Slots}, proc: p}, nil
}

// followWorker keeps the registry true to what the worker says and does:
// draining once it says so, gone once it exits.
func (lc *LocalCluster) followWorker(w *localWorker) {
	lc.follow.Add(1)
	go func() {
		defer lc.follow.Done()
		select {
		case <-w.proc.Draining():
			info := w.info
			info.Draining = true
			_ = lc.Registry.Add(info)
			<-w.proc.Exited()
		case <-w.proc.Exited():
		}
		lc.Registry.Remove(w.info.ID)
	}()
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
				p.proc.Stop(10 * time.Second)
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
