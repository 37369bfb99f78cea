package tracker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/distmr/dist/task/spec"
)

// What an attempt's end means, and what the tracker does about it. The
// Runner decides the meaning, in one place (the client's outcomeOf reads
// the worker's wire codes), and says it as an OutcomeKind; the tracker
// only decides what to do next: ended (tracker.go) commits, refuses
// (sharing.go) or fails the attempt, failed (below) retries it, runs a map
// again or fails the job. The one judgement the tracker makes itself is
// overrun: it alone knows that an attempt's timeout fired.

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
	Result *spec.Result
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

// The messages of the tracker's WARN records that only repeat an attempt's
// failure, which OnEvent also reports; a display that prints the events
// may drop these records (records that announce a decision, such as a map
// running again, say more and are kept).
const (
	LogAttemptFailed = "attempt failed"
	LogAttemptLost   = "attempt lost with its worker"
)

// failed decides what a failed attempt means: retry, re-run a lost map, or
// fail the job.
func (t *Tracker) failed(tk *taskInfo, a Attempt, o Outcome) error {
	t.stats.Failed++
	tk.lastErr = o
	log := t.cfg.Logger.With("task", a.Task.ID(), "attempt", a.N, "worker", a.Worker.ID)
	kind := o.Kind
	if (kind == MapMissing || kind == MapDamaged) && (o.BadMap == nil || o.BadMap.Map < 0 || o.BadMap.Map >= len(t.maps)) {
		kind = Ran // names no map of this job: the reduce itself failed
	}
	switch kind {
	case Lost:
		log.Warn(LogAttemptLost, "err", o.Err)
		t.lose(a.Worker.ID, "session ended")
	case MapMissing, MapDamaged:
		if err := t.badMapOutput(log, o); err != nil {
			return err
		}
	default:
		log.Warn(LogAttemptFailed, "err", o.Err)
		tk.failures++
		tk.avoid[a.Worker.ID] = true
		if w := t.workers[a.Worker.ID]; w != nil {
			if w.failures++; w.failures == t.cfg.MaxWorkerFailures && !w.gone {
				t.healthy--
			}
		}
	}
	if o.Kind == Fatal {
		return t.taskError(tk)
	}
	if len(tk.running) > 0 {
		return nil // a backup attempt is still going
	}
	if tk.failures >= t.cfg.MaxAttempts {
		return t.taskError(tk)
	}
	t.setPending(tk)
	return nil
}

// badMapOutput runs again the map whose output a reduce could not use,
// unless the map has run again since the reduce was told of it. It fails
// the job when that map's output was lost or damaged MaxOutputLosses
// times.
func (t *Tracker) badMapOutput(log *slog.Logger, o Outcome) error {
	m := t.maps[o.BadMap.Map]
	if m.state != done || m.commit.Attempt != o.BadMap.Attempt {
		return nil
	}
	msg := "reduce could not fetch map output, running the map again"
	if o.Kind == MapDamaged {
		msg = "reduce found map output damaged, running the map again"
	}
	log.Warn(msg, "map", m.ref.ID(), "map_attempt", o.BadMap.Attempt, "err", o.Err)
	// The map, not the reduce, is charged, as Hadoop charges fetch
	// failures to the map; on a budget of its own, so that one lost
	// output does not use up a map's attempts. A map whose output is
	// lost or damaged again and again (a failing disk, a hostile program)
	// ends the job instead of running forever.
	m.outputLosses++
	m.avoid[m.commit.Worker.ID] = true
	t.mapOutputLost(m)
	if m.outputLosses >= t.cfg.MaxOutputLosses {
		return &JobError{Task: m.ref, Cause: o.Err, Msg: fmt.Sprintf(
			"%v: the output of %s was lost or damaged %d times; last: %v (is a worker's disk failing?)",
			ErrTaskFailed, m.ref.ID(), m.outputLosses, o.Err)}
	}
	return nil
}

func (t *Tracker) taskError(tk *taskInfo) error {
	o := tk.lastErr
	var msg string
	switch {
	case o.Kind == Fatal && o.Result != nil && o.Result.Error != "":
		msg = fmt.Sprintf("%s: %s", tk.ref.ID(), o.Result.Error)
	case o.Kind == Fatal:
		msg = fmt.Sprintf("%s: %v", tk.ref.ID(), o.Err)
	default:
		msg = fmt.Sprintf("%v: %s failed %d of %d attempts; last: %v", ErrTaskFailed, tk.ref.ID(),
			tk.failures, t.cfg.MaxAttempts, o.Err)
	}
	// The stderr tail adds to the message only when it says more than the
	// error's own text (usually its last line).
	if tail := strings.TrimSpace(o.StderrTail); tail != "" && o.Kind != Fatal && !strings.Contains(msg, tail) {
		msg += "\n--- stderr (last lines) ---\n" + tail
	}
	return &JobError{Task: tk.ref, Msg: msg, Cause: o.Err, StderrTail: o.StderrTail}
}
