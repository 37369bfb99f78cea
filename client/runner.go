package client

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// runner runs tracker attempts on workers through the pool.
type runner struct {
	job    string
	cfg    *Config
	pool   *pool
	splits []split
	local  *localfs.FS // reads the splits of local inputs it sends
	out    *staging    // a local output: where parts are fetched or placed
	s3out  *s3Output   // an S3 output: where workers upload parts
	order  *spec.Order // a totally ordered job's cut points (order.go), set before the maps

	mu         sync.Mutex
	notInPlace map[string]bool // workers that said they cannot read the client's files in place
}

var (
	_ tracker.Runner     = (*runner)(nil)
	_ tracker.SlotWaiter = (*runner)(nil)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Run implements tracker.Runner.
func (r *runner) Run(ctx context.Context, a tracker.Attempt) tracker.Outcome {
	e := r.run(ctx, a)
	e.stopped = ctx.Err() != nil
	return outcomeOf(e, func() bool {
		_, _, err := r.pool.session(ctx, a.Worker)
		return err == nil
	})
}

// run takes the attempt as far as it goes; outcomeOf says what its end
// means.
func (r *runner) run(ctx context.Context, a tracker.Attempt) attemptEnd {
	s, c, err := r.pool.session(ctx, a.Worker)
	if err != nil {
		return attemptEnd{step: connecting, err: err}
	}
	if err := r.pool.ship(ctx, s, c); err != nil {
		return attemptEnd{step: shipping, err: err}
	}
	ref := proto.AttemptRef{Job: r.job, Task: a.Task.ID(), Attempt: a.N}
	cfg := spec.Config{
		Job: r.job, Task: ref.Task, Attempt: a.N, Phase: a.Task.Phase, Index: a.Task.Index,
		Reduces: r.cfg.Reduces, InputFormat: r.cfg.InputFormat, OutputFormat: "text",
		Params: r.cfg.Params, SortBuffer: r.cfg.SortBuffer,
	}
	switch {
	case a.Task.Phase == spec.PhaseSample:
		cfg.Order = &spec.Order{}
	case a.Task.Phase == spec.PhaseMap && cfg.Reduces > 0:
		cfg.Order = r.order
	}
	req := proto.LaunchRequest{Config: cfg, Hosted: r.cfg.Journal != nil}
	req.Artifact, req.Extra = r.pool.prog.refs(a.Task.Phase)
	req.Files = r.pool.prog.fileRefs()
	switch {
	case a.Task.Phase == spec.PhaseMap && r.splits[a.Task.Index].None:
		req.Config.Split = spec.Split{Tasks: len(r.splits)}
	case a.Task.Phase.ReadsSplit():
		sp := r.splits[a.Task.Index]
		req.Input = r.inputSource(sp, a.Worker)
		if req.Input == nil {
			if err := r.putInput(ctx, s, ref, sp); err != nil {
				return attemptEnd{step: sendingInput, err: err}
			}
		}
		req.Config.Split = spec.Split{File: spec.SplitFile, Name: sp.Name, Offset: sp.Offset, Length: sp.Length}
		if len(sp.Pieces) > 0 {
			req.Config.Split = packedConfig(sp)
		}
	default:
		req.Fetch = fetchList(a)
	}
	part := spec.PartName(a.Task.Index)
	if r.producesOutput(a.Task.Phase) {
		req.Output = r.outputTarget(a.Worker, ref, part)
	}
	var sr *streamed
	if a.Feed != nil {
		sr = &streamed{feed: a.Feed, part: a.Task.Index, inputs: a.Inputs}
		req.Maps = a.Feed.Maps()
	}
	ev, ran, err := r.launch(ctx, s, &req, sr)
	if proto.IsCode(err, proto.CodeInputChanged) && req.Input != nil && req.Input.Kind == string(storage.Local) && unchanged(r.splits[a.Task.Index]) {
		// The file is as the job listed it here: the worker, sharing the
		// host's id, sees another file at that path (a container with
		// its own mounts). It is not the input that changed.
		err = &proto.Error{Code: proto.CodeNotHere, Message: fmt.Sprintf("worker %s sees another file at %s than the client: %v", a.Worker.ID, r.splits[a.Task.Index].label(), err)}
	}
	if proto.IsCode(err, proto.CodeNotHere) && req.Input != nil && req.Input.Kind == string(storage.Local) {
		// The worker shares the client's host id but does not see its
		// files (a container, another mount namespace) or will not open
		// them (--run-as): from now on it is sent its splits. Refused
		// before it ran, this attempt is sent its split at once; refused
		// later, the attempt fails and its retry is sent it.
		r.mu.Lock()
		r.notInPlace[a.Worker.ID] = true
		r.mu.Unlock()
	}
	if proto.IsCode(err, proto.CodeNotHere) && !ran && req.Input != nil && req.Input.Kind == string(storage.Local) {
		req.Input = nil
		if err := r.putInput(ctx, s, ref, r.splits[a.Task.Index]); err != nil {
			return attemptEnd{step: sendingInput, err: err}
		}
		ev, ran, err = r.launch(ctx, s, &req, sr)
	}
	if proto.IsCode(err, proto.CodeNotFound) && ev != nil && ev.ExitCode == 0 && r.pool.reship(c) {
		// The worker's cache evicted the artifact since we shipped it.
		// Shipping it again is part of the launch.
		if err = r.pool.ship(ctx, s, c); err == nil {
			ev, ran, err = r.launch(ctx, s, &req, sr)
		}
	}
	if err != nil {
		return attemptEnd{step: launching, err: err, ev: ev, ran: ran}
	}
	if r.producesOutput(a.Task.Phase) {
		var err error
		switch {
		case r.s3out != nil:
			err = r.s3out.uploaded(ref.Task, ref.Attempt, part, ev.Result, ev.Upload)
		case ev.Placed && req.Output != nil:
			err = r.out.placed(ref.Task, ref.Attempt, part, ev.Result)
		default:
			err = r.fetchOutput(ctx, s, ref, a.Task.Index, ev.Result)
		}
		if err != nil {
			return attemptEnd{step: fetching, err: err}
		}
	}
	return attemptEnd{step: fetching, ev: ev}
}

// WaitSlot implements tracker.SlotWaiter: it asks worker w to answer once
// it has a slot for this job (see docs/PROTOCOL.md, "Sharing workers").
func (r *runner) WaitSlot(ctx context.Context, w registry.WorkerInfo) error {
	s, _, err := r.pool.session(ctx, w)
	if err != nil {
		return err
	}
	var rep proto.WaitSlotReply
	return slotWaitErr(s.Call(ctx, proto.OpWaitSlot, r.job, &proto.WaitSlotRequest{Job: r.job}, &rep))
}

func (r *runner) producesOutput(p spec.Phase) bool {
	return p == spec.PhaseReduce || p == spec.PhaseMap && r.cfg.Reduces == 0
}

func fetchList(a tracker.Attempt) []proto.MapOutput {
	var out []proto.MapOutput
	for _, in := range a.Inputs {
		out = append(out, mapOutput(in, a.Task.Index))
	}
	return out
}

// mapOutput locates partition part of a committed map attempt's output.
func mapOutput(in tracker.MapLoc, part int) proto.MapOutput {
	mo := proto.MapOutput{WorkerID: in.Worker.ID, Addr: in.Worker.Addr,
		Task: spec.TaskID(spec.PhaseMap, in.Map), Attempt: in.Attempt, Partition: part}
	for _, f := range in.Result.Outputs {
		if f.Partition == part {
			mo.Size, mo.CRC32C = f.Size, f.CRC32C
		}
	}
	return mo
}

// inputSource says where the worker reads a map's split itself, or nil
// when the client sends it: S3 objects and worker: files are read where
// they are, a local file in place by a worker on the client's host.
func (r *runner) inputSource(sp split, w registry.WorkerInfo) *proto.InputSource {
	if sp.Obj.Kind == storage.Local {
		r.mu.Lock()
		refused := r.notInPlace[w.ID]
		r.mu.Unlock()
		if w.Host == "" || w.Host != storage.HostID() || refused {
			return nil
		}
	}
	if len(sp.Pieces) > 0 {
		src := packedSource(sp, sourceName)
		if sp.Obj.Kind == storage.Local {
			src.Host = w.Host
		}
		return src
	}
	src := &proto.InputSource{Kind: string(sp.Obj.Kind), Name: sourceName(sp), Offset: sp.Offset, Length: sp.Length,
		Size: sp.Obj.Size, Version: sp.Obj.Version, Lines: sp.Lines}
	if sp.Obj.Kind == storage.Local {
		src.Host = w.Host
	}
	return src
}

// sourceName is what the worker calls a file: an S3 URL, a path under its
// data dir, a local file's absolute path.
func sourceName(sp split) string {
	switch sp.Obj.Kind {
	case storage.Worker:
		return strings.TrimPrefix(sp.Obj.Name, storage.WorkerPrefix)
	case storage.Local:
		return sp.Path
	}
	return sp.Obj.Name
}

// outputTarget says where the worker puts an attempt's part itself: an
// S3 upload, or the staging directory when it shares the client's host;
// nil when the client fetches it.
func (r *runner) outputTarget(w registry.WorkerInfo, ref proto.AttemptRef, part string) *proto.OutputTarget {
	if r.s3out != nil {
		return r.s3out.target(w, ref.Task, ref.Attempt, part)
	}
	if w.Host == "" || w.Host != storage.HostID() {
		return nil
	}
	return &proto.OutputTarget{Kind: string(storage.Local), Name: r.out.attemptDir(ref.Task, ref.Attempt), Host: w.Host}
}

// putInput sends a local split to the worker. localfs refuses a file
// whose size or modification time differ from when the job listed it,
// when it opens the range and again at its end: its splits were cut on
// the old contents, and reading the new would mix two versions into one
// answer. A packed split goes as its files one after another, each
// checked so.
func (r *runner) putInput(ctx context.Context, s *proto.Session, ref proto.AttemptRef, sp split) error {
	if sp.Obj.Kind != storage.Local {
		return fmt.Errorf("input %s is not on the client's machine", sp.label())
	}
	pieces := sp.Pieces
	if pieces == nil {
		pieces = []split{sp}
	}
	// The first file is opened before the stream, so that a changed or
	// unreadable input fails the attempt before the worker stages any.
	rc, err := r.openLocal(ctx, pieces[0])
	if err != nil {
		return err
	}
	defer func() {
		if rc != nil {
			rc.Close() // read-only: a close error loses nothing
		}
	}()
	st, err := s.Open(ctx, proto.OpPutInput, ref.Job, &proto.PutInputRequest{AttemptRef: ref, Size: sp.Length})
	if err != nil {
		return err
	}
	defer st.Close()
	buf := make([]byte, 256<<10)
	for i, p := range pieces {
		if i > 0 {
			rc.Close()
			if rc, err = r.openLocal(ctx, p); err != nil {
				return err
			}
		}
		n, err := io.CopyBuffer(st, rc, buf)
		r.pool.dataIn.Add(n)
		if errors.Is(err, storage.ErrChanged) {
			return fmt.Errorf("%w: %w", errInputChanged, err)
		}
		if err != nil {
			return fmt.Errorf("send input %s to worker %s: %w", p.Name, s.Addr, err)
		}
	}
	var rep proto.Reply
	return s.ReadReply(ctx, st, proto.OpPutInput, &rep)
}

// openLocal opens the range of a local file a split reads, refusing a
// file that changed since the job listed it.
func (r *runner) openLocal(ctx context.Context, sp split) (io.ReadCloser, error) {
	rc, err := r.local.Open(ctx, sp.Obj, sp.Offset, sp.Length)
	if errors.Is(err, storage.ErrChanged) {
		return nil, fmt.Errorf("%w: %w", errInputChanged, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read input %s: %w", sp.Name, err)
	}
	return rc, nil
}

// launch starts the attempt and follows its events to the final one. On
// failure it returns the final event too (for the stderr tail). ran says
// the worker admitted the attempt (it sent an event before the final
// one); a launch it refused did not run. A reduce launched before every
// map was done (sr != nil) has its map updates passed on while it runs
// (feed.go).
func (r *runner) launch(ctx context.Context, s *proto.Session, req *proto.LaunchRequest, sr *streamed) (ev *proto.Event, ran bool, err error) {
	if sr != nil {
		req.Fetch = sr.fetch()
	}
	send, rest := splitFetch(*req)
	st, err := s.Open(ctx, proto.OpLaunch, req.Config.Job, &send)
	if err != nil {
		return nil, false, err
	}
	defer st.Close()
	if sr != nil || len(rest) > 0 {
		stop := forward(ctx, st, rest, sr)
		defer stop()
	}
	for {
		var ev proto.Event
		if err := proto.ReadFrame(st, proto.MaxFrame, &ev); err != nil {
			if ctx.Err() != nil {
				return nil, ran, context.Cause(ctx)
			}
			return nil, ran, fmt.Errorf("%s on worker %s: %w", req.Config.Task, s.Addr, err)
		}
		if !ev.Final {
			ran = true
			continue
		}
		if ev.Error != nil {
			return &ev, ran, ev.Error
		}
		if ev.Result == nil || ev.Result.Status != spec.StatusOK {
			return &ev, ran, fmt.Errorf("%s on worker %s ended without a result", req.Config.Task, s.Addr)
		}
		return &ev, ran, nil
	}
}

// fetchOutput copies the attempt's output file into the job's staging
// directory (commit.go), synced, and records its size and checksum.
func (r *runner) fetchOutput(ctx context.Context, s *proto.Session, ref proto.AttemptRef, index int, res *spec.Result) error {
	name := spec.PartName(index)
	st, err := s.Open(ctx, proto.OpFetchOutput, ref.Job, &proto.FetchOutputRequest{AttemptRef: ref, Name: name})
	if err != nil {
		return err
	}
	defer st.Close()
	var rep proto.BodyReply
	if err := s.ReadReply(ctx, st, proto.OpFetchOutput, &rep); err != nil {
		return err
	}
	part, err := r.out.parts(ref.Task, ref.Attempt).Create(ctx, name)
	if err != nil {
		return err
	}
	cw := &countWriter{}
	err = proto.ReadBody(io.MultiWriter(part, cw), st, rep.Size, 1<<62)
	r.pool.dataOut.Add(cw.n)
	var p storage.Pending
	if err == nil {
		p, err = part.Finish()
	} else {
		part.Abort()
	}
	if err != nil {
		return fmt.Errorf("fetch %s of %s from worker %s: %w", name, ref.Task, s.Addr, err)
	}
	for _, out := range res.Outputs {
		if out.Name == name && (out.Size != rep.Size || out.CRC32C != rep.CRC32C) {
			return fmt.Errorf("fetch %s of %s from worker %s: %w: the task reported %d bytes CRC %08x, the worker served %d bytes CRC %08x",
				name, ref.Task, s.Addr, errChecksum, out.Size, out.CRC32C, rep.Size, rep.CRC32C)
		}
	}
	if p.CRC32C != rep.CRC32C {
		return fmt.Errorf("fetch %s of %s from worker %s: %w: CRC-32C %08x, worker said %08x",
			name, ref.Task, s.Addr, errChecksum, p.CRC32C, rep.CRC32C)
	}
	r.out.fetchedPart(ref.Task, ref.Attempt, ManifestPart{Name: name, Size: p.Size, CRC32C: p.CRC32C})
	return nil
}

var errChecksum = errors.New("checksum mismatch")

// errInputChanged marks an input that is not as the job listed it: no
// retry can help, the job fails (outcome.go).
var errInputChanged = errors.New("input changed")

// unchanged reports whether a local input is still as the job listed it:
// every file of a packed split.
func unchanged(sp split) bool {
	if len(sp.Pieces) > 0 {
		for _, p := range sp.Pieces {
			if !unchanged(p) {
				return false
			}
		}
		return true
	}
	f, err := os.Open(sp.Path)
	if err != nil {
		return false
	}
	defer f.Close()
	return localfs.Check(f, sp.Obj) == nil
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
