package main

import (
	"context"
	"sync"

	"github.com/distmr/dist/registry"
)

// zkJob is the ZooKeeper registry of `dist run --zk`, timed around
// one job. Opening a session is a ZooKeeper write (~3 ms on a warm
// cluster) and so is closing one; a one-line job takes ~30 ms. So the
// session is opened while the job checks its app and output, and closed
// once the job stops watching workers (its tasks are done), while the
// output is committed. Close waits for both.
type zkJob struct {
	cancel context.CancelFunc // stops an open still in progress
	ready  chan struct{}      // closed once the open has settled
	zk     *registry.ZK       // nil when the open failed
	err    error

	closing sync.Once
	closed  chan struct{} // closed once zk is closed
}

var _ registry.Lister = (*zkJob)(nil)

// openZK starts opening a session to the ZooKeeper at spec.
func openZK(ctx context.Context, spec string) *zkJob {
	ctx, cancel := context.WithCancel(ctx)
	z := &zkJob{cancel: cancel, ready: make(chan struct{}), closed: make(chan struct{})}
	go func() {
		defer close(z.ready)
		z.zk, z.err = registry.NewZK(ctx, spec, registry.ZKOptions{})
	}()
	return z
}

// session waits for the open to settle.
func (z *zkJob) session(ctx context.Context) (*registry.ZK, error) {
	select {
	case <-z.ready:
		return z.zk, z.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Workers implements registry.Lister.
func (z *zkJob) Workers(ctx context.Context) ([]registry.WorkerInfo, error) {
	zk, err := z.session(ctx)
	if err != nil {
		return nil, err
	}
	return zk.Workers(ctx)
}

// Watch implements registry.Lister. When ctx ends the session closes:
// the job is done with the registry.
func (z *zkJob) Watch(ctx context.Context) (<-chan []registry.WorkerInfo, error) {
	zk, err := z.session(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := zk.Watch(ctx)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, z.close)
	return ch, nil
}

// close stops an open in progress, then closes the session, once.
func (z *zkJob) close() {
	z.closing.Do(func() {
		z.cancel()
		<-z.ready
		if z.zk != nil {
			z.zk.Close()
		}
		close(z.closed)
	})
}

// Close closes the session unless the job's watch did, and waits for it.
func (z *zkJob) Close() {
	z.close()
	<-z.closed
}
