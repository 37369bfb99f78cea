package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// Worker is the dist worker daemon. Create it with New, then Start it;
// Shutdown stops it and waits for everything it started.
//
// The Worker keeps the daemon's own state (listener, registration,
// draining), its sessions, its jobs with the collection of their attempts
// (jobs.go) and its slots (slots.go); each attempt owns its own run
// (attempt.go). Locks: mu for the fields below it; slots and each attempt
// have their own, taken after mu when both are needed.
type Worker struct {
	cfg      Config
	srvOpts  proto.Options
	cache    *cache
	peers    *peers
	sandbox  *sandbox
	verdicts verdicts  // artifact inspections, by kind and sha256
	host     *taskHost // runs plugins and exec commands (host.go)
	metrics  *metrics  // Prometheus registry and /metrics server (metrics.go)
	slots    *slots    // slots in use, waiting and reserved (slots.go)
	// store is the S3 client, made at its first use (objectstore.go).
	store func() (ObjectStore, error)
	// local reads the client's files in place (source.go); data reads
	// the --data-dir beneath it, nil without one (data.go).
	local, data *localfs.FS

	// ctx ends when Shutdown begins ("the daemon is stopping"); killing
	// one attempt is a separate signal, see attempt.kill.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the worker starts
	// stopped is closed once wg is done after Shutdown.
	stopped chan struct{}

	// log is the worker's logger, named with its id. Start sets it once,
	// before the worker's first goroutine starts, and nothing changes it
	// after: those goroutines read it freely. Before Start names the
	// worker, cfg.Logger is used; Shutdown, which may overlap Start,
	// reads it under mu (logLocked).
	log *slog.Logger

	mu         sync.Mutex
	started    bool
	closed     bool
	id, addr   string
	startedAt  time.Time
	ln         net.Listener
	sessions   map[*session]struct{}
	attempts   map[attemptKey]*attempt          // launched attempts, until their job ends (jobs.go)
	jobs       map[string]map[*session]struct{} // job -> owner sessions
	hosted     map[string]bool                  // jobs whose master may be replaced (jobs.go)
	orphans    map[string]*time.Timer           // hosted jobs without an owner, ended when it fires
	draining   bool                             // Shutdown began: no new work (drain.go)
	ending     int                              // jobs being ended whose caller has not answered yet
	changed    chan struct{}                    // closed and replaced when slots in use, jobs or ending shrink
	registered bool
	regCancel  context.CancelFunc
	dirLock    *os.File // <Dir>/lock, held from Start until stopped (workdir.go)

	shutdownOnce sync.Once
	shutdownErr  error
}

// New checks cfg and returns a worker that is not listening yet.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	sb, err := newSandbox(cfg.Security)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{
		cfg:     cfg,
		sandbox: sb,
		srvOpts: proto.Options{
			Secret: cfg.Secret, TLS: cfg.TLS, KeepAlive: cfg.KeepAlive,
			HandshakeTimeout: cfg.HandshakeTimeout,
		},
		cache: &cache{dir: filepath.Join(cfg.Dir, "cache"), max: cfg.MaxArtifact, limit: cfg.CacheSize, log: cfg.Logger},
		host:  newTaskHost(cfg.HostBinary, cfg.Logger),
		peers: newPeers(proto.Options{
			Secret: cfg.Secret, TLS: cfg.TLSClient, KeepAlive: cfg.KeepAlive,
		}),
		ctx:      ctx,
		cancel:   cancel,
		stopped:  make(chan struct{}),
		sessions: make(map[*session]struct{}),
		attempts: make(map[attemptKey]*attempt),
		jobs:     make(map[string]map[*session]struct{}),
		hosted:   make(map[string]bool),
		orphans:  make(map[string]*time.Timer),
		changed:  make(chan struct{}),
		slots:    newSlots(cfg.Slots),
		store:    newStoreOnce(cfg.ObjectStore),
		local:    localfs.New(),
	}
	if cfg.DataDir != "" {
		w.data = localfs.Beneath(cfg.DataDir)
	}
	w.metrics = newMetrics(w)
	return w, nil
}

// Start prepares the work directory, listens, starts serving and then,
// when a Registrar is set, registers the worker. ctx bounds only the start
// itself; the worker runs until Shutdown.
func (w *Worker) Start(ctx context.Context) (err error) {
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return ErrClosed
	case w.started:
		w.mu.Unlock()
		return ErrStarted
	}
	w.started = true
	w.mu.Unlock()

	if err := w.prepareDir(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.releaseDir()
		}
	}()
	if err := w.prepareSandbox(); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", w.cfg.Listen)
	if err != nil {
		return fmt.Errorf("worker: listen on %s: %w", w.cfg.Listen, err)
	}
	if err := w.checkBound(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	addr, id, err := w.identity(ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	w.ln, w.addr, w.id, w.startedAt = ln, addr, id, time.Now()
	w.log = w.cfg.Logger.With("worker", id) // before the first goroutine
	if w.data != nil {
		w.data.Logger = w.log
	}
	w.wg.Add(1)
	go w.acceptLoop(ln)
	w.mu.Unlock()
	w.log.Info("worker listening", "addr", addr, "slots", w.cfg.Slots, "dir", w.cfg.Dir, "data_dir", w.cfg.DataDir)
	w.warnExposure(ln.Addr().String())
	if w.cfg.MetricsAddr != "" {
		if err := w.metrics.serve(w, w.cfg.MetricsAddr); err != nil {
			_ = w.Shutdown(context.WithoutCancel(ctx))
			return err
		}
	}

	if w.cfg.Registrar == nil {
		return nil
	}
	// Registration lives until Shutdown, not until ctx ends; ctx only
	// bounds this first Register call.
	regCtx, regCancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, regCancel)
	err = w.cfg.Registrar.Register(regCtx, w.Info())
	stop()
	w.mu.Lock()
	w.regCancel = regCancel
	w.registered = err == nil
	w.mu.Unlock()
	if err != nil {
		_ = w.Shutdown(context.WithoutCancel(ctx))
		return fmt.Errorf("worker %s: register: %w", id, err)
	}
	return nil
}

// identity works out the advertised address and the worker id.
func (w *Worker) identity(a net.Addr) (addr, id string, err error) {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "", "", fmt.Errorf("worker: listen address %s: %w", a, err)
	}
	addr = w.cfg.Advertise
	if addr == "" {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			if h, err := os.Hostname(); err == nil && h != "" {
				host = h
			}
		}
		addr = net.JoinHostPort(host, port)
	}
	id = w.cfg.ID
	if id == "" {
		h, _ := os.Hostname()
		var b [2]byte
		_, _ = rand.Read(b[:])
		id = fmt.Sprintf("%s-%s-%s", safeHost(h), port, hex.EncodeToString(b[:]))
	}
	return addr, id, nil
}

// safeHost maps a host name onto spec.ValidName's alphabet.
func safeHost(h string) string {
	h = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, strings.SplitN(h, ".", 2)[0])
	if len(h) > 100 {
		h = h[:100]
	}
	if h == "" {
		h = "worker"
	}
	return h
}

// Addr returns the advertised address ("" before Start).
func (w *Worker) Addr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.addr
}

// ID returns the worker id ("" before Start when none was configured).
func (w *Worker) ID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id
}

// Info describes the worker as it registers itself.
func (w *Worker) Info() registry.WorkerInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	info := registry.WorkerInfo{
		ID:        w.id,
		Addr:      w.addr,
		Slots:     w.cfg.Slots,
		Version:   proto.Version,
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Started:   w.startedAt,
		Flags:     w.host.flags(),
		Plugin:    w.host.published(),
		Draining:  w.draining,
		Host:      storage.HostID(),
		Data:      w.cfg.DataDir != "",
	}
	if w.cfg.JobHost != nil {
		info.Masters = w.cfg.JobHost.Slots()
	}
	info.Flags = append(info.Flags, w.securityFlags()...)
	if info.Data {
		info.Flags = append(info.Flags, "data-dir") // it serves worker: inputs
	}
	return info
}

// logLocked is the worker's logger, or cfg.Logger before Start has named
// the worker. Only Shutdown, which may overlap Start, needs it.
func (w *Worker) logLocked() *slog.Logger {
	if w.log == nil {
		return w.cfg.Logger
	}
	return w.log
}

// Shutdown drains the worker (drain.go: no new work, what it holds is
// served until no job needs it, at most DrainTimeout), then deregisters
// it, stops accepting, kills what still runs, closes every session and
// waits until every goroutine and child process the worker started has
// ended, or ctx ends. It is idempotent; a later call waits again.
func (w *Worker) Shutdown(ctx context.Context) error {
	w.shutdownOnce.Do(func() { w.shutdownErr = w.beginShutdown(ctx) })
	select {
	case <-w.stopped:
		return w.shutdownErr
	case <-ctx.Done():
		return errors.Join(w.shutdownErr, fmt.Errorf("worker shutdown: %w", ctx.Err()))
	}
}

func (w *Worker) beginShutdown(ctx context.Context) error {
	w.drainJobs(ctx) // drain.go

	w.mu.Lock()
	w.closed = true
	for job, t := range w.orphans { // their attempts go with the others below
		t.Stop()
		delete(w.orphans, job)
	}
	log := w.logLocked()
	registered, regCancel, ln := w.registered, w.regCancel, w.ln
	w.registered = false
	attempts := make([]*attempt, 0, len(w.attempts))
	for _, a := range w.attempts {
		attempts = append(attempts, a)
	}
	w.mu.Unlock()
	log.Info("worker shutting down", "running", len(attempts))

	var err error
	if registered {
		if derr := w.cfg.Registrar.Deregister(ctx); derr != nil {
			err = fmt.Errorf("worker: deregister: %w", derr)
		}
	}
	if regCancel != nil {
		regCancel()
	}
	if ln != nil {
		ln.Close()
	}
	w.cancel()

	// Kill attempts while their sessions are still up, so clients get a
	// final event saying why.
	for _, a := range attempts {
		a.kill(errShuttingDown)
	}
	for _, a := range attempts {
		select {
		case <-a.reported:
		case <-ctx.Done():
		}
	}

	w.mu.Lock()
	sessions := make([]*session, 0, len(w.sessions))
	for s := range w.sessions {
		sessions = append(sessions, s)
	}
	w.mu.Unlock()
	for _, s := range sessions {
		s.ss.Close()
	}
	w.peers.close()
	w.metrics.close()

	go func() {
		w.wg.Wait()
		w.releaseDir() // every task is reaped: another worker may have the directory
		close(w.stopped)
	}()
	return err
}

// admitting reports whether the worker takes new work; the error is the
// shutting_down reply.
func (w *Worker) admitting() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stoppingLocked() {
		return shuttingDown(w.id)
	}
	return nil
}

// stoppingLocked reports whether the worker refuses new work: it drains
// or is shut down.
func (w *Worker) stoppingLocked() bool { return w.closed || w.draining }
