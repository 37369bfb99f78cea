package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Job records. A detached job is the persistent node <root>/jobs/<id>
// holding its msgpack JobRecord, with children
//
//	spec          the job's description as submitted (opaque bytes)
//	plan          the master's plan, chunked (zk_jobplan.go)
//	journal/<t>   one entry per committed task (zk_jobplan.go)
//	masters/c-…   the candidates to run it (zk_election.go)
//
// all created at once by CreateJob, with the registry's ACL (zk_acl.go).
// Writers change a record only through UpdateJob, a compare-and-set on the
// node's version, so concurrent writers never lose each other's changes.

// CreateJob records a new job: the node <root>/jobs/<rec.ID> holding rec
// and its children, spec among them, created in one ZooKeeper transaction
// so that nobody sees a job without its spec. An empty State is recorded
// as JobSubmitted. A job with that ID already is ErrJobExists.
func (z *ZK) CreateJob(ctx context.Context, rec JobRecord, spec []byte) error {
	if err := validName("job id", rec.ID); err != nil {
		return err
	}
	if len(spec) > maxChunk {
		return fmt.Errorf("job %q: its spec is %d bytes, more than %d: ship large files as artifacts", rec.ID, len(spec), maxChunk)
	}
	if rec.State == "" {
		rec.State = JobSubmitted
	}
	token := writeToken()
	data, err := encodeJob(rec, token)
	if err != nil {
		return err
	}
	if err := z.ensurePath(ctx, z.spec.JobsPath()); err != nil {
		return fmt.Errorf("creating job %q: %w", rec.ID, err)
	}
	p := z.spec.JobPath(rec.ID)
	acl := z.acl()
	ops := []any{
		&zk.CreateRequest{Path: p, Data: data, Acl: acl},
		&zk.CreateRequest{Path: p + "/spec", Data: spec, Acl: acl},
		&zk.CreateRequest{Path: p + "/plan", Acl: acl},
		&zk.CreateRequest{Path: p + "/journal", Acl: acl},
		&zk.CreateRequest{Path: p + "/masters", Acl: acl},
	}
	err = z.write(ctx, func() error { return multiErr(z.conn.Multi(ops...)) })
	if errors.Is(err, zk.ErrNodeExists) {
		// A create retried after a connection loss finds its own record.
		if cur, _, _, err := z.getJob(ctx, rec.ID); err == nil && cur.Write == token {
			return nil
		}
		return fmt.Errorf("creating job %q: %w: choose another id", rec.ID, ErrJobExists)
	}
	if err != nil {
		return fmt.Errorf("creating job %q at %s: %w", rec.ID, p, zkAuthErr(err))
	}
	return nil
}

// Job reads the record of job id; ErrNoJob if there is none.
func (z *ZK) Job(ctx context.Context, id string) (JobRecord, error) {
	if err := validName("job id", id); err != nil {
		return JobRecord{}, err
	}
	n, _, _, err := z.getJob(ctx, id)
	if err != nil {
		return JobRecord{}, err
	}
	return n.Record, nil
}

// UpdateJob changes the record of job id: it reads the record, lets fn
// change it and writes it back if the node has not changed meanwhile;
// otherwise it reads again and calls fn again, so fn must derive its
// changes from the record it is given, and may run more than once. An
// error from fn aborts the update and is returned as is. fn must not
// change the ID. A record fn leaves as it was is not written. UpdateJob
// returns the record as written.
func (z *ZK) UpdateJob(ctx context.Context, id string, fn func(*JobRecord) error) (JobRecord, error) {
	if err := validName("job id", id); err != nil {
		return JobRecord{}, err
	}
	p := z.spec.JobPath(id)
	for {
		cur, raw, stat, err := z.getJob(ctx, id)
		if err != nil {
			return JobRecord{}, err
		}
		rec := cur.Record
		if err := fn(&rec); err != nil {
			return JobRecord{}, err
		}
		if rec.ID != id {
			return JobRecord{}, fmt.Errorf("updating job %q: the update changed its id to %q: ids are fixed", id, rec.ID)
		}
		if same, err := encodeJob(rec, cur.Write); err == nil && bytes.Equal(same, raw) {
			return rec, nil
		}
		token := writeToken()
		data, err := encodeJob(rec, token)
		if err != nil {
			return JobRecord{}, err
		}
		attempts := 0
		err = z.write(ctx, func() error {
			attempts++
			_, err := z.conn.Set(p, data, stat.Version)
			return err
		})
		if errors.Is(err, zk.ErrBadVersion) && attempts > 1 {
			// The connection failed during a Set: it may have landed.
			if now, _, _, err := z.getJob(ctx, id); err == nil && now.Write == token {
				return rec, nil
			}
		}
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, zk.ErrBadVersion):
			continue // changed meanwhile: apply fn to the new record
		case errors.Is(err, zk.ErrNoNode):
			return JobRecord{}, fmt.Errorf("updating job %q: %w", id, ErrNoJob)
		default:
			return JobRecord{}, fmt.Errorf("updating job %q at %s: %w", id, p, zkAuthErr(err))
		}
	}
}

// getJob reads and decodes the node of job id, with its raw data and stat.
func (z *ZK) getJob(ctx context.Context, id string) (jobNode, []byte, *zk.Stat, error) {
	p := z.spec.JobPath(id)
	data, stat, err := z.get(ctx, p)
	if errors.Is(err, zk.ErrNoNode) {
		return jobNode{}, nil, nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return jobNode{}, nil, nil, fmt.Errorf("reading job %q at %s: %w", id, p, err)
	}
	n, err := decodeJob(id, data)
	if err != nil {
		return jobNode{}, nil, nil, err
	}
	return n, data, stat, nil
}

// Jobs lists the job records, ordered by Submitted (then ID). A malformed
// record is left out with a warning in the log. No jobs node yet means no
// jobs.
func (z *ZK) Jobs(ctx context.Context) ([]JobRecord, error) {
	dir := z.spec.JobsPath()
	names, err := z.children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return []JobRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing jobs under %s: %w", dir, err)
	}
	datas, err := z.getAll(ctx, dir, names)
	if err != nil {
		return nil, fmt.Errorf("listing jobs under %s: %w", dir, err)
	}
	out := make([]JobRecord, 0, len(datas))
	for id, data := range datas {
		n, err := decodeJob(id, data)
		if err != nil {
			z.log.Warn("skipping malformed job node", "node", dir+"/"+id, "err", err)
			continue
		}
		out = append(out, n.Record)
	}
	sortJobs(out)
	return out, nil
}

// JobSpec reads the spec job id was created with.
func (z *ZK) JobSpec(ctx context.Context, id string) ([]byte, error) {
	if err := validName("job id", id); err != nil {
		return nil, err
	}
	p := z.spec.JobPath(id) + "/spec"
	data, _, err := z.get(ctx, p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the spec of job %q at %s: %w", id, p, err)
	}
	return data, nil
}

// get reads node p.
func (z *ZK) get(ctx context.Context, p string) ([]byte, *zk.Stat, error) {
	type answer struct {
		data []byte
		stat *zk.Stat
	}
	a, err := readValue(ctx, z, func() (answer, error) {
		data, stat, err := z.conn.Get(p)
		return answer{data, stat}, err
	})
	return a.data, a.stat, err
}

// children lists the children of node p.
func (z *ZK) children(ctx context.Context, p string) ([]string, error) {
	return readValue(ctx, z, func() ([]string, error) {
		names, _, err := z.conn.Children(p)
		return names, err
	})
}

// getAll reads the children names of dir, fetchParallel at a time, and
// returns their data by name. A child deleted meanwhile is left out.
func (z *ZK) getAll(ctx context.Context, dir string, names []string) (map[string][]byte, error) {
	var (
		mu    sync.Mutex
		out   = make(map[string][]byte, len(names))
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, fetchParallel)
	for _, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			node := dir + "/" + name
			var data []byte
			err := z.read(ctx, func() error {
				var err error
				data, _, err = z.conn.Get(node)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, zk.ErrNoNode):
			case err != nil:
				if first == nil {
					first = fmt.Errorf("reading %s: %w", node, err)
				}
			default:
				out[name] = data
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

// multiErr is the error of a ZooKeeper transaction: the request's, or the
// first failed operation's.
func multiErr(res []zk.MultiResponse, err error) error {
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}
