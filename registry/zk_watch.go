package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// fetchParallel bounds the node reads in flight during one listing.
const fetchParallel = 16

// Workers lists <root>/workers and decodes each node, sorted by ID. A
// node deleted between the listing and its read is left out; a malformed
// node is left out with a warning in the log. No workers node yet means
// no workers. Connection losses are retried until ctx ends.
func (z *ZK) Workers(ctx context.Context) ([]WorkerInfo, error) {
	dir := z.spec.WorkersPath()
	var names []string
	err := z.read(ctx, func() error {
		var err error
		names, _, err = z.conn.Children(dir)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return []WorkerInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing workers under %s: %w", dir, err)
	}
	ws, err := z.fetch(ctx, names, nil)
	if err != nil {
		return nil, fmt.Errorf("listing workers under %s: %w", dir, err)
	}
	return ws, nil
}

// dataWatches are the data watches one Watch keeps on the worker nodes,
// so that a node whose data changes (a worker saying it drains) is seen
// as well as one that comes or goes. Each node has at most one watch that
// has not fired.
type dataWatches struct {
	fired chan struct{} // holds a token once a watch fired

	mu  sync.Mutex
	set map[string]bool // nodes with a live watch
}

func newDataWatches() *dataWatches {
	return &dataWatches{fired: make(chan struct{}, 1), set: make(map[string]bool)}
}

func (d *dataWatches) has(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set[name]
}

// follow waits, counted in z.wg, for the watch ev on node name to fire
// and then says so on d.fired.
func (z *ZK) follow(ctx context.Context, d *dataWatches, name string, ev <-chan zk.Event) {
	if z.enter() != nil {
		return
	}
	d.mu.Lock()
	d.set[name] = true
	d.mu.Unlock()
	go func() {
		defer z.wg.Done()
		select {
		case <-ev:
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
		d.mu.Lock()
		delete(d.set, name)
		d.mu.Unlock()
		select {
		case d.fired <- struct{}{}:
		default: // a token is already there
		}
	}()
}

// Watch sends the full set of workers, sorted by ID, every time it
// changes, starting with the current set. A receiver that falls behind
// gets the newest set, not every intermediate one. Through a connection
// loss the last set stands; on reconnect Watch lists again and sends the
// set if it changed. The channel closes when ctx ends or on Close.
// Watch lists once before it returns, so a listing error is reported
// here; without a connection it waits for one until ctx ends.
func (z *ZK) Watch(ctx context.Context) (<-chan []WorkerInfo, error) {
	_, gen, _ := z.sess.get()
	dw := newDataWatches()
	set, ev, err := z.listWatch(ctx, dw)
	if err != nil {
		return nil, fmt.Errorf("watching workers under %s: %w", z.spec.WorkersPath(), err)
	}
	if err := z.enter(); err != nil {
		return nil, err
	}
	out := make(chan []WorkerInfo)
	go z.watchLoop(ctx, out, set, ev, dw, gen)
	return out, nil
}

// watchLoop lists again on every watch event (a node came, went or
// changed) and every new connection, and offers the newest set to out
// until it is taken.
func (z *ZK) watchLoop(ctx context.Context, out chan<- []WorkerInfo, last []WorkerInfo, ev <-chan zk.Event, dw *dataWatches, gen uint64) {
	defer z.wg.Done()
	defer close(out)
	msg, pending := cloneWorkers(last), true
	_, _, changed := z.sess.get()
	for {
		var send chan<- []WorkerInfo
		if pending {
			send = out
		}
		relist := false
		select {
		case send <- msg:
			pending = false
		case <-ev:
			relist = true
		case <-dw.fired:
			relist = true
		case <-changed:
			var state zk.State
			var g uint64
			state, g, changed = z.sess.get()
			if state == zk.StateHasSession && g != gen {
				gen, relist = g, true
			}
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
		for relist {
			set, nev, err := z.listWatch(ctx, dw)
			if err == nil {
				ev, relist = nev, false
				if !sameWorkers(set, last) {
					last, msg, pending = set, cloneWorkers(set), true
				}
				break
			}
			if stopped(err) {
				return
			}
			z.log.Warn("listing workers failed; retrying", "dir", z.spec.WorkersPath(), "err", err)
			if z.pause(ctx, republishPause) != nil {
				return
			}
		}
	}
}

// listWatch lists the workers and leaves a watch that fires on the next
// change: a child watch on the workers node, or, while that node does not
// exist, an exists watch for its creation; and a data watch on every
// worker node that has none (dw).
func (z *ZK) listWatch(ctx context.Context, dw *dataWatches) ([]WorkerInfo, <-chan zk.Event, error) {
	names, ev, err := z.childrenW(ctx, z.spec.WorkersPath())
	if err != nil {
		return nil, nil, err
	}
	set, err := z.fetch(ctx, names, dw)
	return set, ev, err
}

// childrenW lists dir's children and leaves a watch that fires on the
// next change: a child watch, or while dir does not exist an exists watch
// for its creation (and no names).
func (z *ZK) childrenW(ctx context.Context, dir string) ([]string, <-chan zk.Event, error) {
	for {
		var (
			names []string
			ev    <-chan zk.Event
		)
		err := z.read(ctx, func() error {
			var err error
			names, _, ev, err = z.conn.ChildrenW(dir)
			return err
		})
		if err == nil {
			return names, ev, nil
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return nil, nil, err // names and ev may yet be written by the abandoned request
		}
		exists, ev, err := z.existsW(ctx, dir)
		if err != nil {
			return nil, nil, err
		}
		if !exists {
			return nil, ev, nil
		}
		// created meanwhile: list it
	}
}

// fetch reads and decodes the nodes names under the workers node,
// fetchParallel at a time, and returns them sorted by ID. With dw it
// leaves a data watch on each node not watched yet.
func (z *ZK) fetch(ctx context.Context, names []string, dw *dataWatches) ([]WorkerInfo, error) {
	dir := z.spec.WorkersPath()
	found := make([]*WorkerInfo, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			node := dir + "/" + name
			var (
				data []byte
				ev   <-chan zk.Event
			)
			watch := dw != nil && !dw.has(name)
			err := z.read(ctx, func() error {
				var err error
				if watch {
					data, _, ev, err = z.conn.GetW(node)
				} else {
					data, _, err = z.conn.Get(node)
				}
				return err
			})
			if watch && err == nil {
				z.follow(ctx, dw, name, ev)
			}
			if errors.Is(err, zk.ErrNoNode) {
				return // left between the listing and the read
			}
			if err != nil {
				errs[i] = fmt.Errorf("reading %s: %w", node, err)
				return
			}
			info, err := DecodeWorkerInfo(name, data)
			if err != nil {
				z.log.Warn("skipping malformed worker node", "node", node, "err", err)
				return
			}
			found[i] = &info
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := make([]WorkerInfo, 0, len(names))
	for _, w := range found {
		if w != nil {
			out = append(out, *w)
		}
	}
	sortWorkers(out)
	return out, nil
}
