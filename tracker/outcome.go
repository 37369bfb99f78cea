package tracker

import (
	"errors"

	"github.com/distmr/dist/task"
)

// What an attempt's end means. The Runner decides it, in one place (the
// client's outcomeOf reads the worker's wire codes), and says it as an
// OutcomeKind; the tracker only decides what to do next (ended, failed,
// refused). The one judgement the tracker makes itself is overrun: it
// alone knows that an attempt's timeout fired.

// OutcomeKind says what an attempt's end means for the job.
type OutcomeKind int

const (
	// Ran is the zero value: the attempt ran to its end. It succeeded
	// when Err is nil. Otherwise it failed in a way another attempt may
	// not: the task and the worker are charged, and the task runs again
	// elsewhere until it has failed MaxAttempts times.
	Ran OutcomeKind = iota
	// Fatal: the attempt failed in a way no retry can fix (a bad
	// parameter, an unknown format, a program the worker can never run):
	// the job fails at once.
	Fatal
	// Lost: the worker itself went away (its session closed, it shuts
	// down), not the task failing. The worker is lost for the job and the
	// task runs again elsewhere without being charged.
	Lost
	// MapMissing: a reduce attempt could not fetch the output of map
	// BadMap. The map runs again (if BadMap is still its committed
	// attempt), charged to its own budget (MaxOutputLosses), and the
	// reduce runs again without being charged.
	MapMissing
	// MapDamaged: like MapMissing, but the output was there and damaged
	// (not the size or checksum its map reported, out of order, or
	// undecodable).
	MapDamaged
	// Busy: the worker refused the launch because it had no free slot for
	// this job (other jobs hold them): the attempt did not run. It is not
	// a failure; the task waits for a slot (see SlotWaiter).
	Busy
	// Draining: the worker refused the launch, or its input, because it
	// drains: the attempt did not run, and nothing new goes there.
	Draining
)

var kindNames = [...]string{Ran: "ran", Fatal: "fatal", Lost: "lost", MapMissing: "map missing",
	MapDamaged: "map damaged", Busy: "busy", Draining: "draining"}

func (k OutcomeKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Outcome is how an attempt ended. The zero value is an attempt that ran
// and succeeded, with nothing missing.
type Outcome struct {
	// Kind says what the end means; with Err nil (and Kind Ran) the
	// attempt succeeded.
	Kind OutcomeKind
	// Result is the task's result.msgpack on success (and sometimes on
	// failure).
	Result *task.Result
	// Err is nil on success.
	Err error
	// StderrTail holds the last lines the program wrote to stderr.
	StderrTail string
	// BadMap is, for Kind MapMissing or MapDamaged, the map attempt whose
	// output a reduce attempt could not use; nil otherwise.
	BadMap *MapRef
}

// MapRef names one attempt of a map task.
type MapRef struct {
	Map     int
	Attempt int
}

// Succeeded reports whether the attempt succeeded.
func (o Outcome) Succeeded() bool { return o.Err == nil }

// overrun is the outcome of an attempt whose context ended with cause:
// when its timeout fired and it failed, it failed because it ran too
// long, whatever the Runner saw as the attempt was killed (a closed
// stream looks like a lost session, an interrupted fetch like a missing
// map). So it is charged as a plain failure naming the timeout. An
// attempt that did not run (Busy, Draining) or failed for good (Fatal)
// keeps its kind.
func overrun(o Outcome, cause error) Outcome {
	if o.Err == nil || !errors.Is(cause, ErrTimeout) {
		return o
	}
	o.Err = cause
	switch o.Kind {
	case Lost, MapMissing, MapDamaged:
		o.Kind, o.BadMap = Ran, nil
	}
	return o
}
