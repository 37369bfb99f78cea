package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// Summary describes a finished job.
type Summary struct {
	Job           string
	Output        string
	Maps          int
	Reduces       int
	Workers       int // workers that ran at least one attempt
	Attempts      int
	Failed        int
	Killed        int
	Backups       int
	MapReruns     int
	RecordsIn     int64
	RecordsOut    int64
	BytesShuffled int64
	BytesShipped  int64 // artifact bytes uploaded
	// ClientDataIn and ClientDataOut are the input and output bytes that
	// went through the client: splits sent to workers, parts fetched back
	// (retried attempts included).
	ClientDataIn, ClientDataOut int64
	Counters                    map[string]int64
	Wall                        time.Duration
}

// Job is a checked job, ready to run: the artifact is hashed, the inputs
// are expanded and split, the output directory is free.
type Job struct {
	cfg    Config
	prog   *program
	splits []split
	out    outPaths
	id     string // the job id Run uses (jobinfo.go)
}

// Prepare checks everything about a job that needs no worker: the app,
// the inputs, the output directory (and that no running job holds it).
// It has no side effects, so a CLI can call it before starting a cluster.
func Prepare(cfg Config) (*Job, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prog, err := checkProgram(cfg)
	if err != nil {
		return nil, err
	}
	files, err := expandInputs(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	splits, err := makeSplits(files, cfg.SplitSize, cfg.InputFormat == "wholefile")
	if err != nil {
		return nil, err
	}
	if err := prog.checkDecompresses(files); err != nil {
		return nil, err
	}
	out, err := newOutPaths(cfg.Output)
	if err != nil {
		return nil, err
	}
	if err := checkOutput(out, cfg.Overwrite); err != nil {
		return nil, err
	}
	if err := checkNotHeld(out); err != nil {
		return nil, err
	}
	return &Job{cfg: cfg, prog: prog, splits: splits, out: out, id: newJobID()}, nil
}

// Run runs the job on the workers the lister names, to its end, and
// commits its output. It returns an error unless every task succeeded and
// the output was committed. It holds the output from start to end (lock.go):
// when another job holds it, Run fails at once with ErrOutputBusy.
func (j *Job) Run(ctx context.Context, workers registry.Lister) (*Summary, error) {
	start := time.Now()
	cfg := j.cfg
	if workers == nil {
		return nil, fmt.Errorf("%w: say where the workers are (--local N, --zk HOSTS or --workers ADDR,...)", ErrNoWorkers)
	}
	job := j.id
	log := cfg.Logger.With("job", job)
	lock, err := lockOutput(j.out, holder{Job: job, PID: os.Getpid(), Host: hostname(), Started: start})
	if err != nil {
		return nil, err
	}
	defer func() {
		// release ends the lock even when it cannot remove the file;
		// the next job takes a file left behind over.
		if err := lock.release(); err != nil {
			log.Warn("release the output lock", "err", err)
		}
	}()
	out, err := newStaging(j.out, job, cfg.Overwrite)
	if err != nil {
		return nil, err
	}
	p := newPool(proto.Options{Secret: cfg.Secret, TLS: cfg.TLS, KeepAlive: cfg.KeepAlive}, j.prog, job)
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		p.close(cctx)
	}()

	rep, err := drive(ctx, cfg, workers, log, job, p, j.splits, out)
	if err != nil {
		out.abort()
		return nil, err
	}
	outputs := rep.Reduces
	if cfg.Reduces == 0 {
		outputs = rep.Maps
	}
	if err := out.commit(outputs); err != nil {
		out.abort()
		return nil, err
	}
	st := rep.Stats
	return &Summary{
		Job: job, Output: cfg.Output, Maps: len(j.splits), Reduces: cfg.Reduces,
		Workers: st.WorkersUsed, Attempts: st.Attempts, Failed: st.Failed, Killed: st.Killed, Backups: st.Backups, MapReruns: st.MapReruns,
		RecordsIn:     rep.Counters["map."+spec.CounterInputRecords],
		RecordsOut:    outputRecords(cfg, rep.Counters),
		BytesShuffled: st.ShuffledBytes, BytesShipped: p.bytesShipped(),
		ClientDataIn: p.dataIn.Load(), ClientDataOut: p.dataOut.Load(),
		Counters: rep.Counters, Wall: time.Since(start),
	}, nil
}

func outputRecords(cfg Config, c map[string]int64) int64 {
	if cfg.Reduces == 0 {
		return c["map."+spec.CounterOutputRecords]
	}
	return c["reduce."+spec.CounterOutputRecords]
}

// drive waits for workers, then runs the tracker while feeding it the
// registry's view of the cluster.
func drive(ctx context.Context, cfg Config, workers registry.Lister, log *slog.Logger, job string, p *pool, splits []split, out *staging) (*tracker.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch, err := workers.Watch(ctx)
	if err != nil {
		return nil, err
	}
	first, err := firstWorkers(ctx, watch, cfg.WorkerWait)
	if err != nil {
		return nil, err
	}
	r := &runner{job: job, cfg: &cfg, pool: p, splits: splits, out: out}
	tr := tracker.New(tracker.Config{
		Maps: len(splits), Reduces: cfg.Reduces, MaxAttempts: cfg.MaxAttempts,
		TaskTimeout: cfg.TaskTimeout, Speculative: !cfg.NoSpeculation, SlowAfter: cfg.SlowAfter, WorkerWait: cfg.WorkerWait,
		EarlyReduces: !cfg.NoEarlyReduces,
		Logger:       cfg.Logger.With("job", job), OnEvent: cfg.OnEvent,
	}, r)
	p.onLost = tr.WorkerLost
	resolved, err := resolve(ctx, p, first)
	if err != nil {
		return nil, err
	}
	log.Info("job starting", "maps", len(splits), "reduces", cfg.Reduces, "workers", len(resolved))
	done := make(chan struct{})
	go func() {
		defer close(done)
		feedWorkers(ctx, p, tr, watch, first)
	}()
	tr.UpdateWorkers(resolved)
	rep, err := tr.Run(ctx)
	cancel()
	<-done
	return rep, explainNoWorkers(err, p)
}

// firstWorkers waits up to wait for a non-empty worker set.
func firstWorkers(ctx context.Context, watch <-chan []registry.WorkerInfo, wait time.Duration) ([]registry.WorkerInfo, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ws, ok := <-watch:
			if !ok {
				return nil, fmt.Errorf("%w: the registry closed before any worker registered", ErrNoWorkers)
			}
			if len(ws) > 0 {
				return ws, nil
			}
		case <-timer.C:
			return nil, fmt.Errorf("%w: none registered within %v: start `dist worker` daemons or use --local N", ErrNoWorkers, wait)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// feedWorkers passes every registry change to the tracker until ctx ends.
// The session to a worker whose node vanished is closed once the tracker
// has been told, which gives up its attempts (tracker/sharing.go).
func feedWorkers(ctx context.Context, p *pool, tr *tracker.Tracker, watch <-chan []registry.WorkerInfo, last []registry.WorkerInfo) {
	for {
		select {
		case <-ctx.Done():
			return
		case ws, ok := <-watch:
			if !ok {
				return
			}
			resolved, err := resolve(ctx, p, ws)
			if err != nil {
				continue
			}
			tr.UpdateWorkers(resolved)
			for _, w := range last {
				if !slices.ContainsFunc(ws, func(n registry.WorkerInfo) bool { return n.ID == w.ID }) {
					p.drop(w.ID)
				}
			}
			last = ws
		}
	}
}

// resolve fills in workers known only by address (--workers, --local) by
// asking them, and keeps those that can run the job's program (see
// validate.go). Workers that cannot be reached are left out; none at all
// is an error, and so is none that can run the program.
func resolve(ctx context.Context, p *pool, ws []registry.WorkerInfo) ([]registry.WorkerInfo, error) {
	var out []registry.WorkerInfo
	var errs []error
	for _, w := range ws {
		if w.Slots > 0 && w.OS != "" {
			out = append(out, w)
			continue
		}
		info, err := p.workerInfo(ctx, w.Addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, info)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrNoWorkers, refused(errs, len(ws)))
	}
	return p.prog.usable(out)
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// newJobID makes a job id; jobIDPattern (output.go) matches it.
func newJobID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "j" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}
