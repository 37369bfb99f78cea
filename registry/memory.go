package registry

import (
	"context"
	"fmt"
	"sync"
)

var (
	_ Lister    = (*Memory)(nil)
	_ Registrar = (*MemoryRegistrar)(nil)
)

// Memory is an in-process registry for `--local` and tests. The process
// that starts the local workers adds and removes them (Add, Remove);
// in-process workers can instead each take a Registrar. Watchers are
// told of every change.
type Memory struct {
	mu      sync.Mutex
	workers map[string]WorkerInfo
	changed chan struct{} // closed and replaced on every change
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup // watchers
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{
		workers: make(map[string]WorkerInfo),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Add registers info, replacing any worker with the same ID.
func (m *Memory) Add(info WorkerInfo) error {
	if err := ValidateID(info.ID); err != nil {
		return err
	}
	info.Flags = append([]string(nil), info.Flags...)
	info.Plugin = info.Plugin.clone()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if old, ok := m.workers[info.ID]; ok && sameWorker(old, info) {
		return nil
	}
	m.workers[info.ID] = info
	m.notifyLocked()
	return nil
}

// Remove deregisters worker id. Removing an absent worker does nothing.
func (m *Memory) Remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.workers[id]; !ok {
		return
	}
	delete(m.workers, id)
	m.notifyLocked()
}

func (m *Memory) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// snapshot returns the set sorted by ID and a channel closed at the next
// change.
func (m *Memory) snapshot() ([]WorkerInfo, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]WorkerInfo, 0, len(m.workers))
	for _, w := range m.workers {
		out = append(out, w)
	}
	sortWorkers(out)
	return cloneWorkers(out), m.changed
}

// Workers returns the registered workers sorted by ID.
func (m *Memory) Workers(ctx context.Context) ([]WorkerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.isClosed() {
		return nil, ErrClosed
	}
	ws, _ := m.snapshot()
	return ws, nil
}

// Watch sends the set now and after every change; a receiver that falls
// behind gets the newest set. The channel closes when ctx ends or on
// Close.
func (m *Memory) Watch(ctx context.Context) (<-chan []WorkerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.wg.Add(1)
	out := make(chan []WorkerInfo)
	go m.watchLoop(ctx, out)
	return out, nil
}

func (m *Memory) watchLoop(ctx context.Context, out chan<- []WorkerInfo) {
	defer m.wg.Done()
	defer close(out)
	msg, changed := m.snapshot()
	pending := true
	for {
		var send chan<- []WorkerInfo
		if pending {
			send = out
		}
		select {
		case send <- msg:
			pending = false
		case <-changed:
			msg, changed = m.snapshot()
			pending = true
		case <-ctx.Done():
			return
		case <-m.done:
			return
		}
	}
}

// Close stops every watcher and waits for them. Later calls fail with
// ErrClosed. Close is idempotent and returns nil.
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

func (m *Memory) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Registrar returns a Registrar for one in-process worker: Register adds
// its info to m, Deregister removes it.
func (m *Memory) Registrar() *MemoryRegistrar {
	return &MemoryRegistrar{m: m}
}

// MemoryRegistrar is one worker's Registrar on a Memory.
type MemoryRegistrar struct {
	m  *Memory
	mu sync.Mutex
	id string // registered ID, "" when not registered
}

// Register adds info to the Memory. The registration stays until
// Deregister; there is no session to lose, so ctx only bounds the call.
func (r *MemoryRegistrar) Register(ctx context.Context, info WorkerInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id != "" {
		return fmt.Errorf("registering worker %q: %w (worker %q is)", info.ID, ErrAlreadyRegistered, r.id)
	}
	if err := r.m.Add(info); err != nil {
		return err
	}
	r.id = info.ID
	return nil
}

// Update replaces the registered worker's info in the Memory.
func (r *MemoryRegistrar) Update(ctx context.Context, info WorkerInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id == "" || r.id != info.ID {
		return fmt.Errorf("updating worker %q: %w", info.ID, ErrNotRegistered)
	}
	return r.m.Add(info)
}

// Deregister removes the worker from the Memory. It is idempotent.
func (r *MemoryRegistrar) Deregister(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id != "" {
		r.m.Remove(r.id)
		r.id = ""
	}
	return nil
}
