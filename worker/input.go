package worker

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Staging a map attempt's input split (PutInput), before its Launch. The
// split is uploaded beside the attempt directory and renamed into in/
// only while the attempt is not launched (see taskfs.go).

// handlePutInput stages a map attempt's input split as in/split.
func (w *Worker) handlePutInput(s *session, st *yamux.Stream, h proto.Header) (bodyUnread bool, err error) {
	var req proto.PutInputRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return true, err
	}
	if err := checkRef(h, req.AttemptRef); err != nil {
		return true, err
	}
	key := attemptKey{req.Job, req.Task, req.Attempt}
	switch {
	case req.Size < 0:
		return true, proto.Errorf(proto.CodeBadRequest, "input split size %d is negative", req.Size)
	case req.Size > w.cfg.MaxInput:
		return true, proto.Errorf(proto.CodeTooLarge,
			"input split of %s is %d bytes, this worker accepts at most %d: use smaller splits or raise the worker's --max-input",
			key, req.Size, w.cfg.MaxInput)
	}
	w.mu.Lock()
	switch _, launched := w.attempts[key]; {
	case w.stoppingLocked():
		w.mu.Unlock()
		return true, shuttingDown(w.id)
	case launched:
		w.mu.Unlock()
		return true, proto.Errorf(proto.CodeBadRequest, "%s of job %s is already launched: stage its input before Launch", key, key.job)
	}
	w.ownLocked(s, key.job)
	w.slots.renew(key.job) // a slot held for the job waits for its upload
	w.mu.Unlock()

	in := filepath.Join(w.attemptDir(key), spec.InDir)
	if err := os.MkdirAll(in, 0o755); err != nil {
		return true, internalError("stage input: %v", err)
	}
	// The upload goes to the job directory, which no task ever owns: a
	// Launch may start the attempt meanwhile and hand its directory to
	// the task (see taskfs.go).
	f, err := os.CreateTemp(w.jobDir(key.job), ".split-"+key.dirName()+"-*")
	if err != nil {
		return true, internalError("stage input: %v", err)
	}
	err = proto.ReadBody(f, w.idle(st), req.Size, w.cfg.MaxInput)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.placeSplit(key, f.Name())
	}
	if err != nil {
		os.Remove(f.Name())
		return false, proto.Errorf(proto.CodeBadRequest, "input upload for %s broke off: %v", key, err)
	}
	w.slots.renew(key.job)
	return false, proto.WriteFrame(st, &proto.Reply{})
}

// placeSplit renames an uploaded split into the attempt's in/, unless the
// attempt was launched meanwhile: its directory is then the task's, and a
// rename into it could land wherever the task's symlinks point.
func (w *Worker) placeSplit(key attemptKey, tmp string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, launched := w.attempts[key]; launched {
		return fmt.Errorf("%s was launched while its input was uploading: stage its input before Launch", key)
	}
	return os.Rename(tmp, filepath.Join(w.attemptDir(key), spec.SplitFile))
}
