package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// deleteBatch bounds the deletes sent in one ZooKeeper transaction (a
// journal may have 100k entries).
const deleteBatch = 500

// expireAttempts bounds the tries to delete one job whose tree keeps
// growing (a late journal entry or candidate).
const expireAttempts = 3

// ExpireJobs deletes the jobs that ended more than retention before now,
// each with everything under it, and returns how many it deleted. A job
// that has not ended is never deleted, nor one whose record changes while
// it is being deleted, nor one whose record cannot be read. A job with no
// end time counts from its submission.
func (z *ZK) ExpireJobs(ctx context.Context, retention time.Duration, now time.Time) (int, error) {
	if retention < 0 {
		return 0, fmt.Errorf("job retention %v is negative: give how long ended jobs stay listed", retention)
	}
	dir := z.spec.JobsPath()
	names, err := z.children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("listing jobs under %s: %w", dir, err)
	}
	deleted := 0
	for _, id := range names {
		n, _, stat, err := z.getJob(ctx, id)
		switch {
		case errors.Is(err, ErrNoJob):
			continue
		case errors.Is(err, ErrMalformedJob):
			z.log.Warn("not expiring an unreadable job record", "job", id, "err", err)
			continue
		case err != nil:
			return deleted, err
		}
		rec := n.Record
		ended := rec.Ended
		if ended.IsZero() {
			ended = rec.Submitted
		}
		if !rec.State.Ended() || now.Sub(ended) <= retention {
			continue
		}
		ok, err := z.deleteJob(ctx, id, stat.Version)
		if err != nil {
			return deleted, fmt.Errorf("expiring job %q: %w", id, err)
		}
		if ok {
			deleted++
			z.log.Info("expired job", "job", id, "state", rec.State, "ended", ended)
		}
	}
	return deleted, nil
}

// deleteJob deletes job id's tree if its record is still at version. It
// empties the plan, journal and masters nodes, then deletes them, the spec
// and the record in one transaction checking the version. It reports
// whether it deleted the job.
func (z *ZK) deleteJob(ctx context.Context, id string, version int32) (bool, error) {
	p := z.spec.JobPath(id)
	kids := []string{"plan", "journal", "masters"}
	for range expireAttempts {
		for _, k := range kids {
			if err := z.deleteUnder(ctx, p+"/"+k); err != nil {
				return false, err
			}
		}
		ops := []any{&zk.DeleteRequest{Path: p + "/spec", Version: -1}}
		for _, k := range kids {
			ops = append(ops, &zk.DeleteRequest{Path: p + "/" + k, Version: -1})
		}
		ops = append(ops, &zk.DeleteRequest{Path: p, Version: version})
		err := z.write(ctx, func() error { return multiErr(z.conn.Multi(ops...)) })
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, zk.ErrBadVersion):
			z.log.Info("not expiring a job whose record changed meanwhile", "job", id)
			return false, nil
		case errors.Is(err, zk.ErrNotEmpty):
			continue // something was added meanwhile
		case errors.Is(err, zk.ErrNoNode):
			// Gone (another expirer, or a retried transaction), or a child
			// missing: delete what is left under the same version check.
			if err := z.deleteUnder(ctx, p); err != nil {
				return false, err
			}
			err := z.write(ctx, func() error { return z.conn.Delete(p, version) })
			if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) {
				return false, nil
			}
			return err == nil, zkAuthErr(err)
		default:
			return false, zkAuthErr(err)
		}
	}
	return false, fmt.Errorf("%s keeps gaining nodes: is a master still running the job?", p)
}

// deleteUnder deletes everything under node dir, not dir itself, in
// transactions of deleteBatch nodes.
func (z *ZK) deleteUnder(ctx context.Context, dir string) error {
	names, err := z.children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	for len(names) > 0 {
		batch := names[:min(len(names), deleteBatch)]
		names = names[len(batch):]
		ops := make([]any, len(batch))
		for i, name := range batch {
			ops[i] = &zk.DeleteRequest{Path: dir + "/" + name, Version: -1}
		}
		if err := z.write(ctx, func() error { return multiErr(z.conn.Multi(ops...)) }); err == nil {
			continue
		}
		// One by one: a node gone meanwhile, or one with children.
		for _, name := range batch {
			if err := z.deleteTree(ctx, dir+"/"+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteTree deletes node p and everything under it; p missing is fine.
func (z *ZK) deleteTree(ctx context.Context, p string) error {
	for {
		err := z.write(ctx, func() error { return z.conn.Delete(p, -1) })
		switch {
		case err == nil, errors.Is(err, zk.ErrNoNode):
			return nil
		case errors.Is(err, zk.ErrNotEmpty):
			if err := z.deleteUnder(ctx, p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("deleting %s: %w", p, zkAuthErr(err))
		}
	}
}
