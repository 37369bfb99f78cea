package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/internal/progress"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/tracker"
)

// hostedJob is the ZooKeeper side of `dist run --hosted`: the job master a
// worker's master host starts for a submitted job (dist run --detach). The
// run itself is the attached one; this keeps the job's record up to date
// (state, progress, live page, summary or error), is its client.Journal,
// and ends the job as killed when `dist kill` asked for it. A master taking
// the job over starts the same command and carries on from the journal.
type hostedJob struct {
	zk  *registry.ZK
	id  string
	log *slog.Logger

	tally *progress.Tally // counts as the status line of dist run does

	// masterID and takeovers are what the record said of its master when
	// this one started (its host wrote them just before): a record that
	// says otherwise has been taken over by another master, and this one
	// (cut off, and not yet killed by its host) writes nothing more to it.
	masterID  string
	takeovers int

	mu            sync.Mutex
	maps, reduces int

	stop    context.CancelFunc
	stopped chan struct{}
	ended   bool // finish has recorded the end

	// killed says the record asked for the kill before this master
	// started, and an earlier master had begun the job: it is abandoned.
	killed bool
}

// hostJob opens the record of the job `dist run --hosted --job-id ID`
// runs and makes cfg run it as its master: with its id, its journal, and
// its progress kept in the record.
func hostJob(c *cli.Context, cfg *client.Config, watch *watcher) (*hostedJob, error) {
	if !c.IsSet("zk") || c.String("job-id") == "" {
		return nil, usageErr(fmt.Errorf("--hosted runs a submitted job's master and needs --zk and --job-id: submit jobs with dist run --detach"))
	}
	ctx, cancel := context.WithTimeout(c.Context, hostedTimeout)
	defer cancel()
	host, rec, err := openHosted(ctx, c.String("zk"), c.String("job-id"), cfg.Logger)
	if err != nil {
		return nil, cli.Exit(err.Error(), exitJobFailed)
	}
	if rec.KillRequested && rec.State != registry.JobRunning {
		// Killed before any master began it: there is nothing to clear.
		err := host.finish(nil, errKilled)
		host.Close()
		return nil, cli.Exit(errors.Join(fmt.Errorf("job failed: %w", errKilled), err).Error(), exitJobFailed)
	}
	// Killed after an earlier master began it, which died before it could
	// act on the kill: this one runs nothing, but clears what that one
	// left under the output (abandon).
	host.killed = rec.KillRequested
	cfg.JobID, cfg.Journal, cfg.OnRecovered = rec.ID, host, host.recovered
	// Workers may still hold attempts of the masters before this one,
	// under numbers the journal does not know (a commit it missed).
	cfg.FirstAttempt = attemptsPerMaster * rec.Takeovers
	cfg.OnEvent = func(ev tracker.Event) {
		watch.event(ev)
		host.tally.Event(ev)
	}
	cfg.OnMaps = func(n int) {
		watch.setMaps(n)
		host.setMaps(n)
	}
	return host, nil
}

// failed records a run that ended before its job did (a bad flag, an
// unreadable plan) as failed with err; nothing once finish has run.
func (h *hostedJob) failed(err error) {
	if h.ended || err == nil {
		return
	}
	if ferr := h.finish(nil, err); ferr != nil {
		h.log.Warn("record the job's failure", "err", ferr)
	}
}

// attemptsPerMaster spaces the attempt numbers of a job's successive
// masters (client.Config.FirstAttempt): more than one master ever starts
// of one task.
const attemptsPerMaster = 1000

// hostedTimeout bounds each record write.
const hostedTimeout = 30 * time.Second

// openHosted opens its own ZooKeeper session (the run's registry session
// closes while the output is committed; the record is written after) and
// checks that the job's record is there and not ended.
func openHosted(ctx context.Context, zkSpec, id string, log *slog.Logger) (*hostedJob, registry.JobRecord, error) {
	zk, err := registry.NewZK(ctx, zkSpec, registry.ZKOptions{})
	if err != nil {
		return nil, registry.JobRecord{}, err
	}
	rec, err := zk.Job(ctx, id)
	if err == nil && rec.State.Ended() {
		err = fmt.Errorf("job %s has ended (%s): a master has nothing to run", id, rec.State)
	}
	if err != nil {
		zk.Close()
		return nil, rec, err
	}
	h := &hostedJob{zk: zk, id: id, log: log, tally: progress.NewTally(), stopped: make(chan struct{}),
		masterID: rec.MasterID, takeovers: rec.Takeovers}
	return h, rec, nil
}

// Plan, SavePlan, Entries and Record make the record's subtree the job's
// client.Journal.
func (h *hostedJob) Plan(ctx context.Context) ([]byte, bool, error) { return h.zk.JobPlan(ctx, h.id) }
func (h *hostedJob) SavePlan(ctx context.Context, plan []byte) error {
	return h.zk.PutJobPlan(ctx, h.id, plan)
}
func (h *hostedJob) Entries(ctx context.Context) (map[string][]byte, error) {
	return h.zk.JobJournal(ctx, h.id)
}
func (h *hostedJob) Record(ctx context.Context, task string, entry []byte) error {
	return h.zk.JournalTask(ctx, h.id, task, entry)
}

var _ client.Journal = (*hostedJob)(nil)

// begin marks the job running, with its live page, and starts writing
// its progress (at most once a second: each write is a ZooKeeper write).
func (h *hostedJob) begin(job *client.Job, ui string) error {
	h.mu.Lock()
	h.maps, h.reduces = job.Maps(), job.Reduces()
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), hostedTimeout)
	defer cancel()
	_, err := h.zk.UpdateJob(ctx, h.id, func(r *registry.JobRecord) error {
		if err := h.mine(r); err != nil {
			return err
		}
		r.State = registry.JobRunning
		if r.Started.IsZero() {
			r.Started = time.Now()
		}
		r.UI = ui
		r.Progress.Maps, r.Progress.Reduces = job.Maps(), job.Reduces()
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark job %s running: %w", h.id, err)
	}
	pctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	go h.writeProgress(pctx)
	return nil
}

func (h *hostedJob) writeProgress(ctx context.Context) {
	defer close(h.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last registry.JobProgress
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := h.progress()
		if p == last {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, hostedTimeout)
		_, err := h.zk.UpdateJob(wctx, h.id, func(r *registry.JobRecord) error {
			if err := h.mine(r); err != nil {
				return err
			}
			r.Progress = p
			return nil
		})
		cancel()
		if err == nil {
			last = p
		} else if errors.Is(err, errDeposed) {
			return
		} else if ctx.Err() == nil {
			h.log.Warn("write the job's progress", "err", err)
		}
	}
}

// progress is the job's progress as its record keeps it.
func (h *hostedJob) progress() registry.JobProgress {
	s := h.tally.Status()
	h.mu.Lock()
	defer h.mu.Unlock()
	return registry.JobProgress{
		Maps: h.maps, MapsDone: s.MapsDone, Reduces: h.reduces, ReducesDone: s.ReducesDone,
		Running: s.Running, Failed: s.Retries, Workers: s.Workers, BytesShuffled: s.Shuffled,
	}
}

// setMaps hears the number of maps when the run changes it.
func (h *hostedJob) setMaps(n int) {
	h.mu.Lock()
	h.maps = n
	h.mu.Unlock()
}

// recovered counts the tasks an earlier master committed as done.
func (h *hostedJob) recovered(done []tracker.Committed) {
	tasks := make([]tracker.TaskRef, len(done))
	for i, c := range done {
		tasks[i] = c.Task
	}
	h.tally.Done(tasks)
}

// finish records how the job ended: succeeded with its summary lines,
// killed when `dist kill` asked for it, else failed with jobErr.
func (h *hostedJob) finish(sum *client.Summary, jobErr error) error {
	if h.stop != nil {
		h.stop()
		<-h.stopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), hostedTimeout)
	defer cancel()
	prog := h.progress()
	_, err := h.zk.UpdateJob(ctx, h.id, func(r *registry.JobRecord) error {
		if err := h.mine(r); err != nil {
			return err
		}
		if !h.killed { // an abandoned job keeps the progress its masters made
			r.Progress = prog
		}
		r.Ended = time.Now()
		switch {
		case jobErr == nil:
			r.State, r.Summary, r.Counters, r.Error = registry.JobSucceeded, summaryLines(sum), sum.Counters, ""
			r.Progress.Running = 0
		case r.KillRequested:
			r.State, r.Error = registry.JobKilled, "killed by dist kill; nothing was committed"
		default:
			r.State, r.Error = registry.JobFailed, jobErr.Error()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record how job %s ended: %w", h.id, err)
	}
	h.ended = true
	return nil
}

func (h *hostedJob) Close() { h.zk.Close() }

// abandon ends a job killed before this master started, which an earlier
// master had begun and left when it died: nothing runs, what that master
// left under the output (uploads, its lock) is cleared, and the record
// says killed, or succeeded if the output holds the job's commit (it was
// made before the kill reached the job). prepErr is Prepare's error.
func (h *hostedJob) abandon(ctx context.Context, job *client.Job, prepErr error) error {
	var sum *client.Summary
	err := prepErr
	if err == nil {
		sum, err = job.Abandon(ctx)
	}
	if err != nil {
		h.log.Warn("clear what the job's earlier masters left under its output (the next job on it does)", "err", err)
	}
	if sum != nil {
		if err := h.finish(sum, nil); err != nil {
			return cli.Exit(err.Error(), exitJobFailed)
		}
		printSummary(sum)
		return nil
	}
	ferr := h.finish(nil, errKilled)
	return cli.Exit(errors.Join(fmt.Errorf("job failed: %w", errKilled), ferr).Error(), exitJobFailed)
}

// errDeposed stops a record write of a master whose job another master
// has taken over, or that has ended.
var errDeposed = errors.New("the job's record is no longer this master's")

// mine says whether r is still this master's to write: not ended, and
// naming the master it named when this one started. A master cut off
// from ZooKeeper with its worker (a worker paused, or partitioned) runs
// on until its host can kill it, while a standby takes the job over; its
// failure (it finds the output lock taken) must not end the job that the
// new master carries on, nor undo the end that master recorded.
func (h *hostedJob) mine(r *registry.JobRecord) error {
	switch {
	case r.State.Ended():
		return fmt.Errorf("%w: job %s has ended (%s)", errDeposed, h.id, r.State)
	case r.MasterID != h.masterID || r.Takeovers != h.takeovers:
		return fmt.Errorf("%w: worker %s took job %s over (takeover %d)", errDeposed, r.MasterID, h.id, r.Takeovers)
	}
	return nil
}

// errKilled ends a job killed before its master started it.
var errKilled = errors.New("killed by dist kill before it started")
