package worker

import (
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
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
	a, err := w.admit(s, attemptKey{c.Job, c.Task, c.Attempt}, req.Hosted)
	if err != nil {
		return err
	}
	defer close(a.reported)
	a.log.Info("launch", "phase", c.Phase, "artifact", req.Artifact.SHA256[:12], "fetch", len(req.Fetch))
	if req.Input != nil {
		a.log.Debug("input where it lives", "input", sourceName(req.Input), "offset", req.Input.Offset, "length", req.Input.Length)
	}
	inbox, stopWatch := w.watchStream(st, a)
	defer stopWatch()

	start := time.Now()
	ev, res, ok := a.run(st, &req, inbox)
	w.metrics.taskEnded(c.Phase, ok, a.killed(), time.Since(start))
	a.finish(res, ok)
	w.freeSlot() // before the tracker hears of the attempt
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
	noInput := c.Phase == spec.PhaseMap && c.Split.Tasks != 0
	switch {
	case noInput:
		// A map with no input (dist run --tasks) reads nothing: no split
		// is staged, and none may be named.
		if req.Input != nil {
			return proto.Errorf(proto.CodeBadRequest, "map %s of job %s has no input but names one to read", c.Task, c.Job)
		}
		c.Split = spec.Split{Tasks: c.Split.Tasks}
	case c.Phase.ReadsSplit() && len(c.Split.Pieces) > 0:
		// Packed files (pack.go), staged in one file, however they came.
		c.Split.File, c.Split.FD, c.Split.Pack, c.Split.Length = "", 0, spec.SplitFile, 0
		for _, p := range c.Split.Pieces {
			c.Split.Length += max(p.Length, 0)
		}
	case c.Phase.ReadsSplit():
		// Where the task reads its split is the worker's to say; an input
		// read in place gets its descriptor at the start (source.go).
		c.Split.File, c.Split.FD, c.Split.Pack = spec.SplitFile, 0, ""
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
	if err := w.checkSideFiles(req.Files); err != nil {
		return err
	}
	key := attemptKey{c.Job, c.Task, c.Attempt}
	if req.Input != nil {
		if err := w.checkSource(c, req.Input); err != nil {
			return err
		}
	}
	if req.Output != nil {
		if err := w.checkTarget(c, req.Output); err != nil {
			return err
		}
	}
	switch c.Phase {
	case spec.PhaseMap, spec.PhaseSample:
		if len(req.Fetch) > 0 || req.Maps != 0 {
			return proto.Errorf(proto.CodeBadRequest, "%s %s lists map outputs to fetch: only reduces fetch", c.Phase, key)
		}
		if req.Input != nil || noInput {
			return nil // no PutInput came: the worker reads the input itself, or there is none
		}
		if _, err := os.Stat(filepath.Join(w.attemptDir(key), spec.SplitFile)); err != nil {
			return notFound("the input split of %s of job %s is not staged on worker %s: PutInput it first", key, c.Job, w.ID())
		}
	case spec.PhaseReduce:
		if req.Maps < 0 || req.Maps > maxMaps {
			return proto.Errorf(proto.CodeBadRequest, "reduce %s needs %d map outputs: the limit is %d", key, req.Maps, maxMaps)
		}
		return w.checkFetch(req.Fetch, req.Maps, c.Index)
	}
	return nil
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
