package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

func hashArtifact(path, kind string) (*artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read --app %s: %w", path, err)
	}
	return &artifact{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, Kind: kind, Name: filepath.Base(path)}, nil
}

// pool keeps one session per worker and ships the artifact to each worker
// at most once.
type pool struct {
	opts proto.Options
	art  *artifact
	job  string

	mu    sync.Mutex
	conns map[string]*workerConn // by worker id
}

type workerConn struct {
	once sync.Once // dial
	sess *proto.Session
	err  error

	shipOnce sync.Once // artifact
	shipErr  error
	shipped  atomic.Int64 // artifact bytes sent
}

func newPool(opts proto.Options, art *artifact, job string) *pool {
	return &pool{opts: opts, art: art, job: job, conns: map[string]*workerConn{}}
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
	c.once.Do(func() { c.sess, c.err = proto.Dial(ctx, w.Addr, p.opts) })
	if c.err != nil {
		return nil, c, c.err
	}
	if c.sess.IsClosed() {
		return nil, c, fmt.Errorf("%w: worker %s (%s)", proto.ErrSessionClosed, w.ID, w.Addr)
	}
	return c.sess, c, nil
}

// ship makes sure the worker holds the artifact: one HasArtifact round
// trip when it is cached, an upload otherwise.
func (p *pool) ship(ctx context.Context, s *proto.Session, c *workerConn) error {
	c.shipOnce.Do(func() { c.shipErr = p.upload(ctx, s, c) })
	return c.shipErr
}

func (p *pool) upload(ctx context.Context, s *proto.Session, c *workerConn) error {
	var has proto.HasArtifactReply
	if err := s.Call(ctx, proto.OpHasArtifact, p.job, &proto.ArtifactRequest{SHA256: p.art.SHA256}, &has); err != nil {
		return err
	}
	if has.Present {
		return nil
	}
	f, err := os.Open(p.art.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := s.Open(ctx, proto.OpPutArtifact, p.job, &proto.PutArtifactRequest{SHA256: p.art.SHA256, Size: p.art.Size})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := io.CopyBuffer(st, io.LimitReader(f, p.art.Size), make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("upload %s to worker %s: %w", p.art.Name, s.Addr, err)
	}
	if n != p.art.Size {
		return fmt.Errorf("upload %s: file changed while shipping (%d of %d bytes)", p.art.Name, n, p.art.Size)
	}
	c.shipped.Store(n)
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
	c.once.Do(func() {})
	p.mu.Lock()
	if p.conns[r.Info.ID] == nil {
		p.conns[r.Info.ID] = c
	} else {
		s.Close()
	}
	p.mu.Unlock()
	return r.Info, nil
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
	p.mu.Unlock()
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
