package master

import (
	"os"
	"path/filepath"
)

// MasterLog is the log of job id's master while this host keeps the job's
// directory, for the worker's TaskLogs (worker.Config.MasterLog, dist logs
// JOB master).
func (h *Host) MasterLog(id string) (path string, ok bool) {
	path = filepath.Join(h.jobDir(id), "master.log")
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return path, true
}
