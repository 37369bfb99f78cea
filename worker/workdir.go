package worker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// One worker per work directory, and nothing left of the one before.
//
// <Dir>/lock is locked (flock) for the worker's life and holds its pid:
// a second worker on the same --dir would wipe the first one's live task
// directories, so it refuses to start and names the holder. The kernel
// drops the lock when the holder dies, however it dies.
//
// Task processes get SIGKILL when their worker dies (Pdeathsig, see
// procattr_linux.go), but what a task started in its process group does
// not. So <Dir>/run/<pgid> records each running attempt's process group
// (with its leader's start time, so a recycled pid is never taken for it,
// and its attempt directory) until the attempt is reaped, and a worker
// starting on the directory kills the groups a dead one left before it
// wipes their task directories (leftovers_linux.go).

// lockFile is <Dir>/lock.
const lockFile = "lock"

// lockDir takes the work directory's lock, creating dir if needed, and
// writes this process's pid into it.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("worker: work directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("worker: lock the work directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &dirInUseError{dir: dir, pid: pidText(b)}
		}
		return nil, fmt.Errorf("worker: lock %s: %w", f.Name(), err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("worker: write %s: %w", f.Name(), err)
	}
	return f, nil
}

// pidText is the pid a lock file holds, or "" if it holds none yet.
func pidText(b []byte) string {
	s := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(s); err != nil {
		return ""
	}
	return s
}

// releaseDir drops the work directory's lock; it is idempotent.
func (w *Worker) releaseDir() {
	w.mu.Lock()
	f := w.dirLock
	w.dirLock = nil
	w.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// runDir is <Dir>/run, the records of running task process groups.
func (w *Worker) runDir() string { return filepath.Join(w.cfg.Dir, "run") }

// groupRecord is one running attempt's process group.
type groupRecord struct {
	pgid  int    // the leader's pid
	start uint64 // the leader's start time, in clock ticks after boot
	dir   string // the attempt directory
}

func (r groupRecord) encode() []byte {
	return []byte(fmt.Sprintf("%d %s\n", r.start, r.dir))
}

// parseRecord reads <Dir>/run/<pgid>.
func parseRecord(name string, b []byte) (groupRecord, error) {
	pgid, err := strconv.Atoi(name)
	startText, dir, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	start, serr := strconv.ParseUint(startText, 10, 64)
	if err != nil || pgid <= 1 || !ok || serr != nil || !filepath.IsAbs(dir) {
		return groupRecord{}, fmt.Errorf("malformed process group record %q", name)
	}
	return groupRecord{pgid: pgid, start: start, dir: dir}, nil
}

// recordGroup records the process group the attempt's process leads and
// returns the function that removes the record once it is reaped. A
// record that cannot be written costs only the cleanup after a crash.
func (a *attempt) recordGroup(pid int) (forget func()) {
	path := filepath.Join(a.w.runDir(), strconv.Itoa(pid))
	start, err := processStart(pid)
	if err == nil {
		err = os.WriteFile(path, groupRecord{pgid: pid, start: start, dir: a.dir}.encode(), 0o644)
	}
	if err != nil {
		a.log.Warn("cannot record the task's process group: a worker restarted after a crash will not kill what it leaves", "err", err)
		return func() {}
	}
	return func() { _ = os.Remove(path) }
}

// killLeftovers kills the process groups recorded by a worker that died
// on this directory, if they still run, and removes the records. It runs
// in Start before the worker has a name, so it logs to cfg.Logger.
func (w *Worker) killLeftovers() error {
	ents, err := os.ReadDir(w.runDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("worker: read %s: %w", w.runDir(), err)
	}
	for _, e := range ents {
		path := filepath.Join(w.runDir(), e.Name())
		if err := w.killRecorded(path, e.Name()); err != nil {
			w.cfg.Logger.Warn("cannot kill a recorded task process group", "file", path, "err", err)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("worker: remove %s: %w", path, err)
		}
	}
	return nil
}

// killRecorded SIGKILLs the process group recorded in path if it still
// runs and is the one recorded.
func (w *Worker) killRecorded(path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r, err := parseRecord(name, b)
	if err != nil || !groupAlive(r) {
		return err
	}
	if err := unix.Kill(-r.pgid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	w.cfg.Logger.Warn("killed the task processes a previous worker on this directory left", "pgid", r.pgid, "task_dir", r.dir)
	return nil
}

// prepareDir locks the work directory, kills what a worker that died on
// it left running, and creates <Dir>/cache, <Dir>/run and an empty
// <Dir>/tasks.
func (w *Worker) prepareDir() (err error) {
	lock, err := lockDir(w.cfg.Dir)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.dirLock = lock
	w.mu.Unlock()
	defer func() {
		if err != nil {
			w.releaseDir()
		}
	}()
	if err := w.killLeftovers(); err != nil {
		return err
	}
	tasks := filepath.Join(w.cfg.Dir, "tasks")
	if err := os.RemoveAll(tasks); err != nil {
		return fmt.Errorf("worker: clear %s: %w", tasks, err)
	}
	for _, d := range []string{w.cache.dir, tasks, w.runDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("worker: work directory: %w", err)
		}
	}
	return w.cache.clean()
}
