package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/distmr/dist/io/storage/s3store"
)

// Abandon ends, without running it, a job of a journal (Config.Journal)
// that was killed before this master could run it, and clears what the
// job's earlier masters left under its S3 output: the uploads of attempts
// they did not commit, and the output's lock, which a master that died
// holds until its lease runs out. Nothing is committed.
//
// If the output already holds this job's commit, an earlier master
// committed it before the kill reached the job: the job succeeded, and
// Abandon returns its summary, read from the journal. Otherwise it
// returns nil and no error.
func (j *Job) Abandon(ctx context.Context) (*Summary, error) {
	me := holder{Job: j.id, PID: os.Getpid(), Host: hostname(), Started: time.Now()}
	if j.s3out != "" {
		if err := j.clearS3Output(ctx, me); err != nil {
			return nil, err
		}
	}
	if !j.done {
		return nil, nil
	}
	rec, err := j.recover(ctx)
	if err != nil {
		return nil, err
	}
	return j.summaryOf(rec, me.Started), nil
}

// lockS3 takes the S3 output's lock for me: a job's master (Config.Journal)
// takes it over from the job's earlier masters at once. Another job
// holding it is ErrOutputBusy.
func (j *Job) lockS3(ctx context.Context, me holder) (*s3store.Lock, error) {
	lock, err := j.store.Lock(ctx, j.s3out, s3store.Holder{Job: me.Job, PID: me.PID, Host: me.Host, Started: me.Started, Takeover: j.cfg.Journal != nil})
	if errors.Is(err, s3store.ErrLocked) {
		err = fmt.Errorf("%w: %w", ErrOutputBusy, err)
	}
	return lock, err
}

// releaseS3 releases an S3 output's lock, given 30 s even when ctx has
// ended (a killed job lets go of its output too).
func releaseS3(ctx context.Context, lock *s3store.Lock) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return lock.Release(ctx)
}

// clearS3Output takes the S3 output's lock over from an earlier master of
// this job, aborts every upload left under the output (none is a live
// job's while the lock is held, and a committed part is an object, not an
// upload), and releases the lock.
func (j *Job) clearS3Output(ctx context.Context, me holder) error {
	lock, err := j.lockS3(ctx, me)
	if err != nil {
		return err
	}
	_, err = j.store.AbortUploads(ctx, j.s3out+"/")
	return errors.Join(err, releaseS3(ctx, lock))
}
