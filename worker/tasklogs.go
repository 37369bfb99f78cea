package worker

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// Task logs (dist logs). A job that outlives its client has nobody
// watching its attempts' stderr, so a worker serves what it still holds
// of it: the logs of the job's attempts while the job runs here, and after
// it ends those kept under <Dir>/failed/<job> for KeepFailed (failed
// attempts' whole logs, and the tail of each succeeded attempt's stderr).

// keptTruncated marks a kept stderr.log that is only the tail of the
// attempt's: the start was cut.
const keptTruncated = "stderr.truncated"

// masterTask names the job master's own log in a TaskLogsRequest.
const masterTask = "master"

// keepSucceededLogs copies the tail of each succeeded attempt's stderr to
// <Dir>/failed/<job>/<task>-<attempt>/stderr.log, beside the failed
// attempts' logs, and is pruned with them.
func (w *Worker) keepSucceededLogs(job string, ok []*attempt) {
	if w.cfg.KeepFailed <= 0 {
		return
	}
	for _, a := range ok {
		if err := w.keepTail(job, a); err != nil {
			w.log.Warn("keep a succeeded attempt's stderr", "job", job, "task", a.key.task, "err", err)
		}
	}
}

func (w *Worker) keepTail(job string, a *attempt) error {
	f, err := a.files().open("stderr.log")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	b, cut, err := readTail(f)
	if err != nil {
		return err
	}
	dst := filepath.Join(w.failedDir(), job, a.key.dirName())
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if cut {
		if err := os.WriteFile(filepath.Join(dst, keptTruncated), nil, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dst, "stderr.log"), b, 0o644)
}

// readTail reads the last proto.MaxTaskLog bytes of f; cut says there
// were more.
func readTail(f *os.File) (b []byte, cut bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	off := max(fi.Size()-proto.MaxTaskLog, 0)
	b, err = io.ReadAll(io.NewSectionReader(f, off, proto.MaxTaskLog))
	return b, off > 0, err
}

func (w *Worker) handleTaskLogs(st *yamux.Stream, h proto.Header) error {
	var req proto.TaskLogsRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkName("job id", req.Job); err != nil {
		return err
	}
	if req.Task != "" {
		if err := checkName("task id", req.Task); err != nil {
			return err
		}
	}
	if err := checkHeaderJob(h, req.Job); err != nil {
		return err
	}
	return writeLogs(st, w.taskLogs(req.Job, req.Task))
}

// logsFrame is how many bytes of stderr one reply frame carries at most,
// leaving room below proto.MaxFrame for the rest of the frame.
const logsFrame = proto.MaxFrame - 2*proto.MaxTaskLog

// writeLogs writes logs in as many reply frames as they need.
func writeLogs(w io.Writer, logs []proto.AttemptLog) error {
	if logs == nil {
		logs = []proto.AttemptLog{}
	}
	for {
		n, size := 0, 0
		for n < len(logs) {
			size += len(logs[n].Stderr) + len(logs[n].Task) + 32 // and its field names
			if n > 0 && size > logsFrame {
				break
			}
			n++
		}
		r := proto.TaskLogsReply{Logs: logs[:n], More: n < len(logs)}
		if err := proto.WriteFrame(w, &r); err != nil || !r.More {
			return err
		}
		logs = logs[n:]
	}
}

// taskLogs gathers the stderr of the job's attempts of task ("" for all)
// this worker holds, and its master's log when asked for and hosted here.
func (w *Worker) taskLogs(job, task string) []proto.AttemptLog {
	seen := make(map[attemptKey]bool)
	var logs []proto.AttemptLog
	add := func(k attemptKey, tf taskFiles, name string) {
		if seen[k] || task != "" && k.task != task {
			return
		}
		l, ok := readLog(tf, name, k)
		if ok {
			seen[k] = true
			logs = append(logs, l)
		}
	}
	w.mu.Lock()
	var live []*attempt
	for k, a := range w.attempts {
		if k.job == job {
			live = append(live, a)
		}
	}
	w.mu.Unlock()
	for _, a := range live {
		add(a.key, a.files(), "stderr.log")
	}
	dir := filepath.Join(w.failedDir(), job)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		k, ok := parseAttemptDir(job, e.Name())
		if ok {
			// The kept logs are the worker's: the failed attempts' were
			// checked when they were moved there.
			add(k, taskFiles{dir: filepath.Join(dir, e.Name()), who: k.String(), uid: -1}, "stderr.log")
		}
	}
	if (task == "" || task == masterTask) && w.cfg.MasterLog != nil {
		if path, ok := w.cfg.MasterLog(job); ok {
			add(attemptKey{job: job, task: masterTask}, taskFiles{dir: filepath.Dir(path), who: "the job's master", uid: -1}, filepath.Base(path))
		}
	}
	slices.SortFunc(logs, func(a, b proto.AttemptLog) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Attempt, b.Attempt))
	})
	return logs
}

// readLog reads the tail of the attempt's log, name in tf; ok is false
// when there is none to read.
func readLog(tf taskFiles, name string, k attemptKey) (proto.AttemptLog, bool) {
	f, err := tf.open(name)
	if err != nil {
		return proto.AttemptLog{}, false
	}
	defer f.Close()
	b, cut, err := readTail(f)
	if err != nil {
		return proto.AttemptLog{}, false
	}
	if _, err := os.Lstat(filepath.Join(tf.dir, keptTruncated)); err == nil {
		cut = true
	}
	return proto.AttemptLog{Task: k.task, Attempt: k.attempt, Stderr: b, Truncated: cut}, true
}

// parseAttemptDir reads "<task>-<attempt>", an attempt directory's name.
func parseAttemptDir(job, name string) (attemptKey, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return attemptKey{}, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return attemptKey{}, false
	}
	return attemptKey{job: job, task: name[:i], attempt: n}, true
}
