package worker

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/internal/fsx"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// The shuffle: a finished map attempt's out/map-NNNNN files are served to
// reduces (FetchPartition) and its out/ files to clients (FetchOutput); a
// reduce attempt stages the map outputs it needs under in/, from this
// worker by path or from peers over the network.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// copyBuf is the buffer size for bulk copies.
const copyBuf = 256 << 10

// inName is where a reduce stages one map output: in/<task>-<attempt>.
func inName(mo proto.MapOutput) string {
	return filepath.Join(spec.InDir, fmt.Sprintf("%s-%d", mo.Task, mo.Attempt))
}

// fetchLocal stages a map output of this worker by hard link (a copy if
// the file system has none), after checking its size and the checksum its
// map reported. The bytes are not read here: the reduce task checks them
// against that checksum as it reads them.
func (w *Worker) fetchLocal(job string, mo proto.MapOutput, dst string) error {
	src, res, ok := w.finishedOK(attemptKey{job, mo.Task, mo.Attempt})
	if !ok {
		return errors.New("no finished attempt of it on this worker")
	}
	name := spec.MapPartName(mo.Partition)
	f, err := src.files().open(spec.OutDir + "/" + name)
	if err != nil {
		return err
	}
	defer f.Close()
	size, crc, err := fileSum(f, res, name)
	if err != nil {
		return err
	}
	if err := checkSum(mo, size, crc); err != nil {
		return err
	}
	if fsx.LinkOpened(f, dst) == nil { // the file checked, not what its path names now
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return writeFile(dst, f, size, mo.CRC32C)
}

// fetchRemote stages a map output of a peer worker with FetchPartition.
// A cached session that turns out to be dead is dialed again once.
func (w *Worker) fetchRemote(ctx context.Context, job string, mo proto.MapOutput, dst string) error {
	for try := 0; ; try++ {
		s, err := w.peers.get(ctx, mo.Addr)
		if err != nil {
			return err
		}
		if s.WorkerID != mo.WorkerID {
			return fmt.Errorf("%s is now worker %s", mo.Addr, s.WorkerID)
		}
		err = fetchFrom(ctx, s, job, mo, dst)
		if err != nil && errors.Is(err, proto.ErrSessionClosed) && try == 0 && ctx.Err() == nil {
			w.peers.drop(mo.Addr, s)
			continue
		}
		return err
	}
}

func fetchFrom(ctx context.Context, s *proto.Session, job string, mo proto.MapOutput, dst string) error {
	req := proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: job, Task: mo.Task, Attempt: mo.Attempt},
		Partition:  mo.Partition,
	}
	st, err := s.Open(ctx, proto.OpFetchPartition, job, &req)
	if err != nil {
		return err
	}
	defer st.Close()
	var rep proto.BodyReply
	if err := s.ReadReply(ctx, st, proto.OpFetchPartition, &rep); err != nil {
		return err
	}
	if err := checkSum(mo, rep.Size, rep.CRC32C); err != nil {
		return err
	}
	return writeFile(dst, st, rep.Size, mo.CRC32C)
}

// writeFile writes exactly size bytes from r to path and checks their
// CRC-32C; on any failure path is removed.
func writeFile(path string, r io.Reader, size int64, crc uint32) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	h := crc32.New(castagnoli)
	if err := proto.ReadBody(io.MultiWriter(f, h), r, size, size); err != nil {
		return err
	}
	if got := h.Sum32(); got != crc {
		return fmt.Errorf("%w: CRC-32C mismatch: received bytes sum to %08x, the map reported %08x", errDamaged, got, crc)
	}
	return nil
}

// checkSum compares what a source announces with what the map reported.
func checkSum(mo proto.MapOutput, size int64, crc uint32) error {
	if size != mo.Size {
		return fmt.Errorf("%w: size mismatch: the file has %d bytes, the map reported %d", errDamaged, size, mo.Size)
	}
	if crc != mo.CRC32C {
		return fmt.Errorf("%w: CRC-32C mismatch: the file sums to %08x, the map reported %08x", errDamaged, crc, mo.CRC32C)
	}
	return nil
}

// fileSum returns the size and CRC-32C of an output file: from the
// attempt's result when it lists the file with its current size, otherwise
// by reading it (f is left at an unspecified offset).
func fileSum(f *os.File, res *spec.Result, name string) (int64, uint32, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, 0, fmt.Errorf("%s is not a regular file", name)
	}
	if res != nil {
		for _, o := range res.Outputs {
			if o.Name == name && o.Size == fi.Size() {
				return o.Size, o.CRC32C, nil
			}
		}
	}
	h := crc32.New(castagnoli)
	n, err := io.CopyBuffer(h, f, make([]byte, copyBuf))
	if err != nil {
		return 0, 0, err
	}
	return n, h.Sum32(), nil
}

func (w *Worker) handleFetchPartition(st *yamux.Stream, h proto.Header) error {
	var req proto.FetchPartitionRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkRef(h, req.AttemptRef); err != nil {
		return err
	}
	if req.Partition < 0 {
		return proto.Errorf(proto.CodeBadRequest, "partition %d is negative", req.Partition)
	}
	return w.serveOutput(st, attemptKey{req.Job, req.Task, req.Attempt}, spec.MapPartName(req.Partition))
}

func (w *Worker) handleFetchOutput(st *yamux.Stream, h proto.Header) error {
	var req proto.FetchOutputRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkRef(h, req.AttemptRef); err != nil {
		return err
	}
	if err := checkName("output file name", req.Name); err != nil {
		return err
	}
	return w.serveOutput(st, attemptKey{req.Job, req.Task, req.Attempt}, req.Name)
}

// serveOutput sends out/<name> of a successfully finished attempt: a
// BodyReply, then the bytes.
func (w *Worker) serveOutput(st *yamux.Stream, key attemptKey, name string) error {
	a, res, ok := w.finishedOK(key)
	if !ok {
		return notFound("%s of job %s has no finished output on worker %s: it did not run here, failed, or its job ended",
			key, key.job, w.ID())
	}
	f, err := a.files().open(spec.OutDir + "/" + name)
	if errors.Is(err, errUnsafeTaskFile) {
		return notFound("%v", err)
	}
	if err != nil {
		return notFound("%s of job %s has no output file %q on worker %s", key, key.job, name, w.ID())
	}
	defer f.Close()
	size, crc, err := fileSum(f, res, name)
	if err != nil {
		return notFound("%s of job %s: output file %q: %v", key, key.job, name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return internalError("output file %q: %v", name, err)
	}
	if err := proto.WriteFrame(st, &proto.BodyReply{Size: size, CRC32C: crc}); err != nil {
		return nil // the peer is gone
	}
	// From here on only the body may follow: failures just end the stream.
	n, err := io.CopyBuffer(w.idle(st), io.LimitReader(f, size), make([]byte, copyBuf))
	w.metrics.served(name, n)
	if err == nil && n != size {
		err = fmt.Errorf("file shrank to %d of %d bytes", n, size)
	}
	if err != nil {
		a.log.Info("serving output broke off", "file", name, "err", err)
	}
	return nil
}

// peers caches one session per peer worker address for fetches. A session
// that closes is dropped and dialed again on next use.
type peers struct {
	opts   proto.Options
	ctx    context.Context // ends at close: aborts dials
	cancel context.CancelFunc
	wg     sync.WaitGroup // dials in flight

	mu     sync.Mutex
	closed bool
	m      map[string]*peer
}

// peer is one dialed (or being dialed) session; s and err are set before
// ready closes.
type peer struct {
	ready chan struct{}
	s     *proto.Session
	err   error
}

func newPeers(o proto.Options) *peers {
	ctx, cancel := context.WithCancel(context.Background())
	return &peers{opts: o, ctx: ctx, cancel: cancel, m: make(map[string]*peer)}
}

// get returns a live session to addr, dialing one if needed. Dials run on
// their own so a caller whose ctx ends can leave without failing others
// waiting for the same peer.
func (p *peers) get(ctx context.Context, addr string) (*proto.Session, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	pe := p.m[addr]
	if pe != nil && pe.dead() {
		pe = nil
	}
	if pe == nil {
		pe = &peer{ready: make(chan struct{})}
		p.m[addr] = pe
		p.wg.Add(1)
		go p.dial(addr, pe)
	}
	p.mu.Unlock()
	select {
	case <-pe.ready:
		return pe.s, pe.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// dead reports whether a finished dial failed or its session has closed.
// Called with p.mu held.
func (pe *peer) dead() bool {
	select {
	case <-pe.ready:
		return pe.err != nil || pe.s.IsClosed()
	default:
		return false
	}
}

func (p *peers) dial(addr string, pe *peer) {
	defer p.wg.Done()
	s, err := proto.Dial(p.ctx, addr, p.opts)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed && s != nil {
		s.Close()
		s, err = nil, ErrClosed
	}
	pe.s, pe.err = s, err
	close(pe.ready)
}

// drop forgets s if it is still the session cached for addr, and closes it.
func (p *peers) drop(addr string, s *proto.Session) {
	p.mu.Lock()
	if pe := p.m[addr]; pe != nil {
		select {
		case <-pe.ready:
			if pe.s == s {
				delete(p.m, addr)
			}
		default: // a newer dial is in flight
		}
	}
	p.mu.Unlock()
	s.Close()
}

// close ends every peer session and waits for dials in flight.
func (p *peers) close() {
	p.mu.Lock()
	p.closed = true
	var open []*proto.Session
	for _, pe := range p.m {
		select {
		case <-pe.ready:
			if pe.s != nil {
				open = append(open, pe.s)
			}
		default:
		}
	}
	p.m = make(map[string]*peer)
	p.mu.Unlock()
	p.cancel()
	for _, s := range open {
		s.Close()
	}
	p.wg.Wait()
}
