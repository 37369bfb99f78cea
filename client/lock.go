package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A running job holds its output: an flock(2) on PARENT/.NAME.dist-lock
// (see output.go). The kernel drops the lock when its holder dies, so a
// killed job never blocks the next one; its file stays behind, naming a
// dead process, and the next holder takes the file over. A job that ends
// unlinks the file, then closes it.
//
// The holder writes who it is into the file just after locking it, so a
// job that finds the file locked but empty, or naming a dead process, is
// looking at a holder that is starting (or at a check by Prepare): it
// tries again for up to lockSettle before it gives up.
const (
	lockSettle = 2 * time.Second
	lockRetry  = 10 * time.Millisecond
)

// holder is what the lock file says about the job holding it.
type holder struct {
	Job     string    `json:"job"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// outputLock is a held output lock.
type outputLock struct {
	path string
	f    *os.File
}

// lockOutput takes o's lock for job me, or fails with ErrOutputBusy
// naming the job that holds it.
func lockOutput(o outPaths, me holder) (*outputLock, error) {
	body, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	// A missing parent is created, as `mkdir -p` would (checkOutput has
	// made sure that it can be).
	if err := os.MkdirAll(o.parent, 0o755); err != nil {
		return nil, fmt.Errorf("create the parent of --output %s: %w", o.dir, err)
	}
	path := o.lock()
	deadline := time.Now().Add(lockSettle)
	for {
		f, other, err := tryLock(path, unix.LOCK_EX)
		if err != nil {
			return nil, fmt.Errorf("lock output %s: %w", o.dir, err)
		}
		if f != nil {
			if err := writeHolder(f, body); err != nil {
				_ = os.Remove(path)
				f.Close()
				return nil, fmt.Errorf("lock output %s: %w", o.dir, err)
			}
			return &outputLock{path: path, f: f}, nil
		}
		if other.live() || time.Now().After(deadline) {
			return nil, busyError(o, other)
		}
		time.Sleep(lockRetry)
	}
}

// checkNotHeld fails with ErrOutputBusy when a live job holds o's lock.
// It takes the lock shared for an instant and creates nothing.
func checkNotHeld(o outPaths) error {
	deadline := time.Now().Add(lockSettle)
	for {
		f, other, err := tryLock(o.lock(), unix.LOCK_SH)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("lock output %s: %w", o.dir, err)
		case f != nil:
			return f.Close()
		case other.live() || time.Now().After(deadline):
			return busyError(o, other)
		}
		time.Sleep(lockRetry)
	}
}

// tryLock locks the file at path without waiting (how is LOCK_EX, which
// creates the file, or LOCK_SH, which does not). It returns the locked
// file, or, when another process holds it, what the file says about its
// holder.
func tryLock(path string, how int) (*os.File, *holder, error) {
	flag := os.O_RDONLY
	if how == unix.LOCK_EX {
		flag = os.O_RDWR | os.O_CREATE
	}
	for {
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			return nil, nil, err
		}
		err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			h := readHolder(f)
			f.Close()
			return nil, h, nil
		}
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		same, err := samePath(f, path)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		if same {
			return f, nil, nil
		}
		// The holder we waited out unlinked the file as it ended: lock
		// the file now at path instead.
		f.Close()
	}
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) (bool, error) {
	fst, err := f.Stat()
	if err != nil {
		return false, err
	}
	pst, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fst, pst), nil
}

func writeHolder(f *os.File, body []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(append(body, '\n'), 0)
	return err
}

// readHolder reads a locked file's holder; nil when it says nothing yet.
func readHolder(f *os.File) *holder {
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	var h holder
	if err != nil || json.Unmarshal(b, &h) != nil || h.Job == "" {
		return nil
	}
	return &h
}

// live reports whether h names a holder that may still be running: one on
// another host, or a process that exists on this one.
func (h *holder) live() bool {
	if h == nil {
		return false
	}
	if host, _ := os.Hostname(); h.Host != host {
		return true
	}
	err := unix.Kill(h.PID, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func busyError(o outPaths, h *holder) error {
	if h == nil {
		return outputErr(ErrOutputBusy, "output %s is in use by another job: wait for it or choose another --output", o.dir)
	}
	return outputErr(ErrOutputBusy, "output %s is in use by job %s (pid %d on host %s, started %s): wait for it or choose another --output",
		o.dir, h.Job, h.PID, h.Host, h.Started.Local().Format(time.TimeOnly))
}

// release ends the hold: the file goes first, so that nobody finds it
// unlocked and takes it over while it still names this job.
func (l *outputLock) release() error {
	err := os.Remove(l.path)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
