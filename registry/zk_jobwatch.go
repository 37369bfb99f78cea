package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-zookeeper/zk"
)

// Watching jobs. Both watches read with a ZooKeeper watch, read again
// when it fires (setting the next one), and offer the newest value to
// their channel: a receiver that falls behind gets the latest value, not
// every one in between. Through a connection loss go-zookeeper keeps the
// watches; after a session expiry it fires them, and they are read again
// once a new session is up.

// WatchJob sends the record of job id now, then again each time it
// changes. The channel closes when the job's node is deleted, when ctx
// ends, or on Close. No such job is ErrNoJob.
func (z *ZK) WatchJob(ctx context.Context, id string) (<-chan JobRecord, error) {
	if err := validName("job id", id); err != nil {
		return nil, err
	}
	n, raw, ev, err := z.getJobW(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := z.enter(); err != nil {
		return nil, err
	}
	out := make(chan JobRecord)
	go z.jobWatchLoop(ctx, id, out, n.Record, raw, ev)
	return out, nil
}

func (z *ZK) jobWatchLoop(ctx context.Context, id string, out chan<- JobRecord, rec JobRecord, last []byte, ev <-chan zk.Event) {
	defer z.wg.Done()
	defer close(out)
	msg, pending := rec, true
	for {
		var send chan<- JobRecord
		if pending {
			send = out
		}
		select {
		case send <- msg:
			pending = false
			continue
		case <-ev:
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
		for {
			n, raw, nev, err := z.getJobW(ctx, id)
			switch {
			case err == nil:
				if !bytes.Equal(raw, last) {
					msg, pending, last = n.Record, true, raw
				}
			case errors.Is(err, ErrNoJob) || stopped(err):
				return
			case nev != nil: // malformed: wait for the next change
				z.log.Warn("job record unreadable; waiting for the next change", "job", id, "err", err)
			default:
				z.log.Warn("reading a watched job failed; retrying", "job", id, "err", err)
				if z.pause(ctx, republishPause) != nil {
					return
				}
				continue
			}
			ev = nev
			break
		}
	}
}

// getJobW is getJob leaving a watch on the node. A malformed record comes
// with its error and the watch.
func (z *ZK) getJobW(ctx context.Context, id string) (jobNode, []byte, <-chan zk.Event, error) {
	p := z.spec.JobPath(id)
	var (
		data []byte
		ev   <-chan zk.Event
	)
	err := z.read(ctx, func() error {
		var err error
		data, _, ev, err = z.conn.GetW(p)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return jobNode{}, nil, nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return jobNode{}, nil, nil, fmt.Errorf("reading job %q at %s: %w", id, p, err)
	}
	n, err := decodeJob(id, data)
	if err != nil {
		return jobNode{}, nil, ev, err
	}
	return n, data, ev, nil
}

// WatchJobs sends the IDs of the jobs recorded now, sorted, then again
// each time a job is created or deleted. The channel closes when ctx ends
// or on Close.
func (z *ZK) WatchJobs(ctx context.Context) (<-chan []string, error) {
	ids, ev, err := z.listJobsW(ctx)
	if err != nil {
		return nil, fmt.Errorf("watching jobs under %s: %w", z.spec.JobsPath(), err)
	}
	if err := z.enter(); err != nil {
		return nil, err
	}
	out := make(chan []string)
	go z.jobsWatchLoop(ctx, out, ids, ev)
	return out, nil
}

func (z *ZK) jobsWatchLoop(ctx context.Context, out chan<- []string, last []string, ev <-chan zk.Event) {
	defer z.wg.Done()
	defer close(out)
	msg, pending := slices.Clone(last), true
	for {
		var send chan<- []string
		if pending {
			send = out
		}
		select {
		case send <- msg:
			pending = false
			continue
		case <-ev:
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
		for {
			ids, nev, err := z.listJobsW(ctx)
			if err == nil {
				ev = nev
				if !slices.Equal(ids, last) {
					last, msg, pending = ids, slices.Clone(ids), true
				}
				break
			}
			if stopped(err) {
				return
			}
			z.log.Warn("listing jobs failed; retrying", "dir", z.spec.JobsPath(), "err", err)
			if z.pause(ctx, republishPause) != nil {
				return
			}
		}
	}
}

// listJobsW lists the job IDs, sorted, leaving a child watch on the jobs
// node, or, while it does not exist, an exists watch for its creation.
func (z *ZK) listJobsW(ctx context.Context) ([]string, <-chan zk.Event, error) {
	names, ev, err := z.childrenW(ctx, z.spec.JobsPath())
	if err != nil {
		return nil, nil, err
	}
	if names == nil {
		names = []string{}
	}
	slices.Sort(names)
	return names, ev, nil
}
