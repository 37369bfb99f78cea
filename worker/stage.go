package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/internal/queue"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Staging a reduce attempt's inputs. The launch lists the map outputs to
// fetch; a streamed launch (LaunchRequest.Maps > 0) names only those that
// existed when it was sent and the client sends the rest, and news of
// lost ones, in FetchMore frames while the attempt waits (see
// docs/PROTOCOL.md). Either way exactly one attempt's output per map task
// is staged, and the program starts once all are.

// maxMaps bounds LaunchRequest.Maps.
const maxMaps = 1 << 20

// checkFetch refuses a malformed fetch list: bad names, or one map task
// listed twice. For a streamed launch (maps > 0) every task must also be
// one of the maps' and every output of partition part.
func (w *Worker) checkFetch(fetch []proto.MapOutput, maps, part int) error {
	seen := make(map[string]bool, len(fetch))
	for _, mo := range fetch {
		if err := w.checkMapOutput(mo, maps, part); err != nil {
			return err
		}
		if seen[mo.Task] {
			return proto.Errorf(proto.CodeBadRequest,
				"map output of task %s is listed twice", mo.Task)
		}
		seen[mo.Task] = true
	}
	return nil
}

// checkMapOutput refuses one malformed map output location.
func (w *Worker) checkMapOutput(mo proto.MapOutput, maps, part int) error {
	if err := checkName("map task id", mo.Task); err != nil {
		return err
	}
	if err := checkName("worker id", mo.WorkerID); err != nil {
		return err
	}
	if mo.Attempt < 0 || mo.Partition < 0 || mo.Size < 0 {
		return proto.Errorf(proto.CodeBadRequest,
			"map output of task %s has a negative attempt, partition or size", mo.Task)
	}
	if mo.WorkerID != w.ID() && mo.Addr == "" {
		return proto.Errorf(proto.CodeBadRequest,
			"map output of task %s is on worker %s but has no address", mo.Task, mo.WorkerID)
	}
	if maps == 0 {
		return nil
	}
	if _, err := mapNumber(mo.Task, maps); err != nil {
		return err
	}
	if mo.Partition != part {
		return proto.Errorf(proto.CodeBadRequest,
			"map output of task %s is partition %d, this reduce is partition %d", mo.Task, mo.Partition, part)
	}
	return nil
}

// mapNumber is the number of map task id, which must be below maps.
func mapNumber(id string, maps int) (int, error) {
	p, i, ok := spec.ParseTaskID(id)
	if !ok || p != spec.PhaseMap || i >= maps {
		return 0, proto.Errorf(proto.CodeBadRequest,
			"%q is not one of the %d map tasks of this reduce (m-00000 to %s)", id, maps, spec.TaskID(spec.PhaseMap, maps-1))
	}
	return i, nil
}

// inbox holds the FetchMore frames read from a launch stream until the
// stager takes them. Once closed it drops what arrives: after staging,
// news of maps no longer matters.
type inbox = queue.Queue[proto.FetchMore]

// watchStream reads the client's side of a launch stream: FetchMore
// frames go to the returned inbox, and the end of the stream (the client
// closed it, or its session ended) or a malformed frame kills the
// attempt. The returned stop ends the watch and waits for it.
func (w *Worker) watchStream(st *yamux.Stream, a *attempt) (*inbox, func()) {
	in := queue.New[proto.FetchMore]()
	stopping := make(chan struct{})
	done := make(chan struct{})
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(done)
		for {
			var m proto.FetchMore
			err := proto.ReadFrame(st, proto.MaxFrame, &m)
			if err == nil {
				in.Push(m)
				continue
			}
			select {
			case <-stopping:
			default:
				if errors.Is(err, io.EOF) || errors.Is(err, yamux.ErrStreamClosed) || errors.Is(err, yamux.ErrConnectionReset) ||
					errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, io.ErrUnexpectedEOF) {
					a.kill(errStreamClosed)
				} else {
					a.kill(fmt.Errorf("%w: unreadable frame on the launch stream: %v", errStreamClosed, err))
				}
			}
			return
		}
	}()
	return in, func() {
		close(stopping)
		_ = st.SetReadDeadline(time.Now()) // wakes the read
		<-done
	}
}

// Where a map task's output stands for one reduce attempt.
const (
	queued = iota
	fetching
	staged
)

// mapFetch is one map output a reduce attempt stages.
type mapFetch struct {
	mo     proto.MapOutput
	state  int
	cancel context.CancelFunc // of the fetch in flight
}

type fetchDone struct {
	f   *mapFetch
	err error
}

// stager stages one reduce attempt's map outputs; it is driven by stage.
type stager struct {
	w       *Worker
	a       *attempt
	maps    int // map tasks needed; 0 for a launch that listed them all
	part    int
	byTask  map[string]*mapFetch
	queue   []*mapFetch
	staged  int
	running int // fetches in flight, superseded ones included
	results chan fetchDone
}

// stage fetches the map outputs a reduce attempt needs, FetchParallel at
// a time, and returns them as the task's inputs: paths relative to the
// attempt directory with the size and checksum each map reported, which
// the task checks as it reads (a local output is linked unread). They are
// in the order of req.Fetch, or for a streamed launch in map order. The
// first failure ends staging; missing then names the map output that
// could not be fetched.
func (a *attempt) stage(req *proto.LaunchRequest, in *inbox) (inputs []spec.Input, missing proto.MapOutput, err error) {
	defer in.Close()
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	s := &stager{w: a.w, a: a, maps: req.Maps, part: req.Config.Index,
		byTask: make(map[string]*mapFetch), results: make(chan fetchDone)}
	defer s.stopFetches()
	for _, mo := range req.Fetch {
		s.add(mo)
	}
	want := s.maps
	if want == 0 {
		want = len(req.Fetch)
	}
	for {
		for s.running < a.w.cfg.FetchParallel && len(s.queue) > 0 {
			s.start(ctx, s.queue[0])
			s.queue = s.queue[1:]
		}
		if s.staged == want {
			return s.inputs(req.Fetch), proto.MapOutput{}, nil
		}
		select {
		case <-in.Ready():
			if s.maps == 0 {
				in.Take() // nothing more is expected; ignore it
				continue
			}
			for _, m := range in.Take() {
				if err := s.update(m); err != nil {
					return nil, proto.MapOutput{}, err
				}
			}
		case r := <-s.results:
			s.running--
			if s.byTask[r.f.mo.Task] != r.f { // replaced or lost meanwhile
				os.Remove(filepath.Join(a.dir, inName(r.f.mo)))
				continue
			}
			if r.err != nil {
				mo, code := r.f.mo, proto.CodeFetchFailed
				if errors.Is(r.err, errDamaged) {
					code = proto.CodeChecksum
				}
				return nil, mo, proto.Retryablef(code,
					"%s cannot fetch the output of map task %s attempt %d (partition %d) from worker %s: %v: re-run that map",
					a.key, mo.Task, mo.Attempt, mo.Partition, mo.WorkerID, r.err)
			}
			r.f.state = staged
			s.staged++
			a.log.Debug("map output staged", "map", r.f.mo.Task, "map_attempt", r.f.mo.Attempt, "staged", s.staged, "of", want)
		case <-ctx.Done():
			return nil, proto.MapOutput{}, context.Cause(a.ctx)
		}
	}
}

// update applies one FetchMore frame of a streamed launch.
func (s *stager) update(m proto.FetchMore) error {
	for _, mo := range m.Fetch {
		if err := s.w.checkMapOutput(mo, s.maps, s.part); err != nil {
			return err
		}
		s.add(mo)
	}
	for _, id := range m.Lost {
		if _, err := mapNumber(id, s.maps); err != nil {
			return err
		}
		if f := s.byTask[id]; f != nil && f.state != staged {
			s.forget(f)
		}
	}
	return nil
}

// add queues a map output unless that map task's output is staged or
// this very attempt is already queued or in flight; another attempt that
// is not staged yet is replaced.
func (s *stager) add(mo proto.MapOutput) {
	if f := s.byTask[mo.Task]; f != nil {
		if f.state == staged || f.mo.Attempt == mo.Attempt {
			return
		}
		s.forget(f)
	}
	f := &mapFetch{mo: mo}
	s.byTask[mo.Task] = f
	s.queue = append(s.queue, f)
}

// forget drops a map output that is not staged: out of the queue, or its
// fetch cancelled (its result is then thrown away).
func (s *stager) forget(f *mapFetch) {
	delete(s.byTask, f.mo.Task)
	if f.state == fetching {
		f.cancel()
		return
	}
	for i, q := range s.queue {
		if q == f {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
}

// start fetches f in a goroutine of its own.
func (s *stager) start(ctx context.Context, f *mapFetch) {
	fctx, cancel := context.WithCancel(ctx)
	f.state, f.cancel = fetching, cancel
	s.running++
	go func() {
		defer cancel()
		dst := filepath.Join(s.a.dir, inName(f.mo))
		var err error
		if f.mo.WorkerID == s.w.ID() {
			err = s.w.fetchLocal(s.a.key.job, f.mo, dst)
		} else {
			err = s.w.fetchRemote(fctx, s.a.key.job, f.mo, dst)
		}
		s.results <- fetchDone{f, err}
	}()
}

// stopFetches cancels the fetches still in flight and waits for them;
// their files go with the attempt directory.
func (s *stager) stopFetches() {
	for _, f := range s.byTask {
		if f.state == fetching {
			f.cancel()
		}
	}
	for s.running > 0 {
		r := <-s.results
		r.f.cancel()
		s.running--
	}
}

// inputs lists the staged files: in fetch's order for a launch that
// named them all, in map order for a streamed one.
func (s *stager) inputs(fetch []proto.MapOutput) []spec.Input {
	if s.maps == 0 {
		ins := make([]spec.Input, len(fetch))
		for i, mo := range fetch {
			ins[i] = taskInput(s.byTask[mo.Task].mo)
		}
		return ins
	}
	ins := make([]spec.Input, s.maps)
	for i := range s.maps {
		ins[i] = taskInput(s.byTask[spec.TaskID(spec.PhaseMap, i)].mo)
	}
	return ins
}

// taskInput is a staged map output as its reduce task reads it.
func taskInput(mo proto.MapOutput) spec.Input {
	return spec.Input{File: inName(mo), Map: mo.Task, Attempt: mo.Attempt, Size: mo.Size, CRC32C: mo.CRC32C}
}
