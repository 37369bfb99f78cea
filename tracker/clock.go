package tracker

import (
	"context"
	"fmt"
	"time"
)

// Clock is where the tracker reads the time and sets its timers: attempt
// timeouts, straggler checks, the wait for a worker to join while every
// worker drains, and the pause before a busy worker is tried again. It is
// an input, as raft's Tick is, so that tests step time exactly instead of
// sleeping; Config.Clock nil means the system clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// the Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a call a Clock will make.
type Timer interface {
	// Stop prevents the call if it has not been made; it reports whether
	// it did.
	Stop() bool
}

// systemClock is the Clock of the time package.
type systemClock struct{}

var _ Clock = systemClock{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// attemptContext makes the context of an attempt, and its cancel func in
// rs. TaskTimeout ends it with a cause wrapping ErrTimeout; the timeout
// starts now, or for a reduce launched before every map was done, once
// they are (startClocks, early.go).
func (t *Tracker) attemptContext(ctx context.Context, rs *runState) context.Context {
	actx, cancel := context.WithCancelCause(ctx)
	rs.cancel = func() { cancel(context.Canceled) }
	id, n := rs.attempt.Task.ID(), rs.attempt.N
	if rs.feed != nil {
		rs.expire = func() {
			cancel(fmt.Errorf("%w: %s attempt %d ran over %v after the last map finished", ErrTimeout, id, n, t.cfg.TaskTimeout))
		}
		return actx
	}
	rs.expire = func() { cancel(fmt.Errorf("%w: %s attempt %d ran over %v", ErrTimeout, id, n, t.cfg.TaskTimeout)) }
	rs.timer = t.clock.AfterFunc(t.cfg.TaskTimeout, rs.expire)
	return actx
}

// stopTimers stops every timer the tracker has set, as Run returns.
func (t *Tracker) stopTimers() {
	for _, tm := range []Timer{t.timer, t.drainTimer} {
		if tm != nil {
			tm.Stop()
		}
	}
	for _, phase := range [][]*taskInfo{t.maps, t.reduces} {
		for _, tk := range phase {
			for _, rs := range tk.running {
				if rs.timer != nil {
					rs.timer.Stop()
				}
			}
		}
	}
}
