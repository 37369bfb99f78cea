package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// LockName is the lock object's name under an output prefix.
const LockName = "_dist-lock"

// maxTakeovers bounds how often Lock looks again at a lock that changed
// hands while it was taking it.
const maxTakeovers = 5

// Holder says who holds an output lock.
type Holder struct {
	Job  string
	Host string // storage.HostID() of the holder's machine
	PID  int
	// Started is when the job started; zero means now.
	Started time.Time
	// Takeover lets this holder take the lock from an earlier holder of
	// the same Job at once: a job master carrying on the job of one that
	// died (ZooKeeper's election says it is gone; were it only cut off, its
	// next renewal finds the lock taken and its job stops).
	Takeover bool
}

// lockRecord is the lock object's JSON.
type lockRecord struct {
	Job     string    `json:"job"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Renewed time.Time `json:"renewed"`
}

// Lock is a held output lock. Its holder renews it every LockLease/3
// until Release.
type Lock struct {
	s           *Store
	output      string // the --output, for messages
	bucket, key string

	mu       sync.Mutex // orders renewals and Release
	rec      lockRecord
	etag     string // of the lock object as we last wrote it
	released bool

	lost     chan struct{}
	lostOnce sync.Once
	stop     context.CancelFunc // ends the renewal loop
	done     chan struct{}      // closed when the loop has returned
}

// errLost marks a renewal that found the lock taken.
var errLost = errors.New("lock lost")

// Lock takes the lock of the output prefixURL (the --output, s3://b/p): an
// object p/_dist-lock holding who holds it. It is created only if absent
// (a PUT with If-None-Match: *, which the store applies atomically). A lock
// not renewed for LockLease, or one whose holder ran on this host (same
// Host) and whose pid is gone, is stale and taken over with a PUT
// conditional on its ETag, so that of two jobs taking it over one wins.
// A lock held by a live job gives an error wrapping ErrLocked that names
// it. Judging a lease by its holder's clock assumes the clocks of the
// machines sharing an output agree to well within LockLease.
func (s *Store) Lock(ctx context.Context, prefixURL string, h Holder) (*Lock, error) {
	output := strings.TrimSuffix(prefixURL, "/")
	bucket, prefix, err := parsePrefix(output)
	if err != nil {
		return nil, err
	}
	if h.Started.IsZero() {
		h.Started = s.now()
	}
	l := &Lock{s: s, output: output, bucket: bucket, key: prefix + LockName, lost: make(chan struct{})}
	l.rec = lockRecord{Job: h.Job, PID: h.PID, Host: h.Host, Started: h.Started}
	create := minio.PutObjectOptions{}
	create.SetMatchETagExcept("*")
	for range maxTakeovers {
		err := l.write(ctx, create)
		if err == nil {
			l.hold()
			return l, nil
		}
		if status(err) != http.StatusPreconditionFailed {
			return nil, failed("locking the output", output, err)
		}
		// Held: by a live job, or stale?
		data, info, err := s.get(ctx, bucket, l.key, minio.GetObjectOptions{})
		if code(err) == minio.NoSuchKey {
			continue // released meanwhile
		}
		if err != nil {
			return nil, failed("reading the lock of", output, err)
		}
		if err := l.checkStale(data, info, h); err != nil {
			return nil, err
		}
		takeover := minio.PutObjectOptions{}
		takeover.SetMatchETag(info.ETag)
		err = l.write(ctx, takeover)
		if err == nil {
			l.hold()
			return l, nil
		}
		if status(err) != http.StatusPreconditionFailed && code(err) != minio.NoSuchKey {
			return nil, failed("taking over the stale lock of", output, err)
		}
		// Another job was quicker, or the holder renewed: look again.
	}
	return nil, fmt.Errorf("output %s: its lock changed hands %d times while this job took it: try again", output, maxTakeovers)
}

// checkStale returns nil if the lock (data, as read) is stale, else an
// error wrapping ErrLocked that names its holder.
func (l *Lock) checkStale(data []byte, info minio.ObjectInfo, h Holder) error {
	s, output := l.s, l.output
	var rec lockRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.Renewed.IsZero() {
		if s.now().Sub(info.LastModified) > s.lease() {
			return nil
		}
		return newError(fmt.Sprintf("output %s is locked by %s, which is not a dist lock written in the last %v: wait for it or choose another --output",
			output, objectURL(l.bucket, l.key), s.lease()), ErrLocked)
	}
	if s.now().Sub(rec.Renewed) > s.lease() {
		return nil
	}
	if h.Takeover && rec.Job == h.Job {
		return nil
	}
	if rec.Host != "" && rec.Host == h.Host && !alive(rec.PID) {
		return nil
	}
	return newError(fmt.Sprintf("output %s is in use by job %s (pid %d on host %s, started %s): wait for it or choose another --output",
		output, rec.Job, rec.PID, rec.Host, rec.Started.Local().Format(time.TimeOnly)), ErrLocked)
}

// lease is how long a lock lives unrenewed.
func (s *Store) lease() time.Duration {
	if s.LockLease > 0 {
		return s.LockLease
	}
	return DefaultLockLease
}

// write puts l's record, renewed now, under opts' condition, and keeps
// the ETag. The caller holds l.mu or owns l alone.
func (l *Lock) write(ctx context.Context, opts minio.PutObjectOptions) error {
	rec := l.rec
	rec.Renewed = l.s.now()
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	etag, err := l.s.put(ctx, l.bucket, l.key, data, opts)
	if status(err) == http.StatusPreconditionFailed {
		// An earlier try of this very PUT may have landed, its answer lost.
		if got, info, gerr := l.s.get(ctx, l.bucket, l.key, minio.GetObjectOptions{}); gerr == nil && bytes.Equal(got, data) {
			etag, err = info.ETag, nil
		}
	}
	if err != nil {
		return err
	}
	l.rec, l.etag = rec, etag
	return nil
}

// hold starts the renewals.
func (l *Lock) hold() {
	ctx, cancel := context.WithCancel(context.Background())
	l.stop, l.done = cancel, make(chan struct{})
	go l.renewLoop(ctx)
}

func (l *Lock) renewLoop(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(max(l.s.lease()/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.renew(ctx); errors.Is(err, errLost) {
			return
		}
		// Another error (the store briefly down) waits for the next tick:
		// the lease has two more before it runs out.
	}
}

// Check renews the lock now and fails if it is no longer this holder's:
// called just before a job commits its output, so that a job presumed dead
// whose lock was taken over (a job master cut off while another took its
// job over) finds out before it publishes anything, not at its next
// renewal.
func (l *Lock) Check(ctx context.Context) error {
	err := l.renew(ctx)
	if errors.Is(err, errLost) {
		return newError(fmt.Sprintf("output %s: this job's lock was taken over by another job (it was presumed dead): nothing committed", l.output), ErrLocked)
	}
	if err != nil {
		return failed("renewing the lock of", l.output, err)
	}
	return nil
}

// renew rewrites the lock if it is still ours, else marks it lost.
func (l *Lock) renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return errLost
	}
	opts := minio.PutObjectOptions{}
	opts.SetMatchETag(l.etag)
	err := l.write(ctx, opts)
	if status(err) == http.StatusPreconditionFailed && l.adopt(ctx) {
		opts.SetMatchETag(l.etag)
		err = l.write(ctx, opts)
	}
	if status(err) == http.StatusPreconditionFailed || code(err) == minio.NoSuchKey {
		l.lostOnce.Do(func() { close(l.lost) })
		return errLost
	}
	return err
}

// adopt reports whether the lock object, whose ETag is not the one l
// last saw, is still l's own: a renewal whose answer was lost (its
// context ended, a reply timed out) may have landed all the same. If so
// l takes its ETag. The caller holds l.mu.
func (l *Lock) adopt(ctx context.Context) bool {
	data, info, err := l.s.get(ctx, l.bucket, l.key, minio.GetObjectOptions{})
	if err != nil {
		return false
	}
	var rec lockRecord
	if json.Unmarshal(data, &rec) != nil || rec.Job != l.rec.Job || rec.PID != l.rec.PID || rec.Host != l.rec.Host {
		return false
	}
	l.etag = info.ETag
	return true
}

// Lost is closed when a renewal finds the lock taken over by another job
// (this one was presumed dead): the job must fail, its output is no
// longer its own.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Release stops the renewals and deletes the lock, if it is still ours
// (a DELETE conditional on its ETag). Calling it again does nothing.
func (l *Lock) Release(ctx context.Context) error {
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	select {
	case <-l.lost:
		return nil // another job's now
	default:
	}
	err := l.s.remove(withIfMatch(ctx, l.etag), l.bucket, l.key)
	if status(err) == http.StatusPreconditionFailed && l.adopt(ctx) {
		err = l.s.remove(withIfMatch(ctx, l.etag), l.bucket, l.key)
	}
	if status(err) == http.StatusPreconditionFailed {
		return nil // taken over since the last renewal
	}
	if err != nil {
		return failed("releasing the lock of", l.output, err)
	}
	return nil
}
