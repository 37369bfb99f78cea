package client

import (
	"context"
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
	start := time.Now()
	rec, err := j.recover(ctx)
	if err != nil {
		return nil, err
	}
	if j.s3out != "" {
		if err := j.clearS3Output(ctx); err != nil {
			return nil, err
		}
	}
	if j.done {
		return j.summaryOf(rec, start), nil
	}
	return nil, nil
}

// clearS3Output takes the S3 output's lock over from an earlier master of
// this job, aborts every upload left under the output (none is a live
// job's while the lock is held, and a committed part is an object, not an
// upload), and releases the lock.
func (j *Job) clearS3Output(ctx context.Context) error {
	lock, err := j.store.Lock(ctx, j.s3out, s3store.Holder{Job: j.id, PID: os.Getpid(), Host: hostname(), Started: time.Now(), Takeover: true})
	if err != nil {
		return err
	}
	_, err = j.store.AbortUploads(ctx, j.s3out+"/")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if rerr := lock.Release(cctx); err == nil {
		err = rerr
	}
	return err
}
