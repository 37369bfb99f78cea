package worker

import (
	"os"
	"path/filepath"
	"time"

	"github.com/distmr/dist/task/spec"
)

// failedDir is <Dir>/failed: logs of failed attempts outlive their job
// there for KeepFailed, so an operator can read why a task failed after
// the client has gone.
func (w *Worker) failedDir() string { return filepath.Join(w.cfg.Dir, "failed") }

// keepFailedLogs moves the logs of the job's failed attempts (those that
// had ended, not ok, before the job ended) to
// <Dir>/failed/<job>/<task>-<attempt>/ and removes kept logs older than
// KeepFailed.
func (w *Worker) keepFailedLogs(job string, failed []*attempt) {
	defer w.sweepFailed()
	if w.cfg.KeepFailed <= 0 {
		return
	}
	for _, a := range failed {
		dst := filepath.Join(w.failedDir(), job, a.key.dirName())
		if err := os.MkdirAll(dst, 0o755); err != nil {
			w.log.Warn("keep failed attempt logs", "err", err)
			return
		}
		for _, name := range []string{"stderr.log", "stdout.log", spec.ConfigFile, spec.ResultFile} {
			w.keepFailedLog(a, dst, name)
		}
	}
}

// keepFailedLog moves one file of a failed attempt to dst. The task may
// have left a symlink (to a secret an operator reading the logs would
// show) or something else in its place: once moved to dst, which the task
// cannot change, it is kept only if it is a regular file of the task's.
func (w *Worker) keepFailedLog(a *attempt, dst, name string) {
	if os.Rename(filepath.Join(a.dir, name), filepath.Join(dst, name)) != nil {
		return
	}
	kept := taskFiles{dir: dst, who: a.key.String(), uid: w.sandbox.taskUID()}
	f, err := kept.open(name)
	if err == nil {
		f.Close()
		return
	}
	w.log.Warn("not keeping a failed attempt's log", "job", a.key.job, "err", err)
	_ = os.RemoveAll(filepath.Join(dst, name))
}

// sweepFailed removes kept job logs older than KeepFailed (all of them
// when KeepFailed is 0).
func (w *Worker) sweepFailed() {
	ents, err := os.ReadDir(w.failedDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err == nil && time.Since(fi.ModTime()) >= w.cfg.KeepFailed {
			_ = os.RemoveAll(filepath.Join(w.failedDir(), e.Name()))
		}
	}
}
