package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"
	"github.com/vmihailenco/msgpack/v5"
)

// A job's plan and journal. ZooKeeper keeps a node's data under 1 MiB, so
// a plan of any size is stored as chunks <id>/plan/<writer>-00000,
// <writer>-00001, ... of at most maxChunk bytes, and <id>/plan's own data
// is a marker naming the writer, the chunk count, and the size and
// SHA-256 of the whole. The marker is written last: until it is, JobPlan
// says there is no plan, never half of one.
//
// A job has one plan. Writing it again with the same bytes is a no-op; a
// different plan is refused with ErrPlanExists (a master taking a job over
// must recover with the plan its journal refers to). Writers that race (a
// master that has not noticed it lost the job, and its successor) each
// write their own chunks, named by a random writer token, and set the
// marker at the version of the empty marker they read: one of them wins,
// the others find its marker. Nobody waits for anybody, and a writer that
// died half-way only leaves chunks, which the winner deletes.

// maxChunk bounds a plan chunk, a spec and a journal entry: half of
// ZooKeeper's default 1 MiB limit on a request.
const maxChunk = 512 << 10

// maxChunks bounds a plan's chunk count (five-digit names).
const maxChunks = 100000

// planMarker is the data of <id>/plan once a plan is stored; no data
// means no plan.
type planMarker struct {
	Writer string `msgpack:"writer"` // the chunks' name prefix
	Chunks int    `msgpack:"chunks"`
	Size   int64  `msgpack:"size"`
	SHA    string `msgpack:"sha"` // hex SHA-256 of the plan
}

func chunkName(writer string, i int) string { return fmt.Sprintf("%s-%05d", writer, i) }

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
	mine := planMarker{
		Writer: strconv.FormatUint(writeToken(), 16),
		Chunks: chunks,
		Size:   int64(len(plan)),
		SHA:    hex.EncodeToString(sum[:]),
	}
	cur, stat, err := z.planMarker(ctx, id)
	if err != nil {
		return err
	}
	if cur.Writer == "" {
		err := z.putChunks(ctx, id, mine.Writer, plan)
		if err == nil {
			cur, err = z.setPlanMarker(ctx, id, mine, stat.Version)
		}
		if err != nil {
			z.dropChunks(ctx, id, func(name string) bool { return isChunkOf(name, mine.Writer) })
			return err
		}
	}
	z.dropChunks(ctx, id, func(name string) bool { return !isChunkOf(name, cur.Writer) })
	if cur.SHA != mine.SHA || cur.Size != mine.Size {
		return fmt.Errorf("storing the plan of job %q: %w (%d bytes, sha256 %s): recover with JobPlan", id, ErrPlanExists, cur.Size, cur.SHA)
	}
	return nil
}

// planMarker reads the marker of job id's plan.
func (z *ZK) planMarker(ctx context.Context, id string) (planMarker, *zk.Stat, error) {
	p := z.spec.JobPath(id) + "/plan"
	data, stat, err := z.get(ctx, p)
	if errors.Is(err, zk.ErrNoNode) {
		return planMarker{}, nil, fmt.Errorf("job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return planMarker{}, nil, fmt.Errorf("reading the plan of job %q at %s: %w", id, p, err)
	}
	var m planMarker
	if len(data) > 0 {
		if err := unmarshal(data, &m); err != nil || m.Writer == "" {
			return planMarker{}, nil, fmt.Errorf("%w %q: plan marker: %v", ErrMalformedJob, id, err)
		}
	}
	return m, stat, nil
}

// setPlanMarker sets the marker m at version, and returns the marker the
// node holds then: m, or the one another writer set first.
func (z *ZK) setPlanMarker(ctx context.Context, id string, m planMarker, version int32) (planMarker, error) {
	p := z.spec.JobPath(id) + "/plan"
	data, err := msgpack.Marshal(&m)
	if err != nil {
		return planMarker{}, err
	}
	err = z.write(ctx, func() error {
		_, err := z.conn.Set(p, data, version)
		return err
	})
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, zk.ErrBadVersion):
		// Another writer's marker, or this one's, set by a request
		// retried after a connection loss.
		cur, _, err := z.planMarker(ctx, id)
		if err == nil && cur.Writer == "" {
			err = fmt.Errorf("storing the plan of job %q: its node changed but holds no plan: was the job deleted and created again?", id)
		}
		return cur, err
	case errors.Is(err, zk.ErrNoNode):
		return planMarker{}, fmt.Errorf("job %q: %w", id, ErrNoJob)
	default:
		return planMarker{}, fmt.Errorf("storing the plan of job %q at %s: %w", id, p, zkAuthErr(err))
	}
}

// putChunks writes plan's chunks under the writer's names.
func (z *ZK) putChunks(ctx context.Context, id, writer string, plan []byte) error {
	dir := z.spec.JobPath(id) + "/plan"
	acl := z.acl()
	for i := 0; len(plan) > 0; i++ {
		chunk := plan[:min(len(plan), maxChunk)]
		plan = plan[len(chunk):]
		p := dir + "/" + chunkName(writer, i)
		err := z.write(ctx, func() error {
			_, err := z.conn.Create(p, chunk, 0, acl)
			return err
		})
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			// Exists: this writer's create, retried after a connection loss.
		case errors.Is(err, zk.ErrNoNode):
			return fmt.Errorf("job %q: %w", id, ErrNoJob)
		default:
			return fmt.Errorf("storing the plan of job %q at %s: %w", id, p, zkAuthErr(err))
		}
	}
	return nil
}

func isChunkOf(name, writer string) bool { return strings.HasPrefix(name, writer+"-") }

// dropChunks deletes the plan chunks drop selects: those of writers that
// lost or died. Failures leave them be: readers read the chunks the
// marker names.
func (z *ZK) dropChunks(ctx context.Context, id string, drop func(name string) bool) {
	dir := z.spec.JobPath(id) + "/plan"
	names, err := z.children(ctx, dir)
	if err != nil {
		return
	}
	for _, name := range names {
		if !drop(name) {
			continue
		}
		p := dir + "/" + name
		if err := z.write(ctx, func() error { return z.conn.Delete(p, -1) }); err != nil && !errors.Is(err, zk.ErrNoNode) {
			z.log.Warn("cannot delete a stale plan chunk", "node", p, "err", err)
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
	if err != nil || m.Writer == "" {
		return nil, false, err
	}
	dir := z.spec.JobPath(id) + "/plan"
	names := make([]string, m.Chunks)
	for i := range names {
		names[i] = chunkName(m.Writer, i)
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
