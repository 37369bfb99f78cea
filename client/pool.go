package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// artifact is the program being shipped.
type artifact struct {
	Path   string
	SHA256 string
	Size   int64
	Kind   string
	Name   string
}

// hashArtifact hashes the file at path, or takes its hash from the
// user's cache when the file is unchanged since it was hashed there.
func hashArtifact(path, kind string) (*artifact, error) {
	sum, size, err := userHashCache().hash(path)
	if err != nil {
		return nil, err
	}
	return &artifact{Path: path, SHA256: sum, Size: size, Kind: kind, Name: filepath.Base(path)}, nil
}

// pool keeps one session per worker and ships the artifact to each worker
// at most once.
type pool struct {
	opts proto.Options
	prog *program // what to ship: every artifact of the job
	job  string

	// onLost, when set, hears of every session that dies while the pool
	// is open: the worker is gone for this job.
	onLost func(id, why string)

	// dataIn and dataOut count the job's data bytes the client carried:
	// input splits it sent to workers and output parts it fetched from
	// them (every attempt's, also those that failed).
	dataIn, dataOut atomic.Int64

	mu       sync.Mutex
	conns    map[string]*workerConn // by worker id
	dialErrs map[string]error       // why dialing a worker failed, by id (unusable.go)
	closing  chan struct{}          // closed by close: sessions end on purpose
	watches  sync.WaitGroup
}

// shipment is one upload (or cache hit) of the artifact to one worker.
type shipment struct {
	step sharedStep
}

type workerConn struct {
	dial sharedStep
	sess *proto.Session // set by the dial, read once it has settled

	shipment  *shipment    // guarded by pool.mu; nil until the first ship
	reshipped bool         // guarded by pool.mu
	shipped   atomic.Int64 // artifact bytes sent
}

func newPool(opts proto.Options, prog *program, job string) *pool {
	return &pool{opts: opts, prog: prog, job: job, conns: map[string]*workerConn{}, closing: make(chan struct{})}
}

// watch reports the session's death to onLost unless the pool is closing.
func (p *pool) watch(id string, s *proto.Session) {
	p.watches.Add(1)
	go func() {
		defer p.watches.Done()
		select {
		case <-s.Done():
			if p.onLost != nil {
				p.onLost(id, "session to "+s.Addr+" ended")
			}
		case <-p.closing:
		}
	}()
}

// session returns the live session to w, dialing it on first use. A session
// that has died is not redialled: its worker is lost for this job.
func (p *pool) session(ctx context.Context, w registry.WorkerInfo) (*proto.Session, *workerConn, error) {
	p.mu.Lock()
	c := p.conns[w.ID]
	if c == nil {
		c = &workerConn{}
		p.conns[w.ID] = c
	}
	p.mu.Unlock()
	err := c.dial.do(ctx, func() error {
		s, err := proto.Dial(ctx, w.Addr, p.opts)
		if err == nil {
			c.sess = s
			p.watch(w.ID, s)
		} else if ctx.Err() == nil {
			p.noteDialError(w.ID, err)
		}
		return err
	})
	if err != nil {
		return nil, c, err
	}
	if c.sess.IsClosed() {
		return nil, c, fmt.Errorf("%w: worker %s (%s)", proto.ErrSessionClosed, w.ID, w.Addr)
	}
	return c.sess, c, nil
}

// drop closes the session to worker id, which left the registry: a hung
// worker's session could otherwise take the keepalive timeout to die,
// and the calls on it with it. The worker stays lost for this job.
func (p *pool) drop(id string) {
	p.mu.Lock()
	c := p.conns[id]
	p.mu.Unlock()
	if c == nil {
		return
	}
	p.watches.Add(1)
	go func() { // a dial in progress is waited for
		defer p.watches.Done()
		c.dial.settle(fmt.Errorf("%w: worker %s left the registry", proto.ErrSessionClosed, id))
		if s := c.session(); s != nil {
			s.Close()
		}
	}()
}

// ship makes sure the worker holds the artifact: one HasArtifact round
// trip when it is cached, an upload otherwise.
func (p *pool) ship(ctx context.Context, s *proto.Session, c *workerConn) error {
	p.mu.Lock()
	sh := c.shipment
	if sh == nil {
		sh = &shipment{}
		c.shipment = sh
	}
	p.mu.Unlock()
	return sh.step.do(ctx, func() error { return p.upload(ctx, s, c) })
}

// upload ships every artifact of the job (one, or an exec job's commands).
func (p *pool) upload(ctx context.Context, s *proto.Session, c *workerConn) error {
	for _, a := range p.prog.artifacts() {
		if err := p.uploadOne(ctx, s, c, a); err != nil {
			return err
		}
	}
	return nil
}

func (p *pool) uploadOne(ctx context.Context, s *proto.Session, c *workerConn, art *artifact) error {
	var has proto.HasArtifactReply
	if err := s.Call(ctx, proto.OpHasArtifact, p.job, &proto.ArtifactRequest{SHA256: art.SHA256}, &has); err != nil {
		return err
	}
	if has.Present {
		return nil
	}
	f, err := os.Open(art.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := s.Open(ctx, proto.OpPutArtifact, p.job, &proto.PutArtifactRequest{SHA256: art.SHA256, Size: art.Size})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := io.CopyBuffer(st, io.LimitReader(f, art.Size), make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("upload %s to worker %s: %w", art.Name, s.Addr, err)
	}
	if n != art.Size {
		return fmt.Errorf("upload %s: file changed while shipping (%d of %d bytes)", art.Name, n, art.Size)
	}
	c.shipped.Add(n)
	var r proto.Reply
	return s.ReadReply(ctx, st, proto.OpPutArtifact, &r)
}

// workerInfo asks a worker to describe itself (for --workers, whose list
// holds only addresses).
func (p *pool) workerInfo(ctx context.Context, addr string) (registry.WorkerInfo, error) {
	s, err := proto.Dial(ctx, addr, p.opts)
	if err != nil {
		return registry.WorkerInfo{}, err
	}
	var r proto.InfoReply
	if err := s.Call(ctx, proto.OpInfo, "", &proto.InfoRequest{}, &r); err != nil {
		s.Close()
		return registry.WorkerInfo{}, err
	}
	c := &workerConn{sess: s}
	c.dial.settle(nil)
	p.mu.Lock()
	if p.conns[r.Info.ID] == nil {
		p.conns[r.Info.ID] = c
		p.watch(r.Info.ID, s)
	} else {
		s.Close()
	}
	p.mu.Unlock()
	return r.Info, nil
}

// reship forgets that c holds the artifact, once per connection, so the
// next ship uploads it again; it reports whether it did.
func (p *pool) reship(c *workerConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.reshipped {
		return false
	}
	c.reshipped = true
	c.shipment = nil
	return true
}

// bytesShipped sums artifact bytes uploaded.
func (p *pool) bytesShipped() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, c := range p.conns {
		n += c.shipped.Load()
	}
	return n
}

// close ends the job on every worker (removing its task directories) and
// closes the sessions.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string]*workerConn{}
	close(p.closing)
	p.mu.Unlock()
	defer p.watches.Wait()
	var wg sync.WaitGroup
	for _, c := range conns {
		if c.sess == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r proto.Reply
			_ = c.sess.Call(ctx, proto.OpEndJob, p.job, &proto.EndJobRequest{Job: p.job}, &r)
			c.sess.Close()
		}()
	}
	wg.Wait()
}

// session is the dialled session, or nil, once the dial has settled.
func (c *workerConn) session() *proto.Session {
	c.dial.mu.Lock()
	defer c.dial.mu.Unlock()
	return c.sess
}

// sharedStep runs a step that every attempt on a worker needs (the dial,
// the artifact upload) once, like sync.Once, except that a run that
// failed because its caller's context ended is forgotten and the next
// caller runs it again. The step belongs to the job, not to the attempt
// that happened to start it: an attempt stopped mid-upload (a lost race,
// an early reduce giving its slot to a map) must not fail every later
// attempt on that worker with its "context canceled".
type sharedStep struct {
	mu      sync.Mutex // held while the step runs: callers wait for it
	settled bool
	err     error
}

func (s *sharedStep) do(ctx context.Context, step func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settled {
		return s.err
	}
	err := step()
	if err != nil && ctx.Err() != nil {
		return err // this caller gave up; not the step's verdict
	}
	s.settled, s.err = true, err
	return err
}

// settle fixes the step's result to err unless it has settled already.
func (s *sharedStep) settle(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.settled {
		s.settled, s.err = true, err
	}
}

// closeSessions closes the sessions without ending the job on the
// workers: for a detached job, whose master runs it there later.
func (p *pool) closeSessions() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string]*workerConn{}
	close(p.closing)
	p.mu.Unlock()
	for _, c := range conns {
		if s := c.session(); s != nil {
			s.Close()
		}
	}
	p.watches.Wait()
}
