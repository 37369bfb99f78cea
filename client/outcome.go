package client

import (
	"errors"
	"fmt"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// What an attempt's end means is decided here, and only here: the worker
// says what happened (a wire error code, a final event), outcomeOf says
// what that means for the job (a tracker.OutcomeKind), and the tracker
// decides what to do next. The one exception is the tracker's own
// timeout, which only it knows fired (tracker/outcome.go, overrun).

// step is how far the runner got with an attempt.
type step int

const (
	connecting   step = iota // dialing the worker
	shipping                 // making sure it holds the program
	sendingInput             // a map's split
	launching                // the attempt itself, to its final event
	fetching                 // the output of a reduce or map-only attempt
)

// attemptEnd is what the runner saw of an attempt's end.
type attemptEnd struct {
	step step
	err  error // nil when the attempt succeeded
	// ev is the worker's final event for the attempt, when one came and
	// describes the end (not when fetching its output failed).
	ev *proto.Event
	// ran says the worker admitted the attempt: it sent an event before
	// the final one. A refusal after that is a failure.
	ran bool
	// stopped says the tracker ended the attempt (its context ended): a
	// failure then is the kill's doing, not the worker going away.
	stopped bool
}

// outcomeOf turns what the runner saw into the tracker's Outcome. alive
// reports whether the session to the worker still lives; it is asked only
// when a failure could be the worker going away.
func outcomeOf(e attemptEnd, alive func() bool) tracker.Outcome {
	if e.err == nil {
		return tracker.Outcome{Result: e.ev.Result} // run ends a success with its final event
	}
	o := tracker.Outcome{Kind: kindOf(e, alive), Err: e.err}
	switch o.Kind {
	case tracker.Busy, tracker.Draining: // it did not run: nothing to tell
	case tracker.MapMissing, tracker.MapDamaged:
		o.BadMap = &tracker.MapRef{Map: mapIndex(e.ev.MissingMap), Attempt: e.ev.MissingAttempt}
		fallthrough
	default:
		if e.ev != nil {
			o.Result, o.StderrTail = e.ev.Result, e.ev.StderrTail
		}
	}
	return o
}

// kindOf says what a failed attempt's end means. The order matters: a
// refusal is not a failure, a fatal failure ends the job whatever else
// happened, and a worker going away explains a missing map output.
func kindOf(e attemptEnd, alive func() bool) tracker.OutcomeKind {
	switch {
	case e.step == connecting:
		return tracker.Lost
	case refusedAs(e, proto.CodeBusy):
		return tracker.Busy
	case refusedAs(e, proto.CodeShuttingDown):
		return tracker.Draining
	case fatalLaunch(e.ev), errors.Is(e.err, errInputChanged), fatalStorage(e.err):
		return tracker.Fatal
	case !e.stopped && (proto.IsCode(e.err, proto.CodeShuttingDown) || !alive()):
		return tracker.Lost // the worker is going away, not the task failing
	case e.ev != nil && mapIndex(e.ev.MissingMap) >= 0 && proto.IsCode(e.err, proto.CodeChecksum):
		return tracker.MapDamaged
	case e.ev != nil && mapIndex(e.ev.MissingMap) >= 0:
		return tracker.MapMissing
	}
	return tracker.Ran
}

// refusedAs reports whether the worker turned the attempt down with code
// before running it: busy (no slot for this job now) or draining. Neither
// is a failure of the task (tracker/sharing.go). A shipment that fails as
// busy is not a refusal: the pool keeps a shipment's error for every
// later attempt on that worker (pool.ship), so the job would wait for a
// slot forever; a draining worker takes nothing new anyway.
func refusedAs(e attemptEnd, code string) bool {
	if !proto.IsCode(e.err, code) {
		return false
	}
	switch e.step {
	case shipping:
		return code == proto.CodeShuttingDown
	case sendingInput:
		return true
	case launching:
		return !e.ran
	}
	return false
}

// fatalLaunch reports whether a launch refusal ends the job: a worker
// that cannot run the artifact for good (a plugin built for another host,
// a host without plugin support), which no retry can fix.
func fatalLaunch(ev *proto.Event) bool {
	if ev == nil {
		return false
	}
	if ev.Result != nil && ev.Result.Fatal {
		return true
	}
	e := ev.Error
	return e != nil && !e.Retryable && (e.Code == proto.CodeVersion || e.Code == proto.CodeUnsupported)
}

// fatalStorage reports whether an attempt failed on its input or output
// storage in a way no retry can fix: an input that changed or vanished
// since the job listed it, credentials the store refuses, a missing
// bucket.
func fatalStorage(err error) bool {
	var pe *proto.Error
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == proto.CodeInputChanged || pe.Code == proto.CodeStorage && !pe.Retryable
}

// mapIndex is the map number of a task id, or -1.
func mapIndex(id string) int {
	if p, i, ok := spec.ParseTaskID(id); ok && p == spec.PhaseMap {
		return i
	}
	return -1
}

// slotWaitErr is what a failed WaitSlot call means: a worker that shuts
// down drains.
func slotWaitErr(err error) error {
	if proto.IsCode(err, proto.CodeShuttingDown) {
		return fmt.Errorf("%w: %v", tracker.ErrWorkerDraining, err)
	}
	return err
}
