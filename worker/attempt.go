package worker

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task"
)

// attemptKey names one attempt of one task of one job.
type attemptKey struct {
	job, task string
	attempt   int
}

func (k attemptKey) String() string { return fmt.Sprintf("task %s attempt %d", k.task, k.attempt) }

// dirName is the attempt's directory under its job: "<task>-<attempt>".
func (k attemptKey) dirName() string { return fmt.Sprintf("%s-%d", k.task, k.attempt) }

func (w *Worker) attemptDir(k attemptKey) string {
	return filepath.Join(w.jobDir(k.job), k.dirName())
}

// attempt is one launched task attempt, from staging until its job ends.
type attempt struct {
	key attemptKey
	dir string
	log *slog.Logger
	// ctx ends when the attempt must be killed; its cause says why. This
	// is a separate signal from the worker's shutdown.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// done is closed once the process (if it started) has been waited for
	// and the outcome recorded; reported once the final event was sent
	// (or could not be).
	done     chan struct{}
	reported chan struct{}
	// app names a binary app in messages ("app wordcount"); it is empty
	// for plugins and exec jobs, whose task host calls task.Main itself.
	app string

	// Guarded by Worker.mu.
	finished bool
	ok       bool // exited 0 with a result saying ok
	result   *task.Result
}

// kill asks the attempt to stop: its process group gets SIGTERM, then
// SIGKILL after KillGrace. Killing a finished attempt does nothing.
func (a *attempt) kill(cause error) { a.cancel(cause) }

// admit reserves a slot for the attempt and makes s an owner of its job.
func (w *Worker) admit(s *session, key attemptKey) (*attempt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stoppingLocked() {
		return nil, shuttingDown(w.id)
	}
	if _, dup := w.attempts[key]; dup {
		return nil, proto.Errorf(proto.CodeBadRequest,
			"%s of job %s was already launched on worker %s: launch a new attempt number", key, key.job, w.id)
	}
	if err := w.slots.take(key.job, w.id); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	a := &attempt{
		key:      key,
		dir:      w.attemptDir(key),
		log:      w.log.With("job", key.job, "task", key.task, "attempt", key.attempt),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		reported: make(chan struct{}),
	}
	w.attempts[key] = a
	w.ownLocked(s, key.job)
	return a, nil
}

// finish records the outcome and frees the attempt's slot.
func (w *Worker) finish(a *attempt, res *task.Result, ok bool) {
	w.mu.Lock()
	a.finished, a.ok, a.result = true, ok, res
	w.slots.release()
	w.changedLocked()
	w.mu.Unlock()
	a.cancel(nil) // release the context; the process is gone
	close(a.done)
}

// finishedOK returns the attempt if it ended successfully on this worker.
func (w *Worker) finishedOK(key attemptKey) (*attempt, *task.Result, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.attempts[key]
	if a == nil || !a.finished || !a.ok {
		return nil, nil, false
	}
	return a, a.result, true
}
