package proto

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/yamux"
)

// CallHeaderTimeout bounds how long an opened call stream may take to send
// its header and request.
const CallHeaderTimeout = 30 * time.Second

// ServerSession is the worker end of a connection.
type ServerSession struct {
	Remote string
	ys     *yamux.Session
}

// Accept runs TLS (if configured), yamux and the handshake on an accepted
// connection. On error the connection is closed.
func Accept(ctx context.Context, conn net.Conn, o Options, workerID string) (*ServerSession, error) {
	remote := conn.RemoteAddr().String()
	deadline := time.Now().Add(o.handshakeTimeout())
	if o.TLS != nil {
		tc := tls.Server(conn, o.TLS)
		hctx, cancel := context.WithDeadline(ctx, deadline)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", remote, err)
		}
		conn = tc
	}
	sc, err := sniff(ctx, conn, deadline)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: %w", remote, err)
	}
	ys, err := yamux.Server(sc, o.yamux())
	if err != nil {
		conn.Close()
		return nil, err
	}
	stop := watchdog(ctx, ys, time.Until(deadline))
	st, err := ys.AcceptStream()
	if err != nil {
		stop()
		ys.Close()
		return nil, fmt.Errorf("handshake with %s: no handshake stream: %w", remote, err)
	}
	err = ServerHandshake(st, o.Secret, workerID)
	stop()
	st.Close()
	if err != nil {
		linger(ctx, ys)
		return nil, fmt.Errorf("handshake with %s: %w", remote, err)
	}
	return &ServerSession{Remote: remote, ys: ys}, nil
}

// handshakeLinger bounds how long a refused peer is given to read the
// refusal and hang up.
const handshakeLinger = 2 * time.Second

// linger closes a session after a refused handshake once the peer has hung
// up, or handshakeLinger has passed, or ctx ends. Closing at once would
// race the refusal (Welcome or Ready with an error) still on its way: a
// close with unread input resets the connection, and the peer would see
// "connection reset" instead of the reason.
func linger(ctx context.Context, ys *yamux.Session) {
	t := time.NewTimer(handshakeLinger)
	defer t.Stop()
	select {
	case <-ys.CloseChan():
	case <-t.C:
	case <-ctx.Done():
	}
	ys.Close()
}

// AcceptStream waits for the next call stream. The caller reads its
// header with ReadCallHeader in the goroutine that serves it, so one slow
// peer stream never holds up the others.
func (s *ServerSession) AcceptStream() (*yamux.Stream, error) {
	return s.ys.AcceptStream()
}

// ReadCallHeader reads a call's header frame within CallHeaderTimeout (the
// request frame follows; read it with ReadRequest). On a bad header it
// answers the peer with a bad_request reply.
func ReadCallHeader(st *yamux.Stream) (Header, error) {
	_ = st.SetReadDeadline(time.Now().Add(CallHeaderTimeout))
	defer st.SetReadDeadline(time.Time{})
	var h Header
	if err := ReadFrame(st, MaxHeader, &h); err != nil {
		e := Errorf(CodeBadRequest, "bad call header: %v", err)
		_ = WriteFrame(st, &Reply{Error: e})
		return h, e
	}
	return h, nil
}

// ReadRequest reads a call's request frame within CallHeaderTimeout.
func ReadRequest(st *yamux.Stream, req any) error {
	_ = st.SetReadDeadline(time.Now().Add(CallHeaderTimeout))
	defer st.SetReadDeadline(time.Time{})
	if err := ReadFrame(st, MaxFrame, req); err != nil {
		return Errorf(CodeBadRequest, "bad request: %v", err)
	}
	return nil
}

// Done is closed when the session ends.
func (s *ServerSession) Done() <-chan struct{} { return s.ys.CloseChan() }

// Close ends the session.
func (s *ServerSession) Close() error { return s.ys.Close() }
