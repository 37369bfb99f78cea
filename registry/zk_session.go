package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"
)

// sessionState follows go-zookeeper's session events. go-zookeeper drops
// events when its channel is full, so the registry takes them through the
// synchronous event callback instead and keeps only the latest state:
// waiters read the state, then wait for the next change.
type sessionState struct {
	log *slog.Logger

	closing atomic.Bool // set by Close: disconnects are expected

	mu      sync.Mutex
	state   zk.State
	gen     uint64 // sessions established so far (HasSession events)
	dialErr error  // the last failed dial, for ErrUnreachable's cause
	changed chan struct{}
}

func newSessionState(log *slog.Logger) *sessionState {
	return &sessionState{log: log, state: zk.StateDisconnected, changed: make(chan struct{})}
}

// onEvent is go-zookeeper's event callback. It must not block.
func (s *sessionState) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	prev := s.state
	s.state = ev.State
	if ev.State == zk.StateHasSession {
		s.gen++
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	switch {
	case s.closing.Load():
	case ev.State == zk.StateExpired:
		s.log.Warn("ZooKeeper session expired: its ephemeral nodes are gone", "server", ev.Server)
	case ev.State == zk.StateDisconnected && prev == zk.StateHasSession:
		s.log.Info("lost the ZooKeeper connection; reconnecting", "server", ev.Server)
	case ev.State == zk.StateHasSession:
		s.log.Debug("ZooKeeper session established", "server", ev.Server)
	}
}

// get returns the current state, the session generation and a channel
// closed at the next change.
func (s *sessionState) get() (zk.State, uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.gen, s.changed
}

func (s *sessionState) setDialErr(err error) {
	s.mu.Lock()
	s.dialErr = err
	s.mu.Unlock()
}

// cause describes why no session came up, for ErrUnreachable.
func (s *sessionState) cause() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dialErr != nil {
		return dialCause(s.dialErr)
	}
	if s.state == zk.StateConnected || s.gen > 0 {
		return "connected, but no ZooKeeper session was established (is it a ZooKeeper server, and is it serving?)"
	}
	return "no answer"
}

// dialCause turns "dial tcp 127.0.0.1:2181: connect: connection refused"
// into "connection refused": the message names the address already.
func dialCause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// dialer is go-zookeeper's Dialer: it records failures for cause and
// gives up when the registry closes.
func (s *sessionState) dialer(life context.Context, sessionTimeout time.Duration) zk.Dialer {
	return func(network, addr string, timeout time.Duration) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(life, timeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		s.setDialErr(err)
		if err != nil {
			return nil, err
		}
		return boundConn(c, sessionTimeout), nil
	}
}

// BoundedDialer is a go-zookeeper Dialer whose connections wait at most a
// session timeout (and at least 4 s, ZooKeeper's least) for any read or
// write, as the registry's own connections do: see boundedConn.
func BoundedDialer(sessionTimeout time.Duration) zk.Dialer {
	return func(network, addr string, timeout time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout(network, addr, timeout)
		if err != nil {
			return nil, err
		}
		return boundConn(c, sessionTimeout), nil
	}
}

// boundedConn caps every deadline go-zookeeper sets on its connection at
// max from now. go-zookeeper waits ten receive timeouts (6.7 session
// timeouts) for the answer to its connect request, and a server that
// accepted the connection while it was still starting (a restart) may
// never answer it: the client then sat out its session's expiry (200 s
// with a 30 s session) instead of connecting again. Its other deadlines,
// two thirds of the session timeout, are below the cap.
type boundedConn struct {
	net.Conn
	max time.Duration
}

func boundConn(c net.Conn, sessionTimeout time.Duration) net.Conn {
	return boundedConn{Conn: c, max: max(sessionTimeout, 4*time.Second)}
}

func (c boundedConn) bound(t time.Time) time.Time {
	if limit := time.Now().Add(c.max); !t.IsZero() && t.After(limit) {
		return limit
	}
	return t
}

func (c boundedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.bound(t)) }
func (c boundedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.bound(t)) }
func (c boundedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.bound(t)) }

// zkLogger routes go-zookeeper's Printf logging to slog at Debug level.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "go-zookeeper")
	}
}

// isConnErr reports errors that a new connection or session may cure:
// the request should be retried once a session is back.
func isConnErr(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, zk.ErrConnectionClosed),
		errors.Is(err, zk.ErrNoServer),
		errors.Is(err, zk.ErrSessionExpired),
		errors.Is(err, zk.ErrSessionMoved),
		errors.Is(err, io.EOF):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
