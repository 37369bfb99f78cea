package registry

import (
	"context"
	"strings"
	"sync"
)

var _ Lister = (*Static)(nil)

// Static is a fixed list of workers, for `--workers ADDR,...`. Each
// address becomes WorkerInfo{ID: addr, Addr: addr}; the client learns the
// rest (slots, versions) with an Info call.
type Static struct {
	workers []WorkerInfo

	mu     sync.Mutex
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup // watchers
}

// NewStatic returns a Static over addrs, sorted, with blanks and
// duplicates dropped. Addresses are not checked here: a bad one fails
// when the client dials it.
func NewStatic(addrs []string) *Static {
	seen := make(map[string]bool)
	var ws []WorkerInfo
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" || seen[a] {
			continue
		}
		seen[a] = true
		ws = append(ws, WorkerInfo{ID: a, Addr: a})
	}
	sortWorkers(ws)
	return &Static{workers: ws, done: make(chan struct{})}
}

// Workers returns the list.
func (s *Static) Workers(ctx context.Context) ([]WorkerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	return cloneWorkers(s.workers), nil
}

// Watch sends the list once, then waits for ctx to end (or Close) and
// closes the channel.
func (s *Static) Watch(ctx context.Context) (<-chan []WorkerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make(chan []WorkerInfo, 1)
	out <- cloneWorkers(s.workers)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		select {
		case <-ctx.Done():
		case <-s.done:
		}
	}()
	return out, nil
}

// Close closes every Watch channel and waits for their goroutines. It is
// idempotent and returns nil.
func (s *Static) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Static) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
