package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// maxTakeovers bounds how many times one publish replaces a node owned by
// another session before it concludes a live worker holds the same ID.
const maxTakeovers = 3

// republishPause spaces attempts to register again after a failure.
const republishPause = time.Second

// registration is one Register call's state, kept by its keeper goroutine.
type registration struct {
	id     string
	path   string
	data   atomic.Pointer[[]byte] // what the node holds; Update changes it
	owner  atomic.Int64           // the session that owns the node
	cancel context.CancelFunc
	exited chan struct{} // closed when the keeper returns
}

// Register publishes info as the ephemeral node <root>/workers/<info.ID>,
// creating the parent nodes as needed, and starts a goroutine that
// registers again whenever the session is replaced (after an expiry
// ZooKeeper has deleted the node). It keeps doing so until ctx ends,
// Deregister or Close: pass a context that lives as long as the worker,
// not a request timeout. When ctx ends the node stays until Deregister or
// Close.
//
// A node for the same ID owned by an older session (a worker restarted
// before its old session timed out) is replaced. A node already owned by
// this session (a create retried after a connection loss) is kept. A
// node someone else deletes while the session lives stays deleted.
func (z *ZK) Register(ctx context.Context, info WorkerInfo) error {
	if err := ValidateID(info.ID); err != nil {
		return err
	}
	data, err := EncodeWorkerInfo(info)
	if err != nil {
		return err
	}
	if err := z.lockReg(ctx); err != nil {
		return err
	}
	defer z.unlockReg()
	if z.isClosed() {
		return ErrClosed
	}
	if z.reg != nil {
		return fmt.Errorf("registering worker %q: %w (worker %q is)", info.ID, ErrAlreadyRegistered, z.reg.id)
	}
	p := z.spec.NodePath(info.ID)
	if z.user != "" {
		// Create the parents with the cluster's ACL, or lock them down.
		if err := z.ensurePath(ctx, path.Dir(p)); err != nil {
			return fmt.Errorf("registering worker %q: %w", info.ID, err)
		}
	}
	owner, err := z.publish(ctx, p, data)
	if err != nil {
		return fmt.Errorf("registering worker %q at %s: %w", info.ID, p, err)
	}
	kctx, cancel := context.WithCancel(ctx)
	r := &registration{id: info.ID, path: p, cancel: cancel, exited: make(chan struct{})}
	r.data.Store(&data)
	r.owner.Store(owner)
	if err := z.enter(); err != nil {
		cancel()
		return err
	}
	z.reg = r
	go z.keep(kctx, r)
	z.log.Info("registered worker", "id", info.ID, "node", p, "session", fmt.Sprintf("0x%x", owner))
	return nil
}

// Deregister stops re-registering and deletes the worker's node if this
// session owns it. It is idempotent; after Close it returns nil, since
// ending the session removed the node.
func (z *ZK) Deregister(ctx context.Context) error {
	if err := z.lockReg(ctx); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	defer z.unlockReg()
	r := z.reg
	if r == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := z.write(ctx, func() error {
		me := z.conn.SessionID()
		ok, stat, err := z.conn.Exists(r.path)
		if err != nil || !ok || stat.EphemeralOwner != me {
			return err // gone, or no longer ours: leave it
		}
		return z.conn.Delete(r.path, stat.Version)
	})
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, ErrClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("deregistering worker %q: deleting %s: %w", r.id, r.path, err)
	}
	z.reg = nil
	z.log.Info("deregistered worker", "id", r.id, "node", r.path)
	return nil
}

// Update replaces the data of the registered worker's node with info
// (same ID), and what the worker registers again with after a session
// expiry. Watchers see the change (Watch sets a data watch on every node).
func (z *ZK) Update(ctx context.Context, info WorkerInfo) error {
	data, err := EncodeWorkerInfo(info)
	if err != nil {
		return err
	}
	if err := z.lockReg(ctx); err != nil {
		return err
	}
	defer z.unlockReg()
	r := z.reg
	if r == nil || r.id != info.ID {
		return fmt.Errorf("updating worker %q: %w", info.ID, ErrNotRegistered)
	}
	r.data.Store(&data)
	// The node is this session's unless the session just changed; then
	// the keeper publishes the new data when it registers again.
	if err := z.setOwned(ctx, r.path, data); err != nil {
		return fmt.Errorf("updating worker %q at %s: %w", info.ID, r.path, zkAuthErr(err))
	}
	return nil
}

// setOwned sets the data of node p if this session owns it; a node that
// is gone or another session's is left alone.
func (z *ZK) setOwned(ctx context.Context, p string, data []byte) error {
	for {
		me, _, stat, err := z.getAsSession(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		if me == 0 || stat.EphemeralOwner != me {
			return nil
		}
		err = z.write(ctx, func() error {
			_, err := z.conn.Set(p, data, stat.Version)
			return err
		})
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if !errors.Is(err, zk.ErrBadVersion) {
			return err
		}
	}
}

// getAsSession reads node p and, with it, the id of the session that
// read it (0 between sessions): p is this session's when its
// EphemeralOwner is that id.
func (z *ZK) getAsSession(ctx context.Context, p string) (me int64, data []byte, stat *zk.Stat, err error) {
	type answer struct {
		me   int64
		data []byte
		stat *zk.Stat
	}
	a, err := readValue(ctx, z, func() (answer, error) {
		me := z.conn.SessionID()
		data, stat, err := z.conn.Get(p)
		return answer{me, data, stat}, err
	})
	return a.me, a.data, a.stat, err
}

// keep registers again whenever the session is not the one owning the
// node, until ctx ends or Close.
func (z *ZK) keep(ctx context.Context, r *registration) {
	defer z.wg.Done()
	defer close(r.exited)
	defer r.cancel()
	for {
		state, _, changed := z.sess.get()
		if sid := z.conn.SessionID(); state == zk.StateHasSession && sid != r.owner.Load() {
			z.log.Warn("new ZooKeeper session; registering worker again", "id", r.id,
				"old_session", fmt.Sprintf("0x%x", r.owner.Load()), "session", fmt.Sprintf("0x%x", sid))
			data := *r.data.Load()
			owner, err := z.publish(ctx, r.path, data)
			if err == nil && !bytes.Equal(data, *r.data.Load()) {
				err = z.setOwned(ctx, r.path, *r.data.Load()) // Update ran meanwhile
			}
			if err == nil {
				r.owner.Store(owner)
				z.log.Info("registered worker again", "id", r.id, "node", r.path)
				continue
			}
			if stopped(err) {
				return
			}
			z.log.Warn("registering worker again failed; retrying", "id", r.id, "err", err)
			if z.pause(ctx, republishPause) != nil {
				return
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
	}
}

// publish creates the ephemeral node p holding data and returns the
// session owning it.
func (z *ZK) publish(ctx context.Context, p string, data []byte) (int64, error) {
	takeovers := 0
	for {
		var sid int64
		err := z.write(ctx, func() error {
			// Read before creating: if the session changes in between,
			// the keeper sees a mismatch and checks again.
			sid = z.conn.SessionID()
			_, err := z.conn.Create(p, data, zk.FlagEphemeral, z.acl())
			return err
		})
		switch {
		case err == nil:
			return sid, nil
		case errors.Is(err, zk.ErrNoNode):
			if err := z.ensurePath(ctx, path.Dir(p)); err != nil {
				return 0, err
			}
		case errors.Is(err, zk.ErrNodeExists):
			owner, err := z.adopt(ctx, p, data)
			if err != nil || owner != 0 {
				return owner, err
			}
			if takeovers++; takeovers > maxTakeovers {
				return 0, fmt.Errorf("%w: %s keeps being re-created by another session; is another worker running with the same id?", ErrIDInUse, p)
			}
		default:
			return 0, zkAuthErr(err)
		}
	}
}

// adopt handles an existing node p: if this session owns it, it makes
// sure it holds data and returns the session; otherwise it deletes the
// node (a stale one from an older session) and returns 0 so that the
// caller creates it again.
func (z *ZK) adopt(ctx context.Context, p string, data []byte) (int64, error) {
	me, cur, stat, err := z.getAsSession(ctx, p)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil // vanished meanwhile: create it
	}
	if err != nil {
		return 0, err
	}
	if me != 0 && stat.EphemeralOwner == me {
		if bytes.Equal(cur, data) {
			return me, nil
		}
		err := z.write(ctx, func() error {
			_, err := z.conn.Set(p, data, stat.Version)
			return err
		})
		if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) {
			return 0, nil // changed meanwhile: start over
		}
		return me, err
	}
	z.log.Warn("replacing a stale worker node left by another session", "node", p,
		"owner", fmt.Sprintf("0x%x", stat.EphemeralOwner), "session", fmt.Sprintf("0x%x", me))
	err = z.write(ctx, func() error { return z.conn.Delete(p, stat.Version) })
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
		return 0, fmt.Errorf("deleting stale node %s: %w", p, err)
	}
	return 0, nil
}

// ensurePath creates the persistent nodes of dir that are missing.
func (z *ZK) ensurePath(ctx context.Context, dir string) error {
	p := ""
	for _, seg := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		p += "/" + seg
		node := p
		err := z.write(ctx, func() error {
			_, err := z.conn.Create(node, nil, 0, z.acl())
			return err
		})
		if errors.Is(err, zk.ErrNodeExists) {
			err = z.secure(ctx, node)
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", node, zkAuthErr(err))
		}
	}
	return nil
}

func (z *ZK) lockReg(ctx context.Context) error {
	select {
	case z.regLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-z.done:
		return ErrClosed
	}
}

func (z *ZK) unlockReg() { <-z.regLock }
