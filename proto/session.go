package proto

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/yamux"
)

// Options configure both ends of a session. The zero value is usable: no
// secret, no TLS, default yamux settings.
type Options struct {
	// Secret is the shared cluster secret; empty disables authentication.
	Secret []byte
	// TLS, when non-nil, wraps the TCP connection (client or server config
	// as the side requires).
	TLS *tls.Config
	// KeepAlive is the yamux ping interval; 0 means DefaultKeepAlive. A
	// peer that stops answering pings is declared gone and the session
	// closes.
	KeepAlive time.Duration
	// Window is the yamux per-stream receive window; 0 means
	// DefaultWindow. Throughput per stream is at most window / round
	// trip (the yamux default, 256 KiB, gives 250 MB/s at 1 ms); a
	// receiver that falls behind buffers up to a window per stream.
	Window uint32
	// HandshakeTimeout bounds the TLS and dist handshakes together; 0
	// means HandshakeTimeout (10s). A peer that connects and says nothing
	// is dropped when it passes.
	HandshakeTimeout time.Duration
}

// DefaultKeepAlive is the yamux ping interval unless Options.KeepAlive
// says otherwise.
const DefaultKeepAlive = 10 * time.Second

// DefaultWindow is the yamux per-stream receive window unless
// Options.Window says otherwise: 4 GB/s per stream at a 1 ms round trip,
// while a worker receiving inputs faster than its disk takes them holds
// at most 4 MiB per stream.
const DefaultWindow = 4 << 20

func (o Options) handshakeTimeout() time.Duration {
	if o.HandshakeTimeout > 0 {
		return o.HandshakeTimeout
	}
	return HandshakeTimeout
}

func (o Options) yamux() *yamux.Config {
	c := yamux.DefaultConfig()
	c.LogOutput = io.Discard
	c.EnableKeepAlive = true
	c.KeepAliveInterval = DefaultKeepAlive
	if o.KeepAlive > 0 {
		c.KeepAliveInterval = o.KeepAlive
	}
	c.ConnectionWriteTimeout = 30 * time.Second
	c.MaxStreamWindowSize = DefaultWindow
	if o.Window >= 256*1024 {
		c.MaxStreamWindowSize = o.Window
	}
	c.StreamOpenTimeout = 30 * time.Second
	return c
}

// Session is the client end of a connection to a worker.
type Session struct {
	Addr     string // the address dialed
	WorkerID string // as the worker named itself in the handshake
	Version  string // the worker's dist version
	ys       *yamux.Session
}

// Dial connects to a worker, runs the handshake and returns the session.
func Dial(ctx context.Context, addr string, o Options) (*Session, error) {
	d := net.Dialer{Timeout: o.handshakeTimeout(), KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to worker %s: %w", addr, err)
	}
	if o.TLS != nil {
		tc := tls.Client(conn, clientTLSFor(o.TLS, addr))
		hctx, cancel := context.WithTimeout(ctx, o.handshakeTimeout())
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with worker %s: %w: %s", addr, err, tlsHint(err))
		}
		conn = tc
	}
	rec := &readErrConn{Conn: conn}
	ys, err := yamux.Client(rec, o.yamux())
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &Session{Addr: addr, ys: ys}
	st, err := s.open(ctx)
	if err != nil {
		return nil, explainHandshake(fmt.Errorf("connect to worker %s: %w", addr, err), addr, o.TLS != nil, hangUp(ys, rec, err))
	}
	// The watchdog closes the whole session: closing only the stream would
	// not wake a read blocked on a silent worker (a yamux Close is a
	// half-close; reads go on until the peer's FIN).
	stop := watchdog(ctx, ys, o.handshakeTimeout())
	w, err := clientHandshake(st, o.Secret, addr)
	stop()
	st.Close()
	if err != nil {
		return nil, explainHandshake(err, addr, o.TLS != nil, hangUp(ys, rec, err))
	}
	s.WorkerID, s.Version = w.WorkerID, w.Version
	return s, nil
}

// watchdog closes c when ctx ends or d passes, until the returned stop is
// called.
func watchdog(ctx context.Context, c io.Closer, d time.Duration) (stop func()) {
	ctx, cancel := context.WithTimeout(ctx, d)
	unhook := context.AfterFunc(ctx, func() { c.Close() })
	return func() { unhook(); cancel() }
}

func (s *Session) open(context.Context) (*yamux.Stream, error) {
	// OpenStream blocks only while the peer's accept backlog is full, and
	// then at most StreamOpenTimeout.
	st, err := s.ys.OpenStream()
	if err != nil {
		if errors.Is(err, yamux.ErrSessionShutdown) {
			return nil, fmt.Errorf("%w: session to %s is closed", ErrSessionClosed, s.Addr)
		}
		return nil, err
	}
	return st, nil
}

// ErrSessionClosed is returned by calls on a session that has ended.
var ErrSessionClosed = errors.New("session closed")

// Stream is one call in progress.
type Stream struct {
	*yamux.Stream
	stop func()
}

// Close ends the call and releases its context watch.
func (s *Stream) Close() error {
	s.stop()
	return s.Stream.Close()
}

// OpenRaw opens a bare call stream and writes nothing on it, for tools and
// tests that write the frames themselves. The stream is closed when ctx
// ends.
func (s *Session) OpenRaw(ctx context.Context) (*Stream, error) {
	st, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	unhook := context.AfterFunc(ctx, func() {
		// A yamux Close is a half-close that leaves blocked reads waiting
		// for the peer; the deadline wakes them (and blocked writes) now.
		_ = st.SetDeadline(time.Now())
		st.Close()
	})
	return &Stream{Stream: st, stop: func() { unhook() }}, nil
}

// Open starts a call: it opens a stream, writes the header and the request.
// The stream is closed when ctx ends.
func (s *Session) Open(ctx context.Context, op, job string, req any) (*Stream, error) {
	cs, err := s.OpenRaw(ctx)
	if err != nil {
		return nil, err
	}
	st := cs.Stream
	err = WriteFrame(st, &Header{Op: op, Job: job})
	if err == nil {
		err = WriteFrame(st, req)
	}
	if err != nil {
		cs.Close()
		if ctx.Err() != nil { // the write failed because ctx closed the stream
			return nil, ctx.Err()
		}
		return nil, s.wrap(op, err)
	}
	return cs, nil
}

// Call performs a call with no bodies: request frame in, reply frame out.
// A reply carrying an error is returned as that *Error.
func (s *Session) Call(ctx context.Context, op, job string, req any, reply Replier) error {
	st, err := s.Open(ctx, op, job, req)
	if err != nil {
		return err
	}
	defer st.Close()
	return s.ReadReply(ctx, st, op, reply)
}

// ReadReply reads the reply frame of a call and returns its error, if any.
func (s *Session) ReadReply(ctx context.Context, st *Stream, op string, reply Replier) error {
	if err := ReadFrame(st, MaxFrame, reply); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.wrap(op, err)
	}
	return reply.WireError().Err()
}

func (s *Session) wrap(op string, err error) error {
	if s.ys.IsClosed() {
		return fmt.Errorf("%s on worker %s: %w", op, s.Addr, ErrSessionClosed)
	}
	return fmt.Errorf("%s on worker %s: %w", op, s.Addr, err)
}

// Done is closed when the session ends (peer gone, keepalive failed, Close).
func (s *Session) Done() <-chan struct{} { return s.ys.CloseChan() }

// IsClosed reports whether the session has ended.
func (s *Session) IsClosed() bool { return s.ys.IsClosed() }

// Close ends the session and every call on it.
func (s *Session) Close() error { return s.ys.Close() }

// Replier is implemented by every reply message.
type Replier interface{ WireError() *Error }

func (r *Reply) WireError() *Error            { return r.Error }
func (r *InfoReply) WireError() *Error        { return r.Error }
func (r *HasArtifactReply) WireError() *Error { return r.Error }
func (r *BodyReply) WireError() *Error        { return r.Error }
func (r *Event) WireError() *Error            { return r.Error }
func (r *WaitSlotReply) WireError() *Error    { return r.Error }
func (r *SubmitJobReply) WireError() *Error   { return r.Error }
func (r *ListDataReply) WireError() *Error    { return r.Error }
func (r *TaskLogsReply) WireError() *Error    { return r.Error }

// hangUpWait bounds how long a failed handshake waits for the worker's
// side of the story (see hangUp).
const hangUpWait = time.Second

// hangUp closes a session whose handshake failed and returns the first
// error its reads saw. A worker that refuses a peer (a TLS alert, a plain
// hang-up on a TLS port) closes the connection, and the write that failed
// here (a broken pipe) may come before the read that says why: so unless
// a read has failed already or the worker said why itself (err is its
// refusal), it waits for the session's reader to end, up to hangUpWait.
func hangUp(ys *yamux.Session, rec *readErrConn, err error) error {
	if rec.err() == nil && !refusal(err) {
		t := time.NewTimer(hangUpWait)
		select {
		case <-ys.CloseChan():
		case <-t.C:
		}
		t.Stop()
	}
	ys.Close()
	return rec.err()
}
