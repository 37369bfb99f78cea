package client

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/internal/queue"
	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// A job master (a `dist run --hosted` on a worker) keeps two things outside
// itself, so that another master can carry its job on when it dies:
//
//   - the plan: the job's splits, their pins to workers and a totally
//     ordered job's cut points, written once before the first map runs. A
//     master taking over runs the same maps over the same bytes: listing
//     the inputs again could find other objects and number the maps
//     otherwise, and mixing two listings' outputs is a wrong answer.
//   - the journal: one entry per committed task, with its attempt, worker
//     and result (counters, outputs with sizes and checksums) and, for an
//     S3 output, the upload the job's commit completes. No data.
//
// Entries are written after the tracker commits, in the background: an
// entry lost with its master only makes that task run again. They are all
// written before the output is committed.

// Journal is where a job master keeps its plan and committed tasks
// (package registry keeps them in ZooKeeper, under the job's record).
type Journal interface {
	// Plan returns the plan saved, if any.
	Plan(ctx context.Context) (plan []byte, ok bool, err error)
	// SavePlan saves the plan, whole or not at all.
	SavePlan(ctx context.Context, plan []byte) error
	// Entries returns every task's last entry, by task id.
	Entries(ctx context.Context) (map[string][]byte, error)
	// Record saves the entry of a task, replacing the one it had.
	Record(ctx context.Context, task string, entry []byte) error
}

// jobPlan is what a job runs: saved before its first map, read back by a
// master taking it over.
type jobPlan struct {
	Splits []split       `msgpack:"splits"`
	Pins   []tracker.Pin `msgpack:"pins,omitempty"`
	Order  *spec.Order   `msgpack:"order,omitempty"`
}

// journalEntry is one committed task.
type journalEntry struct {
	Task    tracker.TaskRef     `msgpack:"task"`
	Attempt int                 `msgpack:"attempt"`
	Worker  registry.WorkerInfo `msgpack:"worker"`
	Result  *spec.Result        `msgpack:"result"`
	Upload  *storage.Pending    `msgpack:"upload,omitempty"`
}

// loadPlan returns the plan an earlier master of the job saved, or nil.
func loadPlan(ctx context.Context, jr Journal) (*jobPlan, error) {
	b, ok, err := jr.Plan(ctx)
	if err != nil || !ok {
		return nil, err
	}
	var p jobPlan
	if err := msgpack.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("the job's saved plan is unreadable (%v): the job cannot be carried on; run it again", err)
	}
	if len(p.Splits) == 0 {
		return nil, fmt.Errorf("the job's saved plan has no maps: the job cannot be carried on; run it again")
	}
	return &p, nil
}

func savePlan(ctx context.Context, jr Journal, p *jobPlan) error {
	b, err := msgpack.Marshal(p)
	if err != nil {
		return err
	}
	if err := jr.SavePlan(ctx, b); err != nil {
		return fmt.Errorf("save the job's plan (a master taking the job over needs it): %w", err)
	}
	return nil
}

// recovery is what the journal says an earlier master committed.
type recovery struct {
	done    []tracker.Committed
	uploads map[string]storage.Pending // by attemptName, for the S3 commit
}

// readJournal reads the entries of a job of maps and reduces tasks. An
// entry that does not fit the plan is an error: the journal belongs to
// another job.
func readJournal(ctx context.Context, jr Journal, maps, reduces int) (*recovery, error) {
	raw, err := jr.Entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the job's journal: %w", err)
	}
	rec := &recovery{uploads: map[string]storage.Pending{}}
	for id, b := range raw {
		var e journalEntry
		if err := msgpack.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("journal entry %s is unreadable (%v): the job cannot be carried on; run it again", id, err)
		}
		n := maps
		if e.Task.Phase == spec.PhaseReduce {
			n = reduces
		}
		if e.Task.ID() != id || e.Task.Index >= n || e.Result == nil {
			return nil, fmt.Errorf("journal entry %s does not fit the job (%d maps, %d reduces): the job cannot be carried on; run it again", id, maps, reduces)
		}
		rec.done = append(rec.done, tracker.Committed{Task: e.Task, Attempt: e.Attempt, Worker: e.Worker, Result: e.Result})
		if e.Upload != nil {
			rec.uploads[attemptName(id, e.Attempt)] = *e.Upload
		}
	}
	return rec, nil
}

// journalWriter writes entries in the background, in commit order.
type journalWriter struct {
	jr      Journal
	log     *slog.Logger
	q       *queue.Queue[journalEntry]
	stop    chan struct{} // closed by flush or drop: write what is queued, then return
	done    chan struct{}
	dropped atomic.Bool // by drop: write nothing more
}

func startJournal(jr Journal, log *slog.Logger) *journalWriter {
	w := &journalWriter{jr: jr, log: log, q: queue.New[journalEntry](), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *journalWriter) add(e journalEntry) { w.q.Push(e) }

func (w *journalWriter) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.q.Ready():
			w.write(w.q.Take())
		case <-w.stop:
			w.write(w.q.Take())
			return
		}
	}
}

// journalTimeout bounds the writing of what was queued at once; past it
// the entries left are given up (their tasks run again if the job is taken
// over), so that ZooKeeper out of reach costs a job at most this per
// batch, however many tasks it commits meanwhile.
const journalTimeout = 30 * time.Second

func (w *journalWriter) write(es []journalEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), journalTimeout)
	defer cancel()
	for i, e := range es {
		if w.dropped.Load() {
			return
		}
		b, err := msgpack.Marshal(&e)
		if err == nil {
			err = w.jr.Record(ctx, e.Task.ID(), b)
		}
		if err != nil {
			w.log.Warn("journal a committed task (a master taking the job over will run it again)", "task", e.Task.ID(), "err", err)
		}
		if ctx.Err() != nil {
			if left := len(es) - i - 1; left > 0 {
				w.log.Warn("journal out of time: committed tasks not journaled (a master taking the job over runs them again)", "tasks", left)
			}
			return
		}
	}
}

// flush writes what is queued and stops the writer. Call flush or drop,
// once.
func (w *journalWriter) flush() {
	close(w.stop)
	<-w.done
}

// drop stops the writer without writing what is queued: the job was taken
// over, and the journal is its new master's.
func (w *journalWriter) drop() {
	w.dropped.Store(true)
	w.flush()
}

// recover reads what an earlier master of the job saved: the plan, and
// the tasks it committed. Nothing for a job without a journal, or one
// whose first master died before its first map.
func (j *Job) recover(ctx context.Context) (*recovery, error) {
	empty := &recovery{uploads: map[string]storage.Pending{}}
	if j.cfg.Journal == nil {
		return empty, nil
	}
	p, err := loadPlan(ctx, j.cfg.Journal)
	if err != nil || p == nil {
		return empty, err
	}
	j.plan, j.splits = p, p.Splits
	return readJournal(ctx, j.cfg.Journal, len(p.Splits), j.cfg.Reduces)
}

// summaryOf is the summary of a job whose output an earlier master
// committed, from its journal.
func (j *Job) summaryOf(rec *recovery, start time.Time) *Summary {
	counters := map[string]int64{}
	for _, c := range rec.done {
		for k, v := range c.Result.Counters {
			counters[string(c.Task.Phase)+"."+k] += v
		}
	}
	return &Summary{
		Job: j.id, Output: j.cfg.Output, Maps: len(j.splits), Reduces: j.cfg.Reduces,
		RecordsIn: counters["map."+spec.CounterInputRecords], RecordsOut: outputRecords(j.cfg, counters),
		Counters: counters, Wall: time.Since(start),
	}
}
