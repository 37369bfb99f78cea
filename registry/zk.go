package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

var (
	_ Registrar = (*ZK)(nil)
	_ Lister    = (*ZK)(nil)
)

// worldACL lets anyone read and write the registry's nodes, like every
// node created without ACLs.
func worldACL() []zk.ACL { return zk.WorldACL(zk.PermAll) }

// ZK is the ZooKeeper registry: a Registrar for one worker and a Lister
// for any number of watchers, over one ZooKeeper session.
type ZK struct {
	spec   ZKSpec
	log    *slog.Logger
	conn   *zk.Conn
	events <-chan zk.Event // closed when go-zookeeper's loop has ended
	sess   *sessionState
	// sessionTimeout is the session timeout asked for (ZKOptions).
	sessionTimeout time.Duration
	// user and password are the digest credentials (ZKOptions.Auth);
	// empty without.
	user, password string

	stopDial  context.CancelFunc // cancels dials in progress at Close
	done      chan struct{}      // closed by Close
	closeOnce sync.Once

	// regLock serializes Register and Deregister (a channel, so that
	// waiting for it honours a context).
	regLock chan struct{}
	reg     *registration // guarded by regLock

	mu     sync.Mutex
	closed bool // guarded by mu; set with done
	// cands are the candidacies running (zk_election.go); guarded by mu.
	// Close ends them before the session, so that none still thinks it
	// leads once another candidate can.
	cands map[*Candidacy]struct{}
	wg    sync.WaitGroup // keeper, watchers and requests in flight
}

// NewZK connects to ZooKeeper at spec ("host:port[,host:port...][/chroot]",
// see ParseZKSpec) and waits for a session, at most opts.ConnectTimeout.
// Without a chroot worker nodes live at /dist/workers/<id>; with one at
// <chroot>/workers/<id>. If no server gives a session in time NewZK fails
// with ErrUnreachable naming the addresses and the last cause. Close the
// ZK when done: that ends the session and so removes its worker node.
func NewZK(ctx context.Context, spec string, opts ZKOptions) (*ZK, error) {
	parsed, err := ParseZKSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	log := opts.Logger.With("zk", parsed.String())

	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	servers, err := resolve(cctx, parsed.Servers)
	if err != nil {
		return nil, connectErr(ctx, parsed, opts, err.Error())
	}

	life, stopDial := context.WithCancel(context.Background())
	sess := newSessionState(log)
	conn, events, err := zk.Connect(servers, opts.SessionTimeout,
		zk.WithLogger(zkLogger{log}),
		zk.WithEventCallback(sess.onEvent),
		zk.WithDialer(sess.dialer(life, opts.SessionTimeout)),
	)
	if err != nil {
		stopDial()
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, strings.Join(parsed.Servers, ","), err)
	}
	z := &ZK{
		spec:           parsed,
		log:            log,
		conn:           conn,
		events:         events,
		sess:           sess,
		stopDial:       stopDial,
		sessionTimeout: opts.SessionTimeout,
		done:           make(chan struct{}),
		regLock:        make(chan struct{}, 1),
	}
	if err := z.awaitSession(cctx); err != nil {
		cause := sess.cause()
		z.Close()
		return nil, connectErr(ctx, parsed, opts, cause)
	}
	if opts.Auth != "" {
		z.user, z.password, _ = parseZKAuth(opts.Auth)
		if err := z.authenticate(cctx, opts.Auth); err != nil {
			z.Close()
			return nil, err
		}
	}
	log.Debug("connected to ZooKeeper", "session", fmt.Sprintf("0x%x", conn.SessionID()))
	return z, nil
}

// connectErr words a failed connection: the caller's own cancellation,
// or ErrUnreachable with the addresses, the timeout and the cause.
func connectErr(ctx context.Context, spec ZKSpec, opts ZKOptions, cause string) error {
	addrs := strings.Join(spec.Servers, ",")
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("connecting to ZooKeeper at %s: %w (so far: %s)", addrs, err, cause)
	}
	return fmt.Errorf("%w at %s within %v: %s", ErrUnreachable, addrs, opts.ConnectTimeout, cause)
}

// resolve looks host names up under ctx (go-zookeeper would do it with
// its own fixed timeout). Unresolvable hosts are dropped unless none is
// left.
func resolve(ctx context.Context, servers []string) ([]string, error) {
	var out []string
	var lastErr error
	for _, s := range servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, err
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			lastErr = err
			continue
		}
		for _, a := range addrs {
			out = append(out, net.JoinHostPort(a, port))
		}
	}
	if len(out) == 0 {
		return nil, lastErr
	}
	return out, nil
}

// Root is the registry's root node, e.g. "/dist".
func (z *ZK) Root() string { return z.spec.Root }

// SessionID is the current ZooKeeper session, 0 while there is none.
func (z *ZK) SessionID() int64 { return z.conn.SessionID() }

// Close ends the session, which deletes the worker node if there is one,
// stops every goroutine the ZK started and waits for them. It is
// idempotent and always returns nil.
func (z *ZK) Close() error {
	z.closeOnce.Do(func() {
		z.mu.Lock()
		z.closed = true
		close(z.done)
		cands := z.cands
		z.cands = nil
		z.mu.Unlock()
		for c := range cands {
			c.lose("the registry closed")
		}
		z.sess.closing.Store(true)
		z.stopDial()
		z.conn.Close()
		z.wg.Wait()
		for range z.events {
			// Drain until go-zookeeper's connection loop has ended.
		}
	})
	return nil
}

// enter counts a goroutine in z.wg unless z is closed.
func (z *ZK) enter() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.closed {
		return ErrClosed
	}
	z.wg.Add(1)
	return nil
}

// read runs op, a go-zookeeper read, retrying after connection errors
// once a session is back, until ctx ends. It returns as soon as ctx ends
// or z closes, leaving op to finish in the background (go-zookeeper
// requests take no context, but each ends once answered or once the
// connection fails or closes; Close waits for them). op must not touch
// state the caller reads after an abandoned call.
func (z *ZK) read(ctx context.Context, op func() error) error {
	return z.retry(ctx, z.callAsync, op)
}

// readValue is read for a request that answers a value. The value comes
// back over a channel, not through the caller's variables, which a request
// abandoned when ctx ends could still write after the caller went on; on
// an error it is T's zero value.
func readValue[T any](ctx context.Context, z *ZK, op func() (T, error)) (T, error) {
	ans := make(chan T, 1)
	err := z.read(ctx, func() error {
		v, err := op()
		if err == nil {
			ans <- v
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return <-ans, nil
}

// write is read for requests that change nodes. They are never
// abandoned: a create the caller gave up on could still land after the
// caller moved on (a node back after Deregister). ctx is checked between
// attempts; one attempt lasts until answered or the connection fails.
func (z *ZK) write(ctx context.Context, op func() error) error {
	return z.retry(ctx, z.callSync, op)
}

func (z *ZK) retry(ctx context.Context, call func(context.Context, func() error) error, op func() error) error {
	for {
		err := call(ctx, op)
		if !isConnErr(err) {
			return err
		}
		z.log.Debug("ZooKeeper request failed; retrying once connected", "err", err)
		if state, _, _ := z.sess.get(); state == zk.StateHasSession {
			if err := z.pause(ctx, retryPause); err != nil {
				return err
			}
		}
		if err := z.awaitSession(ctx); err != nil {
			return err
		}
	}
}

// callSync runs op once on the caller's goroutine.
func (z *ZK) callSync(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if z.isClosed() {
		return ErrClosed
	}
	if err := op(); err != nil {
		if z.isClosed() {
			return ErrClosed
		}
		return err
	}
	return nil
}

// callAsync runs op once on its own goroutine, counted in z.wg, and
// returns its error, or ctx's error when ctx ends first, or ErrClosed.
func (z *ZK) callAsync(ctx context.Context, op func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := z.enter(); err != nil {
		return err
	}
	res := make(chan error, 1)
	go func() {
		defer z.wg.Done()
		res <- op()
	}()
	select {
	case err := <-res:
		if err != nil && z.isClosed() {
			return ErrClosed
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-z.done:
		return ErrClosed
	}
}

// retryPause spaces retries when a request failed on a connection that
// still counts as up (its loss is being noticed).
const retryPause = 50 * time.Millisecond

// awaitSession waits until there is a session (or ctx ends, or Close).
func (z *ZK) awaitSession(ctx context.Context) error {
	state, _, changed := z.sess.get()
	for state != zk.StateHasSession {
		select {
		case <-changed:
			state, _, changed = z.sess.get()
		case <-ctx.Done():
			return ctx.Err()
		case <-z.done:
			return ErrClosed
		}
	}
	return nil
}

// pause waits for d, a session change, ctx or Close.
func (z *ZK) pause(ctx context.Context, d time.Duration) error {
	_, _, changed := z.sess.get()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-changed:
	case <-ctx.Done():
		return ctx.Err()
	case <-z.done:
		return ErrClosed
	}
	return nil
}

func (z *ZK) isClosed() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.closed
}

// stopped reports errors that mean "stop trying": ctx ended or z closed.
func stopped(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
