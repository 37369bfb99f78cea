package master

import (
	"os"
	"path/filepath"
	"time"
)

// masterLog is the file in a job's directory its master writes to.
const masterLog = "master.log"

// MasterLog is the log of job id's master, kept while the job runs here
// and after it ended, until Retention, for the worker's TaskLogs
// (worker.Config.MasterLog, dist logs JOB master).
func (h *Host) MasterLog(id string) (path string, ok bool) {
	path = filepath.Join(h.jobDir(id), masterLog)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return path, true
}

// prune removes what is left of jobs this host no longer stands for (their
// masters' logs) once older than Retention, as ExpireJobs does their
// records.
func (h *Host) prune(now time.Time) {
	ents, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		h.mu.Lock()
		active := h.jobs[e.Name()] != nil
		h.mu.Unlock()
		dir := filepath.Join(h.cfg.Dir, e.Name())
		fi, err := os.Stat(filepath.Join(dir, masterLog))
		if err != nil {
			fi, err = e.Info()
		}
		if active || err != nil || now.Sub(fi.ModTime()) < h.cfg.Retention {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			h.log.Warn("cannot remove an old job's directory", "job", e.Name(), "err", err)
		}
	}
}
