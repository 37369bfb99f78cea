package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-zookeeper/zk"
	"github.com/vmihailenco/msgpack/v5"
)

// A job's plan and journal. ZooKeeper keeps a node's data under 1 MiB, so
// a plan of any size is stored as chunks <id>/plan/00000, 00001, ... of at
// most maxChunk bytes, and <id>/plan's own data is a marker naming the
// chunk count, size and SHA-256 of the whole. The marker is written last:
// until it is, JobPlan says there is no plan, never half of one.
//
// A job has one plan. Writing it again with the same bytes is a no-op; a
// different plan is refused with ErrPlanExists (a master taking a job over
// must recover with the plan its journal refers to). Writers that race
// (a master that has not noticed it lost the job, and its successor) are
// kept apart by the plan node's version: a writer first claims the node
// by setting a claim marker at the version it read, writes each chunk in
// a transaction that checks the node still has its claim's version, and
// finishes by setting the final marker at that same version. Whoever
// claims after it makes its remaining writes fail; a final marker, once
// set, is never claimed over.

// maxChunk bounds a plan chunk, a spec and a journal entry: half of
// ZooKeeper's default 1 MiB limit on a request.
const maxChunk = 512 << 10

// maxChunks bounds a plan's chunk count (five-digit names).
const maxChunks = 100000

// planMarker is the data of <id>/plan: a writer's claim (Done false) or
// the finished plan's description (Done true). No data means no plan.
type planMarker struct {
	Writer uint64 `msgpack:"writer"`
	Done   bool   `msgpack:"done"`
	Chunks int    `msgpack:"chunks"`
	Size   int64  `msgpack:"size"`
	SHA    string `msgpack:"sha"` // hex SHA-256 of the plan
}

func chunkName(i int) string { return fmt.Sprintf("%05d", i) }

// errPlanClaimLost means another writer claimed the plan node meanwhile.
var errPlanClaimLost = errors.New("another writer claimed the plan")

// PutJobPlan stores the plan of job id, chunked; see the comment above
// for what a second write does. ErrNoJob if the job is gone.
func (z *ZK) PutJobPlan(ctx context.Context, id string, plan []byte) error {
	if err := validName("job id", id); err != nil {
		return err
	}
	chunks := (len(plan) + maxChunk - 1) / maxChunk
	if chunks > maxChunks {
		return fmt.Errorf("job %q: the plan is %d bytes, more than %d: split the job", id, len(plan), maxChunks*maxChunk)
	}
	sum := sha256.Sum256(plan)
	final := planMarker{Done: true, Chunks: chunks, Size: int64(len(plan)), SHA: hex.EncodeToString(sum[:])}
	for {
		m, stat, err := z.planMarker(ctx, id)
		if err != nil {
			return err
		}
		if m.Done {
			if m.SHA == final.SHA && m.Size == final.Size {
				return nil
			}
			return fmt.Errorf("storing the plan of job %q: %w (%d bytes, sha256 %s): recover with JobPlan", id, ErrPlanExists, m.Size, m.SHA)
		}
		token := writeToken()
		version, err := z.setPlanMarker(ctx, id, planMarker{Writer: token}, stat.Version)
		if errors.Is(err, errPlanClaimLost) {
			continue
		}
		if err != nil {
			return err
		}
		err = z.putChunks(ctx, id, plan, version)
		if errors.Is(err, errPlanClaimLost) {
			continue
		}
		if err != nil {
			return err
		}
		final.Writer = token
		_, err = z.setPlanMarker(ctx, id, final, version)
		if errors.Is(err, errPlanClaimLost) {
			continue
		}
		if err != nil {
			return err
		}
		z.dropChunksFrom(ctx, id, chunks)
		return nil
	}
}

// planMarker reads the data of <id>/plan.
func (z *ZK) planMarker(ctx context.Context, id string) (planMarker, *zk.Stat, error) {
	p := z.spec.JobPath(id) + "/plan"
	var (
		data []byte
		stat *zk.Stat
	)
	err := z.read(ctx, func() error {
		var err error
		data, stat, err = z.conn.Get(p)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return planMarker{}, nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return planMarker{}, nil, fmt.Errorf("reading the plan of job %q at %s: %w", id, p, err)
	}
	var m planMarker
	if len(data) > 0 {
		if err := unmarshal(data, &m); err != nil {
			return planMarker{}, nil, fmt.Errorf("%w %q: plan marker: %v", ErrMalformedJob, id, err)
		}
	}
	return m, stat, nil
}

// setPlanMarker sets the marker m at version and returns the node's new
// version; errPlanClaimLost if the node is at another version.
func (z *ZK) setPlanMarker(ctx context.Context, id string, m planMarker, version int32) (int32, error) {
	p := z.spec.JobPath(id) + "/plan"
	data, err := msgpack.Marshal(&m)
	if err != nil {
		return 0, err
	}
	attempts := 0
	var stat *zk.Stat
	err = z.write(ctx, func() error {
		attempts++
		var err error
		stat, err = z.conn.Set(p, data, version)
		return err
	})
	if errors.Is(err, zk.ErrBadVersion) && attempts > 1 {
		// The connection failed during the Set: it may have landed.
		if now, st, err := z.planMarker(ctx, id); err == nil && now.Writer == m.Writer && now.Done == m.Done {
			return st.Version, nil
		}
	}
	switch {
	case err == nil:
		return stat.Version, nil
	case errors.Is(err, zk.ErrBadVersion):
		return 0, errPlanClaimLost
	case errors.Is(err, zk.ErrNoNode):
		return 0, fmt.Errorf("job %q: %w", id, ErrNoJob)
	default:
		return 0, fmt.Errorf("storing the plan of job %q at %s: %w", id, p, zkAuthErr(err))
	}
}

// putChunks writes plan's chunks, each in a transaction that checks the
// plan node is still at version (this writer's claim).
func (z *ZK) putChunks(ctx context.Context, id string, plan []byte, version int32) error {
	dir := z.spec.JobPath(id) + "/plan"
	acl := z.acl()
	for i := 0; len(plan) > 0; i++ {
		chunk := plan[:min(len(plan), maxChunk)]
		plan = plan[len(chunk):]
		p := dir + "/" + chunkName(i)
		check := &zk.CheckVersionRequest{Path: dir, Version: version}
		err := z.write(ctx, func() error {
			return multiErr(z.conn.Multi(check, &zk.CreateRequest{Path: p, Data: chunk, Acl: acl}))
		})
		if errors.Is(err, zk.ErrNodeExists) {
			// Left by an earlier writer, or by this one's retried create.
			err = z.write(ctx, func() error {
				return multiErr(z.conn.Multi(check, &zk.SetDataRequest{Path: p, Data: chunk, Version: -1}))
			})
		}
		switch {
		case err == nil:
		case errors.Is(err, zk.ErrBadVersion):
			return errPlanClaimLost
		case errors.Is(err, zk.ErrNoNode):
			return fmt.Errorf("job %q: %w", id, ErrNoJob)
		default:
			return fmt.Errorf("storing the plan of job %q at %s: %w", id, p, zkAuthErr(err))
		}
	}
	return nil
}

// dropChunksFrom deletes chunks numbered n and up, left by a writer that
// wrote a longer plan and lost its claim. Failures only leave them be:
// readers read the chunks the marker names.
func (z *ZK) dropChunksFrom(ctx context.Context, id string, n int) {
	dir := z.spec.JobPath(id) + "/plan"
	names, err := z.children(ctx, dir)
	if err != nil {
		return
	}
	for _, name := range names {
		if i, err := strconv.Atoi(name); err == nil && i >= n {
			p := dir + "/" + name
			if err := z.write(ctx, func() error { return z.conn.Delete(p, -1) }); err != nil && !errors.Is(err, zk.ErrNoNode) {
				z.log.Warn("cannot delete a stale plan chunk", "node", p, "err", err)
			}
		}
	}
}

// JobPlan reads the plan of job id; ok is false while none is stored.
// A plan whose chunks do not add up to its marker's size and SHA-256 is
// ErrMalformedJob.
func (z *ZK) JobPlan(ctx context.Context, id string) (plan []byte, ok bool, err error) {
	if err := validName("job id", id); err != nil {
		return nil, false, err
	}
	m, _, err := z.planMarker(ctx, id)
	if err != nil || !m.Done {
		return nil, false, err
	}
	dir := z.spec.JobPath(id) + "/plan"
	names := make([]string, m.Chunks)
	for i := range names {
		names[i] = chunkName(i)
	}
	datas, err := z.getAll(ctx, dir, names)
	if err != nil {
		return nil, false, fmt.Errorf("reading the plan of job %q: %w", id, err)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(m.Size, maxChunks*maxChunk)))
	for _, name := range names {
		data, ok := datas[name]
		if !ok {
			return nil, false, fmt.Errorf("%w %q: plan chunk %s of %d is missing", ErrMalformedJob, id, name, m.Chunks)
		}
		buf.Write(data)
	}
	sum := sha256.Sum256(buf.Bytes())
	if int64(buf.Len()) != m.Size || hex.EncodeToString(sum[:]) != m.SHA {
		return nil, false, fmt.Errorf("%w %q: the plan's chunks hold %d bytes that do not match its marker (%d bytes, sha256 %s)", ErrMalformedJob, id, buf.Len(), m.Size, m.SHA)
	}
	return buf.Bytes(), true, nil
}

// JournalTask records entry as the journal entry of task in job id,
// replacing an earlier one. Entries are meant to be small (a committed
// task's outcome, well under 4 KiB); more than maxChunk is refused.
func (z *ZK) JournalTask(ctx context.Context, id, task string, entry []byte) error {
	if err := validName("job id", id); err != nil {
		return err
	}
	if err := validName("task", task); err != nil {
		return err
	}
	if len(entry) > maxChunk {
		return fmt.Errorf("job %q task %q: journal entry of %d bytes, more than %d: journal outcomes, not data", id, task, len(entry), maxChunk)
	}
	p := z.spec.JobPath(id) + "/journal/" + task
	acl := z.acl()
	for {
		err := z.write(ctx, func() error {
			_, err := z.conn.Create(p, entry, 0, acl)
			return err
		})
		if errors.Is(err, zk.ErrNodeExists) {
			err = z.write(ctx, func() error {
				_, err := z.conn.Set(p, entry, -1)
				return err
			})
			if errors.Is(err, zk.ErrNoNode) {
				continue // deleted meanwhile: create it
			}
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrNoNode):
			return fmt.Errorf("journaling task %q: job %q: %w", task, id, ErrNoJob)
		default:
			return fmt.Errorf("journaling task %q of job %q at %s: %w", task, id, p, zkAuthErr(err))
		}
	}
}

// JobJournal reads every journal entry of job id, by task.
func (z *ZK) JobJournal(ctx context.Context, id string) (map[string][]byte, error) {
	if err := validName("job id", id); err != nil {
		return nil, err
	}
	dir := z.spec.JobPath(id) + "/journal"
	names, err := z.children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the journal of job %q at %s: %w", id, dir, err)
	}
	out, err := z.getAll(ctx, dir, names)
	if err != nil {
		return nil, fmt.Errorf("reading the journal of job %q: %w", id, err)
	}
	return out, nil
}
