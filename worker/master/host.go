package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// Host runs the job masters of one worker.
type Host struct {
	cfg Config
	log *slog.Logger
	// ctx ends at Close: every master is killed and every candidacy
	// resigned.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // Run and every job's follow
	// cached wakes Run when the cache gained an artifact (Cached): a job
	// it could not stand by for may now be one it can.
	cached chan struct{}

	mu     sync.Mutex
	self   registry.WorkerInfo // set by Run
	ready  bool
	closed bool
	jobs   map[string]*job // the jobs it stands for, leads or runs
}

// job is one job the host stands for.
type job struct {
	id   string
	spec proto.JobSpec
	cand *registry.Candidacy
	// slot says the job counts against Slots: submitted here, or led.
	// Guarded by Host.mu.
	slot bool
	// proc is the running master; nil before it starts and once it
	// ended. Guarded by Host.mu.
	proc *os.Process
	// killed says Kill was asked for: a master that starts after it is
	// signalled at once. Guarded by Host.mu.
	killed bool
}

// New checks cfg and returns a Host; Run makes it take jobs.
func New(cfg Config) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Host{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, jobs: make(map[string]*job), cached: make(chan struct{}, 1)}, nil
}

// Cached hears that the worker's cache holds artifact sha now (a task of
// some job was shipped here, or a client made this worker a standby):
// Run looks again for jobs to stand by for.
func (h *Host) Cached(sha string) { h.wake() }

// wake makes Run look again for jobs to stand by for.
func (h *Host) wake() {
	select {
	case h.cached <- struct{}{}:
	default: // a look is due already
	}
}

// lookSoon makes Run look again for jobs to stand by for in a moment: a
// job's election was lost (ZooKeeper out of reach, or the session ended)
// or could not be entered. Once ZooKeeper is back the host stands by for
// the job again then, not at the next rescan.
func (h *Host) lookSoon() { time.AfterFunc(lookAgainAfter, h.wake) }

// Slots is how many masters the host runs at once (published as
// WorkerInfo.Masters).
func (h *Host) Slots() int { return h.cfg.Slots }

// Run takes jobs as the worker self describes (its id and address): it
// accepts Submits, stands by for the jobs whose programs the worker's
// cache holds, and expires old records, until ctx ends or Close.
func (h *Host) Run(ctx context.Context, self registry.WorkerInfo) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.self, h.ready = self, true
	h.log = h.cfg.Logger.With("worker", self.ID)
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(h.ctx, cancel)()
	ids, err := h.cfg.ZK.WatchJobs(ctx)
	if err != nil {
		return fmt.Errorf("job master host: watch jobs: %w", err)
	}
	h.expire(ctx)
	expire, rescan := time.NewTicker(expireEvery), time.NewTicker(rescanEvery)
	defer expire.Stop()
	defer rescan.Stop()
	var known []string
	// ended are the known jobs found ended: ending is final, so they are
	// not read again at every rescan and every artifact cached.
	ended := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-ids:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("job master host: the watch on the jobs ended")
			}
			known = l
			listed := make(map[string]bool, len(l))
			for _, id := range l {
				listed[id] = true
			}
			maps.DeleteFunc(ended, func(id string, _ bool) bool { return !listed[id] }) // records expired
			h.standBy(ctx, known, ended)
		case <-rescan.C:
			h.standBy(ctx, known, ended)
		case <-h.cached:
			h.standBy(ctx, known, ended)
		case <-expire.C:
			h.expire(ctx)
		}
	}
}

// expire deletes ended jobs older than Retention.
func (h *Host) expire(ctx context.Context) {
	h.prune(time.Now())
	n, err := h.cfg.ZK.ExpireJobs(ctx, h.cfg.Retention, time.Now())
	if err != nil {
		h.log.Warn("expiring old jobs failed", "err", err)
	} else if n > 0 {
		h.log.Info("expired old jobs", "jobs", n, "retention", h.cfg.Retention)
	}
}

// Submit records a detached job and stands for its master; the master
// starts once the host leads the job's election, at once unless another
// host got there first. A full host refuses with a retryable busy.
func (h *Host) Submit(ctx context.Context, spec proto.JobSpec) (master string, err error) {
	if err := checkSpec(spec); err != nil {
		return "", proto.Errorf(proto.CodeBadRequest, "%v", err)
	}
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return "", proto.Retryablef(proto.CodeShuttingDown, "worker is shutting down: submit to another worker")
	case !h.ready:
		h.mu.Unlock()
		return "", proto.Retryablef(proto.CodeBusy, "worker is still starting its job master host: submit to another worker")
	case h.jobs[spec.ID] != nil:
		h.mu.Unlock()
		return "", proto.Errorf(proto.CodeBadRequest, "job %s was submitted already: submit it under another id", spec.ID)
	case h.usedLocked() >= h.cfg.Slots:
		h.mu.Unlock()
		return "", proto.Retryablef(proto.CodeBusy, "worker %s already runs %d job masters, its --masters: submit to another worker", h.self.ID, h.cfg.Slots)
	}
	j := &job{id: spec.ID, spec: spec, slot: true}
	h.jobs[j.id] = j
	self := h.self
	h.wg.Add(1) // for follow, handed over once the job stands
	h.mu.Unlock()
	standing := false
	defer func() {
		if !standing {
			h.forget(j)
			h.wg.Done()
		}
	}()

	if err := h.pin(j); err != nil {
		h.unpin(j.id)
		return "", err
	}
	b, err := msgpack.Marshal(&spec)
	if err != nil {
		h.unpin(j.id)
		return "", err
	}
	if err := h.cfg.ZK.CreateJob(ctx, newRecord(spec, self), b); err != nil {
		h.unpin(j.id)
		if errors.Is(err, registry.ErrJobExists) {
			return "", proto.Errorf(proto.CodeBadRequest, "job %s exists: submit it under another id", spec.ID)
		}
		return "", proto.Retryablef(proto.CodeInternal, "record job %s: %v", spec.ID, err)
	}
	// The candidacy lasts until the host closes, not the call.
	if j.cand, err = h.cfg.ZK.Campaign(h.ctx, j.id, self.ID); err != nil {
		err = fmt.Errorf("stand for job %s's master: %w", j.id, err)
		h.fail(j.id, err.Error())
		h.unpin(j.id)
		return "", proto.Retryablef(proto.CodeInternal, "%v", err)
	}
	standing = true
	h.log.Info("job submitted", "job", j.id, "user", spec.User)
	go h.follow(j)
	return self.Addr, nil
}

// newRecord is a submitted job's first record.
func newRecord(spec proto.JobSpec, self registry.WorkerInfo) registry.JobRecord {
	rec := registry.JobRecord{
		ID: spec.ID, User: spec.User, App: appName(spec), Inputs: argValues(spec.Args, "input"),
		State: registry.JobSubmitted, Master: self.Addr, MasterID: self.ID, Submitted: time.Now(),
	}
	if out := argValues(spec.Args, "output"); len(out) > 0 {
		rec.Output = out[len(out)-1]
	}
	return rec
}

// standBy stands for the master of every job in ids not ended whose
// programs the worker's cache holds, and that the host does not already.
func (h *Host) standBy(ctx context.Context, ids []string, ended map[string]bool) {
	for _, id := range ids {
		h.mu.Lock()
		skip := h.closed || h.jobs[id] != nil || ended[id]
		h.mu.Unlock()
		if skip {
			continue
		}
		spec, ok, over := h.wants(ctx, id)
		if over {
			ended[id] = true
		}
		if !ok {
			continue
		}
		h.mu.Lock()
		if h.closed || h.jobs[id] != nil {
			h.mu.Unlock()
			continue
		}
		j := &job{id: id, spec: spec}
		h.jobs[id] = j
		self := h.self
		h.wg.Add(1)
		h.mu.Unlock()
		err := h.pin(j)
		pinned := err == nil
		if pinned {
			j.cand, err = h.cfg.ZK.Campaign(h.ctx, id, self.ID)
		}
		if err != nil {
			h.log.Warn("cannot stand by for a job", "job", id, "err", err)
			h.unpin(id)
			h.forget(j)
			h.wg.Done()
			if pinned && h.ctx.Err() == nil {
				h.lookSoon() // ZooKeeper out of reach, say: try again once it may be back
			}
			continue
		}
		h.log.Info("standing by for a job", "job", id)
		go h.follow(j)
	}
}

// wants reads job id's spec if the job is not ended and the cache holds
// all of its programs; ended says the job's record says it ended.
func (h *Host) wants(ctx context.Context, id string) (spec proto.JobSpec, ok, ended bool) {
	rec, err := h.cfg.ZK.Job(ctx, id)
	if err != nil || rec.State.Ended() {
		return spec, false, err == nil
	}
	b, err := h.cfg.ZK.JobSpec(ctx, id)
	if err != nil {
		return spec, false, false
	}
	if err := proto.Unmarshal(b, &spec); err != nil || checkSpec(spec) != nil || spec.ID != id {
		h.log.Warn("job has an unreadable spec", "job", id, "err", err)
		return spec, false, false
	}
	for _, f := range spec.Programs {
		if _, ok := h.cfg.Artifact(f.SHA); !ok {
			return spec, false, false
		}
	}
	return spec, true, false
}

// usedLocked counts the jobs holding a slot.
func (h *Host) usedLocked() int {
	n := 0
	for _, j := range h.jobs {
		if j.slot {
			n++
		}
	}
	return n
}

// forget drops j from the host's jobs.
func (h *Host) forget(j *job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.jobs[j.id] == j {
		delete(h.jobs, j.id)
	}
}

// Kill asks the master of job id, which this host must run, to kill the
// job: KillRequested in its record, then SIGTERM to the master, which
// ends the job as killed and commits nothing.
func (h *Host) Kill(ctx context.Context, id string) error {
	h.mu.Lock()
	j, self := h.jobs[id], h.self
	h.mu.Unlock()
	notHere := proto.Errorf(proto.CodeNotFound, "this worker runs no master of job %s: ask the worker its record names (dist status %s)", id, id)
	if j == nil {
		return notHere
	}
	_, err := h.cfg.ZK.UpdateJob(ctx, id, func(r *registry.JobRecord) error {
		switch {
		case r.State.Ended():
			return errEnded
		case r.MasterID != self.ID:
			return errNotMaster
		}
		r.KillRequested = true
		return nil
	})
	switch {
	case errors.Is(err, errEnded):
		// As for a job whose master this host has let go already: not
		// here to kill, whether or not the host has forgotten it yet.
		return proto.Errorf(proto.CodeNotFound, "job %s has ended already: there is nothing to kill", id)
	case errors.Is(err, errNotMaster):
		return notHere
	case err != nil:
		return proto.Retryablef(proto.CodeInternal, "record the kill of job %s: %v", id, err)
	}
	h.log.Info("killing job", "job", id)
	// The record names this host's master, which may not have started
	// yet: runMaster signals it the moment it does.
	h.mu.Lock()
	j.killed = true
	proc := j.proc
	h.mu.Unlock()
	if proc == nil {
		return nil
	}
	if err := syscall.Kill(-proc.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return proto.Errorf(proto.CodeInternal, "signal job %s's master: %v", id, err)
	}
	return nil
}

// Close kills the host's masters and resigns its candidacies without
// marking any job, so that standbys on other workers take them over, and
// waits for Run and every job's goroutine. It is idempotent.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}
