package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// One attempt, one owner. An attempt runs itself, in the manner of
// nomad's TaskRunner: it stages its inputs (stage.go), writes its config,
// starts its program and supervises the process until it exits or is
// killed (process.go), and decides from what the process left how it
// ended (outcome.go). Its state, outcome and kill signal are its own,
// under its own lock. The Worker keeps the collection (jobs.go): it admits
// an attempt (a slot, an owner for its job), finds it for Kill, shuffle
// fetches and EndJob, and frees its slot once it is done.
//
// An attempt goes staging → running → done, and stays done, with its
// outcome, until its job ends: a finished map's outputs are served from
// its directory until then.

// attemptKey names one attempt of one task of one job.
type attemptKey struct {
	job, task string
	attempt   int
}

func (k attemptKey) String() string { return fmt.Sprintf("task %s attempt %d", k.task, k.attempt) }

// dirName is the attempt's directory under its job: "<task>-<attempt>".
func (k attemptKey) dirName() string { return fmt.Sprintf("%s-%d", k.task, k.attempt) }

// attemptState is where an attempt is in its life.
type attemptState int

const (
	attemptStaging attemptState = iota // admitted: its directory and inputs are being prepared
	attemptRunning                     // its process has started
	attemptDone                        // the process (if it started) is reaped and the outcome recorded
)

// attempt is one launched task attempt, from staging until its job ends.
type attempt struct {
	key attemptKey
	dir string
	log *slog.Logger
	// w provides what the attempt runs with: the config, the artifact
	// cache and task host, the sandbox and the peers it fetches from. The
	// attempt never touches the fields under Worker.mu.
	w *Worker
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
	// Only run's goroutine sets and reads it.
	app string
	// input is the file the task reads its split from in place, passed to
	// it as descriptor inputFD; nil when the split is staged. Only run's
	// goroutine sets and reads it.
	input *os.File

	mu     sync.Mutex
	state  attemptState
	ok     bool // exited 0 with a result saying ok
	result *spec.Result
}

// newAttempt returns the attempt key of w, staging, in dir.
func newAttempt(w *Worker, key attemptKey, dir string, log *slog.Logger) *attempt {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &attempt{
		key:      key,
		dir:      dir,
		log:      log.With("job", key.job, "task", key.task, "attempt", key.attempt),
		w:        w,
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		reported: make(chan struct{}),
	}
}

// run stages the attempt's inputs, runs its program and returns its final
// event. Events before the final one go to events as they happen; a
// streamed reduce learns of more map outputs from in.
func (a *attempt) run(events io.Writer, req *proto.LaunchRequest, in *inbox) (proto.Event, *spec.Result, bool) {
	fail := func(e *proto.Error) (proto.Event, *spec.Result, bool) {
		if a.ctx.Err() != nil { // killed while staging: say so, not what broke
			ev, _, _ := a.outcome(nil, nil)
			return ev, nil, false
		}
		return proto.Event{Kind: proto.EventDone, Final: true, ExitCode: -1, Error: e}, nil, false
	}
	_ = proto.WriteFrame(events, &proto.Event{Kind: proto.EventStaging})

	if err := prepareAttemptDir(a.dir); err != nil {
		return fail(internalError("task directory: %v", err))
	}
	if err := a.placeSideFiles(req.Files); err != nil {
		return fail(proto.ToError(err))
	}
	cfg := req.Config
	var src *source
	if req.Input != nil {
		var err error
		if src, cfg.Split, err = a.openSource(req.Input, cfg.Split); err != nil {
			return fail(proto.ToError(err))
		}
		defer src.close()
		a.input = src.f
	}
	if cfg.Phase == spec.PhaseReduce {
		inputs, missing, err := a.stage(req, in)
		if err != nil {
			ev, res, ok := fail(proto.ToError(err))
			ev.MissingMap, ev.MissingAttempt = missing.Task, missing.Attempt
			return ev, res, ok
		}
		cfg.Inputs = inputs
	}
	if err := spec.WriteFile(filepath.Join(a.dir, spec.ConfigFile), &cfg); err != nil {
		return fail(internalError("write %s: %v", spec.ConfigFile, err))
	}
	path, args, err := a.w.program(req)
	if err != nil {
		return fail(proto.ToError(err))
	}
	if req.Artifact.Kind == proto.KindBinary {
		a.app = "app " + refName(req.Artifact)
	}
	state, err := a.runProcess(path, args, func() {
		a.setState(attemptRunning)
		_ = proto.WriteFrame(events, &proto.Event{Kind: proto.EventRunning})
	})
	ev, res, ok := a.outcome(state, err)
	if !ok && a.ctx.Err() == nil {
		blameMap(&ev, res, cfg.Inputs)
	}
	if state != nil {
		ok = a.conclude(&ev, res, ok, src, req.Output)
	}
	return ev, res, ok
}

// conclude checks that an input read in place did not change while the
// task ran, then delivers a successful attempt's part to its output
// target. It reports whether the attempt still succeeded; ev says why
// not.
func (a *attempt) conclude(ev *proto.Event, res *spec.Result, ok bool, src *source, out *proto.OutputTarget) bool {
	if a.ctx.Err() != nil {
		return ok
	}
	// Whatever the task made of an input that changed under it, it is
	// not an answer, and no retry reads the old version.
	if err := src.recheck(); err != nil {
		ev.Error, ev.Result = proto.ToError(err), nil
		return false
	}
	if !ok || out == nil {
		return ok
	}
	if err := a.deliver(ev, out, res); err != nil {
		if a.ctx.Err() != nil { // killed while delivering: say so
			*ev, _, _ = a.outcome(nil, nil)
		} else {
			ev.Error, ev.Result = err, nil
		}
		return false
	}
	return true
}

// prepareAttemptDir creates the attempt's directory with in/, out/, tmp/.
func prepareAttemptDir(dir string) error {
	for _, d := range []string{spec.InDir, spec.OutDir, "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// kill asks the attempt to stop: its process group gets SIGTERM, then
// SIGKILL after KillGrace. Killing a finished attempt does nothing.
func (a *attempt) kill(cause error) { a.cancel(cause) }

// killed reports whether the attempt was asked to stop.
func (a *attempt) killed() bool { return a.ctx.Err() != nil }

func (a *attempt) setState(s attemptState) {
	a.mu.Lock()
	a.state = s
	a.mu.Unlock()
}

// finish records the outcome and closes done. Call it once run returns.
func (a *attempt) finish(res *spec.Result, ok bool) {
	a.mu.Lock()
	a.state, a.ok, a.result = attemptDone, ok, res
	a.mu.Unlock()
	a.cancel(nil) // release the context; the process is gone
	close(a.done)
}

// succeeded returns the attempt's result if it has ended successfully.
func (a *attempt) succeeded() (*spec.Result, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != attemptDone || !a.ok {
		return nil, false
	}
	return a.result, true
}

// failed reports whether the attempt has ended unsuccessfully.
func (a *attempt) failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state == attemptDone && !a.ok
}
