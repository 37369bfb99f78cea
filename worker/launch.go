package worker

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task"
)

// handleLaunch runs one attempt and streams its events. Refusals before
// the attempt takes a slot are returned (and sent as a final event by
// serveStream); after that the attempt's own final event is sent here.
func (w *Worker) handleLaunch(s *session, st *yamux.Stream, h proto.Header) error {
	var req proto.LaunchRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := w.checkLaunch(h, &req); err != nil {
		return err
	}
	c := &req.Config
	a, err := w.admit(s, attemptKey{c.Job, c.Task, c.Attempt})
	if err != nil {
		return err
	}
	defer close(a.reported)
	a.log.Info("launch", "phase", c.Phase, "artifact", req.Artifact.SHA256[:12], "fetch", len(req.Fetch))
	inbox, stopWatch := w.watchStream(st, a)
	defer stopWatch()

	start := time.Now()
	ev, res, ok := w.execute(a, st, &req, inbox)
	w.metrics.taskEnded(c.Phase, ok, a.ctx.Err() != nil, time.Since(start))
	w.finish(a, res, ok) // frees the slot before the tracker hears of it
	if ev.Error != nil {
		a.log.Info("attempt failed", "code", ev.Error.Code, "err", ev.Error.Message, "took", time.Since(start))
	} else {
		a.log.Info("attempt done", "took", time.Since(start))
	}
	if err := proto.WriteFrame(st, &ev); err != nil {
		a.log.Info("final event not delivered", "err", err)
	}
	return nil
}

// checkLaunch refuses a launch request that cannot run here, before it
// takes a slot. It sets the config's paths, which the worker chooses.
func (w *Worker) checkLaunch(h proto.Header, req *proto.LaunchRequest) error {
	c := &req.Config
	if err := checkName("job id", c.Job); err != nil {
		return err
	}
	if err := checkName("task id", c.Task); err != nil {
		return err
	}
	if err := checkHeaderJob(h, c.Job); err != nil {
		return err
	}
	if err := checkSHA(req.Artifact.SHA256); err != nil {
		return err
	}
	if _, _, err := w.program(req); err != nil {
		return err
	}
	if c.Phase == task.PhaseMap {
		c.Split.File = task.SplitFile
	}
	c.Inputs = nil
	if err := c.Validate(); err != nil {
		return proto.Errorf(proto.CodeBadRequest, "%v", err)
	}
	if !w.cache.has(req.Artifact.SHA256) {
		return artifactMissing(req.Artifact)
	}
	if err := w.checkArtifact(req.Artifact); err != nil {
		return err
	}
	key := attemptKey{c.Job, c.Task, c.Attempt}
	switch c.Phase {
	case task.PhaseMap:
		if len(req.Fetch) > 0 || req.Maps != 0 {
			return proto.Errorf(proto.CodeBadRequest, "map %s lists map outputs to fetch: only reduces fetch", key)
		}
		if _, err := os.Stat(filepath.Join(w.attemptDir(key), task.SplitFile)); err != nil {
			return notFound("the input split of %s of job %s is not staged on worker %s: PutInput it first", key, c.Job, w.ID())
		}
	case task.PhaseReduce:
		if req.Maps < 0 || req.Maps > maxMaps {
			return proto.Errorf(proto.CodeBadRequest, "reduce %s needs %d map outputs: the limit is %d", key, req.Maps, maxMaps)
		}
		return w.checkFetch(req.Fetch, req.Maps, c.Index)
	}
	return nil
}

// execute stages the attempt's inputs, runs it and returns its final
// event. Events before the final one go to events as they happen; a
// streamed reduce learns of more map outputs from in.
func (w *Worker) execute(a *attempt, events io.Writer, req *proto.LaunchRequest, in *inbox) (proto.Event, *task.Result, bool) {
	fail := func(e *proto.Error) (proto.Event, *task.Result, bool) {
		if a.ctx.Err() != nil { // killed while staging: say so, not what broke
			ev, _, _ := w.outcome(a, nil, nil)
			return ev, nil, false
		}
		return proto.Event{Kind: proto.EventDone, Final: true, ExitCode: -1, Error: e}, nil, false
	}
	_ = proto.WriteFrame(events, &proto.Event{Kind: proto.EventStaging})

	if err := prepareAttemptDir(a.dir); err != nil {
		return fail(internalError("task directory: %v", err))
	}
	cfg := req.Config
	if cfg.Phase == task.PhaseReduce {
		inputs, missing, err := w.stage(a, req, in)
		if err != nil {
			ev, res, ok := fail(proto.ToError(err))
			ev.MissingMap, ev.MissingAttempt = missing.Task, missing.Attempt
			return ev, res, ok
		}
		cfg.Inputs = inputs
	}
	if err := task.WriteFile(filepath.Join(a.dir, task.ConfigFile), &cfg); err != nil {
		return fail(internalError("write %s: %v", task.ConfigFile, err))
	}
	path, args, err := w.program(req)
	if err != nil {
		return fail(proto.ToError(err))
	}
	if req.Artifact.Kind == proto.KindBinary {
		a.app = "app " + refName(req.Artifact)
	}
	state, err := w.runProcess(a, path, args, func() {
		_ = proto.WriteFrame(events, &proto.Event{Kind: proto.EventRunning})
	})
	ev, res, ok := w.outcome(a, state, err)
	if !ok && a.ctx.Err() == nil {
		blameMap(&ev, res, cfg.Inputs)
	}
	return ev, res, ok
}

// blameMap makes a reduce that found one of its inputs damaged (see
// task.BadInput) report that map's output as unusable, like a failed
// fetch: the map runs again and the reduce is not charged. The program is
// not trusted to name any map: only one of the outputs staged for it.
func blameMap(ev *proto.Event, res *task.Result, inputs []task.Input) {
	if ev.Error == nil || res == nil || res.BadInput == nil {
		return
	}
	for _, in := range inputs {
		if in.Map == res.BadInput.Map && in.Attempt == res.BadInput.Attempt {
			ev.MissingMap, ev.MissingAttempt = in.Map, in.Attempt
			ev.Error.Code, ev.Error.Retryable = proto.CodeChecksum, true
			return
		}
	}
}

func (w *Worker) handleKill(st *yamux.Stream, h proto.Header) error {
	var req proto.KillRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkRef(h, req.AttemptRef); err != nil {
		return err
	}
	key := attemptKey{req.Job, req.Task, req.Attempt}
	w.mu.Lock()
	a := w.attempts[key]
	w.mu.Unlock()
	if a == nil {
		return notFound("%s of job %s is not on worker %s", key, key.job, w.ID())
	}
	a.kill(errKillCall)
	return proto.WriteFrame(st, &proto.Reply{})
}

// program returns what runs for a launch. Binaries run as they are;
// plugins and the commands of exec jobs run under the task host (see
// host.go), which checks them first.
func (w *Worker) program(req *proto.LaunchRequest) (path string, args []string, err error) {
	ref := req.Artifact
	switch ref.Kind {
	case proto.KindBinary:
		return w.cache.path(ref.SHA256), nil, nil
	case proto.KindPlugin:
		return w.pluginProgram(ref)
	case proto.KindExec:
		return w.execProgram(req)
	}
	return "", nil, proto.Errorf(proto.CodeBadRequest, "unknown artifact kind %q: use binary, plugin or exec", ref.Kind)
}

// prepareAttemptDir creates the attempt's directory with in/, out/, tmp/.
func prepareAttemptDir(dir string) error {
	for _, d := range []string{task.InDir, task.OutDir, "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}
