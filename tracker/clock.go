package tracker

import "time"

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
