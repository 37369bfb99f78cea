// Package queue is the hand-off between a goroutine that must never wait
// and one that takes what has arrived when it is ready: the tracker
// posting map commits to a reduce attempt's Feed, the worker reading
// FetchMore frames off a launch stream for its stager.
package queue

import (
	"context"
	"sync"
)

// Queue is an unbounded FIFO with one consumer. Push never blocks; the
// consumer takes everything queued at once, with Next, or with Take when
// Ready fires inside a select of its own.
type Queue[T any] struct {
	ready chan struct{} // holds a token while items may be queued

	mu     sync.Mutex
	items  []T
	closed bool
}

// New returns an empty, open queue.
func New[T any]() *Queue[T] {
	return &Queue[T]{ready: make(chan struct{}, 1)}
}

// Push queues v, oldest first, and wakes the consumer. After Close it
// drops v.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, v)
	}
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a token is already there
	}
}

// Ready holds a token once something was pushed since the consumer last
// received from it. A token may outlive the items it announced (Take had
// them already): Take then returns nil.
func (q *Queue[T]) Ready() <-chan struct{} { return q.ready }

// Take returns what is queued, oldest first, and empties the queue; nil
// when nothing is.
func (q *Queue[T]) Take() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// Next waits until something is queued and takes it, or returns ctx's
// error once it ends.
func (q *Queue[T]) Next(ctx context.Context) ([]T, error) {
	for {
		if items := q.Take(); len(items) > 0 {
			return items, nil
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close drops what is queued and everything pushed later: the consumer
// is gone and the news no longer matters.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed, q.items = true, nil
	q.mu.Unlock()
}
