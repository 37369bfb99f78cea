package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/io/storage/s3store"
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
// are listed and split, the output is free.
type Job struct {
	cfg    Config
	prog   *program
	splits []split  // local and S3 inputs'; worker: inputs' are added by Run
	worker []string // worker: inputs, listed on the workers when the job runs
	out    outPaths // a local --output
	s3out  string   // an S3 --output: s3://BUCKET/PREFIX
	store  *s3store.Store
	local  *localfs.FS // the client's own files
	id     string      // the job id Run uses (jobinfo.go)
	// Of a job master's job (Config.Journal): the plan an earlier master
	// saved, if any, and done when the output holds this job's commit.
	plan *jobPlan
	done bool
}

// Prepare checks everything about a job that needs no worker: the app,
// the inputs (listing S3 ones), the output (and that no running job holds
// a local one). It has no side effects, so a CLI can call it before
// starting a cluster.
func Prepare(cfg Config) (*Job, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prog, err := checkProgram(cfg)
	if err != nil {
		return nil, err
	}
	plan, err := planInputs(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	j := &Job{cfg: cfg, prog: prog, worker: plan.worker, local: localfs.New(), id: cfg.JobID}
	if j.id == "" {
		j.id = newJobID()
	}
	if cfg.Tasks > 0 {
		j.splits = noInputSplits(cfg.Tasks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	whole := cfg.InputFormat == "wholefile"
	var names []string
	if len(plan.local) > 0 {
		objs, err := listLocal(ctx, j.local, plan.local)
		if err != nil {
			return nil, err
		}
		if j.splits, err = makeSplits(ctx, j.local, objs, cfg.SplitSize, whole); err != nil {
			return nil, err
		}
		for _, o := range objs {
			names = append(names, o.Name)
		}
	}
	if len(plan.s3) > 0 || storage.KindOf(cfg.Output) == storage.S3 {
		if j.store, err = s3store.New(); err != nil {
			return nil, err
		}
	}
	if len(plan.s3) > 0 {
		objs, err := listInputs(ctx, j.store, plan.s3)
		if err != nil {
			return nil, err
		}
		j.splits = append(j.splits, rangeSplits(objs, cfg.SplitSize, whole, func(o storage.Object) string { return o.Name })...)
		for _, o := range objs {
			names = append(names, o.Name)
		}
	}
	if err := prog.checkDecompresses(names); err != nil {
		return nil, err
	}
	if storage.KindOf(cfg.Output) == storage.S3 {
		if j.s3out, err = s3OutputURL(cfg.Output); err != nil {
			return nil, err
		}
		if cfg.Journal == nil {
			return j, checkS3Output(ctx, j.store, j.s3out, cfg.Overwrite)
		}
		j.done, err = checkS3OutputOf(ctx, j.store, j.s3out, cfg.Overwrite, j.id)
		return j, err
	}
	if j.out, err = newOutPaths(cfg.Output); err != nil {
		return nil, err
	}
	if err := checkOutput(j.out, cfg.Overwrite); err != nil {
		return nil, err
	}
	if err := checkNotHeld(j.out); err != nil {
		return nil, err
	}
	return j, nil
}

// s3OutputURL checks an S3 --output and drops a trailing slash.
func s3OutputURL(u string) (string, error) {
	_, key, err := s3store.ParseURL(u)
	if err == nil && strings.Trim(key, "/") == "" {
		err = fmt.Errorf("name a prefix in the bucket, e.g. %s/out", strings.TrimSuffix(u, "/"))
	}
	if err != nil {
		return "", outputErr(ErrOutputNotDir, "--output %s: %v", u, err)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// Run runs the job on the workers the lister names, to its end, and
// commits its output. It returns an error unless every task succeeded and
// the output was committed. It holds the output from start to end (lock.go,
// s3store.Lock): when another job holds it, Run fails at once with
// ErrOutputBusy.
func (j *Job) Run(ctx context.Context, workers registry.Lister) (*Summary, error) {
	start := time.Now()
	cfg := j.cfg
	if workers == nil {
		return nil, fmt.Errorf("%w: say where the workers are (--local N, --zk HOSTS or --workers ADDR,...)", ErrNoWorkers)
	}
	job := j.id
	log := cfg.Logger.With("job", job)
	me := holder{Job: job, PID: os.Getpid(), Host: hostname(), Started: start}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	listed := len(j.splits)
	rec, err := j.recover(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.OnMaps != nil && len(j.splits) != listed {
		cfg.OnMaps(len(j.splits)) // the saved plan's maps, not this listing's
	}
	if cfg.OnRecovered != nil && len(rec.done) > 0 {
		cfg.OnRecovered(rec.done)
	}
	if j.done {
		log.Info("the output already holds this job's commit: an earlier master of the job committed it")
		// That master may have died before it let go of the output: its
		// lock would hold the output until its lease ran out.
		if err := j.clearS3Output(ctx, me); err != nil {
			log.Warn("clear what the earlier master left under the output", "output", j.s3out, "err", err)
		}
		return j.summaryOf(rec, start), nil
	}
	var out *staging
	var s3out *s3Output
	var s3lock *s3store.Lock
	if j.s3out != "" {
		lock, err := j.lockS3(ctx, me)
		if err != nil {
			return nil, err
		}
		s3lock = lock
		defer func() {
			if err := releaseS3(ctx, lock); err != nil {
				log.Warn("release the output lock", "err", err)
			}
		}()
		go func() {
			select {
			case <-lock.Lost():
				cancel(fmt.Errorf("%w: the lock on --output %s was taken by another job", ErrOutputBusy, j.s3out))
			case <-ctx.Done():
			}
		}()
		if s3out, err = openS3Output(ctx, j.store, j.s3out, job, cfg.Overwrite, rec.uploads); err != nil {
			return nil, err
		}
	} else {
		lock, err := lockOutput(j.out, me)
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
		if out, err = newStaging(j.out, job, cfg.Overwrite); err != nil {
			return nil, err
		}
	}
	p := newPool(proto.Options{Secret: cfg.Secret, TLS: cfg.TLS, KeepAlive: cfg.KeepAlive}, j.prog, job)
	closePool := sync.OnceFunc(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		p.close(cctx)
	})
	defer closePool()

	// abortUploads aborts what the job's attempts uploaded and did not
	// commit, once the job has ended on every worker (the pool closed):
	// none uploads any more. What fails here the next job on the output
	// aborts.
	abortUploads := func() {
		closePool()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s3out.abort(cctx); err != nil {
			log.Warn("abort uploads left under the output (the next job on it aborts them)", "output", j.s3out, "err", err)
		}
	}

	r := &runner{job: job, cfg: &cfg, pool: p, local: j.local, out: out, s3out: s3out, notInPlace: map[string]bool{}}
	var jw *journalWriter
	if cfg.Journal != nil {
		jw = startJournal(cfg.Journal, log)
	}
	rep, err := j.drive(ctx, workers, log, r, rec.done, jw)
	switch {
	case jw == nil:
	case lockTaken(s3lock):
		jw.drop() // the journal is the new master's now
	default:
		jw.flush() // every commit journaled before the output's
	}
	if err == nil {
		outputs := rep.Reduces
		if cfg.Reduces == 0 {
			outputs = rep.Maps
		}
		if s3out != nil {
			if err = s3lock.Check(ctx); err == nil {
				err = s3out.commit(ctx, outputs)
			}
		} else {
			err = out.commit(outputs)
		}
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		if s3out != nil && lockTaken(s3lock) {
			// Another master took the job over and keeps the uploads it
			// found journaled: abort nothing under the output.
			closePool()
		} else if s3out != nil {
			abortUploads()
		} else {
			closePool() // no worker still places a part in staging once the job ended there
			out.abort()
		}
		return nil, err
	}
	if s3out != nil {
		abortUploads() // attempts killed when the job ended may have left some
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

// drive waits for workers, lists the worker: inputs on them, then runs
// the tracker while feeding it the registry's view of the cluster.
func (j *Job) drive(ctx context.Context, workers registry.Lister, log *slog.Logger, r *runner, recovered []tracker.Committed, jw *journalWriter) (*tracker.Report, error) {
	cfg, p := j.cfg, r.pool
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
	resolved, err := resolve(ctx, p, first)
	if err != nil {
		return nil, err
	}
	maps := len(j.splits)
	pins, err := j.planMaps(ctx, r, resolved, log)
	if err != nil {
		return nil, err
	}
	if cfg.OnMaps != nil && len(j.splits) != maps {
		cfg.OnMaps(len(j.splits))
	}
	var onCommit func(tracker.Committed)
	if jw != nil {
		onCommit = func(c tracker.Committed) {
			e := journalEntry{Task: c.Task, Attempt: c.Attempt, Worker: c.Worker, Result: c.Result}
			if r.s3out != nil {
				if u, ok := r.s3out.upload(c.Task.ID(), c.Attempt); ok {
					e.Upload = &u
				}
			}
			jw.add(e)
		}
	}
	tr := tracker.New(tracker.Config{
		Maps: len(j.splits), Reduces: cfg.Reduces, MaxAttempts: cfg.MaxAttempts,
		TaskTimeout: cfg.TaskTimeout, Speculative: !cfg.NoSpeculation, SlowAfter: cfg.SlowAfter, WorkerWait: cfg.WorkerWait,
		EarlyReduces: !cfg.NoEarlyReduces, Pins: pins, Recovered: recovered, OnCommit: onCommit, FirstAttempt: cfg.FirstAttempt,
		Logger: cfg.Logger.With("job", j.id), OnEvent: cfg.OnEvent,
	}, r)
	if len(recovered) > 0 {
		log.Info("carrying the job on from its journal", "tasks", len(recovered))
	}
	p.onLost = tr.WorkerLost
	log.Info("job starting", "maps", len(j.splits), "reduces", cfg.Reduces, "workers", len(resolved))
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

// planMaps fixes the job's maps once workers are known: packs small files
// (the first workers' slots say how many maps keep them busy), lists
// worker: inputs on the workers, and samples a totally ordered job's cut
// points. A job master saves the result before any map runs, and one
// carrying the job on uses the saved plan instead (journal.go).
func (j *Job) planMaps(ctx context.Context, r *runner, resolved []registry.WorkerInfo, log *slog.Logger) ([]tracker.Pin, error) {
	cfg, p := j.cfg, r.pool
	if j.plan != nil {
		j.splits, r.splits, r.order = j.plan.Splits, j.plan.Splits, j.plan.Order
		return j.plan.Pins, nil
	}
	slots := 0
	if cfg.packs() {
		for _, w := range resolved {
			slots += max(w.Slots, 1)
		}
		j.splits = packSplits(j.splits, cfg.SplitSize, slots)
	}
	var pins []tracker.Pin
	if len(j.worker) > 0 {
		ws, wp, err := workerSplits(ctx, p, resolved, j.worker, cfg.SplitSize, cfg.InputFormat == "wholefile", slots)
		if err != nil {
			return nil, err
		}
		pins = append(make([]tracker.Pin, len(j.splits)), wp...)
		j.splits = append(j.splits, ws...)
	}
	r.splits = j.splits
	if cfg.TotalOrder {
		var err error
		if r.order, err = r.sampleOrder(ctx, resolved, pins); err != nil {
			return nil, err
		}
		log.Info("cut points picked", "reduces", cfg.Reduces, "bytes", cutBytes(r.order.Cuts))
	}
	if cfg.Journal != nil {
		return pins, savePlan(ctx, cfg.Journal, &jobPlan{Splits: j.splits, Pins: pins, Order: r.order})
	}
	return pins, nil
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

// lockTaken reports whether another job took the output lock l over (nil:
// no S3 output).
func lockTaken(l *s3store.Lock) bool {
	if l == nil {
		return false
	}
	select {
	case <-l.Lost():
		return true
	default:
		return false
	}
}
