package tracker

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that tests step by hand: time stands still until
// Advance, which makes the calls that fall due, each at its own time and
// in order, before it returns.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	set     int           // AfterFunc calls so far
	changed chan struct{} // closed and replaced when a timer is set
}

type fakeTimer struct {
	c   *fakeClock
	at  time.Time
	seq int // which AfterFunc call set it, from 1
	f   func()
}

var _ Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set++
	tm := &fakeTimer{c: c, at: c.now.Add(d), seq: c.set, f: f}
	c.pending = append(c.pending, tm)
	close(c.changed)
	c.changed = make(chan struct{})
	return tm
}

func (tm *fakeTimer) Stop() bool {
	c := tm.c
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.pending, tm)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	return true
}

// Advance moves time on by d. Each call that falls due is made, in the
// caller's goroutine, with the clock reading its due time.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, tm := range c.pending {
			if !tm.at.After(end) && (next == nil || tm.at.Before(next.at)) {
				next = tm
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.pending = slices.DeleteFunc(c.pending, func(tm *fakeTimer) bool { return tm == next })
		c.now = next.at
		c.mu.Unlock()
		next.f()
	}
}

// timersSet is how many timers have been set so far; awaitTimer can wait
// for a later one.
func (c *fakeClock) timersSet() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}

// awaitTimer waits until a timer due at at is pending, set after the
// first `after` timers: the tracker has got as far as setting it. Time is
// stepped only once the tracker waits for it, so that the tracker never
// reads the clock while a step is under way.
func (c *fakeClock) awaitTimer(tb testing.TB, at time.Time, after int) {
	tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		found := slices.ContainsFunc(c.pending, func(tm *fakeTimer) bool { return tm.at.Equal(at) && tm.seq > after })
		changed := c.changed
		c.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("no timer set for %v within %v (real time)", at, within)
		}
	}
}

// within bounds, in real time, how long a test waits for the tracker to
// get somewhere: it catches a hang and is never a timing.
const within = 10 * time.Second

// recv takes a value from ch, or fails the test once within has passed.
func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	select {
	case v := <-ch:
		return v
	case <-deadline.C:
		tb.Fatalf("waited %v (real time) for %s", within, what)
		panic("unreachable")
	}
}

type jobResult struct {
	rep *Report
	err error
}

// start runs the job in the background; it is stopped when the test
// ends.
func start(t *testing.T, tr *Tracker) <-chan jobResult {
	done := make(chan jobResult, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	go func() {
		defer cancel()
		rep, err := tr.Run(ctx)
		done <- jobResult{rep, err}
	}()
	return done
}

// eventLog records the tracker's events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// find returns the events of kind for task id, in order.
func (l *eventLog) find(k EventKind, id string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Kind == k && e.Attempt.Task.ID() == id {
			out = append(out, e)
		}
	}
	return out
}

func TestFakeClock(t *testing.T) {
	c := newFakeClock()
	t0 := c.Now()
	var fired []time.Duration
	c.AfterFunc(3*time.Second, func() { fired = append(fired, c.Now().Sub(t0)) })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, c.Now().Sub(t0))
		c.AfterFunc(time.Second, func() { fired = append(fired, c.Now().Sub(t0)) })
	})
	stopped := c.AfterFunc(2*time.Second, func() { t.Error("a stopped timer fired") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	c.Advance(2*time.Second - 1)
	if len(fired) != 1 {
		t.Fatalf("fired at %v after 2s-1ns", fired)
	}
	c.Advance(5 * time.Second)
	if !slices.Equal(fired, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}) || c.Now().Sub(t0) != 7*time.Second-1 {
		t.Fatalf("fired at %v, now %v", fired, c.Now().Sub(t0))
	}
}
