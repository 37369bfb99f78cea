// Package report writes a job's HTML report: one self-contained file (no
// network needed to view it) with an SVG timeline of every task attempt,
// one row per worker slot, followed by the job's counters, workers,
// failures and configuration.
//
// # Recording
//
// A Recorder is fed the tracker's events while the job runs (Event is safe
// from any goroutine). It keeps every attempt: when it started and ended
// on which worker, how it ended, and its counters. Attempts still running
// when the job ends (it failed, or was interrupted) are drawn up to the
// job's end and marked unfinished.
//
// # Rendering
//
// WriteHTML lays the attempts out (layout.go) and fills report.html.tmpl.
// Slots are not reported by workers, so rows are derived: each worker's
// attempts are placed in start order on the first of its rows that is free
// by then, with as many rows as the worker has slots (more only if the
// attempts overlap more than that). A small inline script measures the
// drawn bars and records their count on the SVG element (data-bars-drawn),
// so a headless browser can check that the timeline really renders.
package report

import (
	"slices"
	"sync"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/tracker"
)

// Outcomes of an attempt as the report shows them.
const (
	OK         = "ok"
	Failed     = "failed"
	Killed     = "killed"     // stopped because another attempt of its task won
	Unfinished = "unfinished" // still running when the job ended
)

// Attempt is one recorded task attempt.
type Attempt struct {
	Task   tracker.TaskRef
	N      int
	Worker string
	Backup bool
	Start  time.Time
	End    time.Time // zero while running
	// Outcome is OK, Failed, Killed or Unfinished.
	Outcome string
	// Err is the first line of a failed attempt's error.
	Err string
	// Lost says the attempt failed because its worker went away.
	Lost bool
	// OutputLost says the attempt succeeded but its output was lost later
	// (with its worker), so the task ran again.
	OutputLost bool
	// Counters are the task's counters, when it reported a result.
	Counters map[string]int64
}

type attemptKey struct {
	task tracker.TaskRef
	n    int
}

// Recorder collects a job's attempts from tracker events.
type Recorder struct {
	mu       sync.Mutex
	attempts []*Attempt
	byKey    map[attemptKey]*Attempt
	workers  map[string]registry.WorkerInfo
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{byKey: map[attemptKey]*Attempt{}, workers: map[string]registry.WorkerInfo{}}
}

// Event records one tracker event; use it as (part of) the tracker's
// OnEvent. Safe from any goroutine.
func (r *Recorder) Event(ev tracker.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, k := ev.Attempt, attemptKey{ev.Attempt.Task, ev.Attempt.N}
	if ev.Kind == tracker.AttemptStarted {
		if !a.Backup {
			// A task that starts again after succeeding lost its output.
			for _, prev := range r.attempts {
				if prev.Task == a.Task && prev.Outcome == OK {
					prev.OutputLost = true
				}
			}
		}
		at := &Attempt{Task: a.Task, N: a.N, Worker: a.Worker.ID, Backup: a.Backup, Start: ev.Time, Outcome: Unfinished}
		r.attempts = append(r.attempts, at)
		r.byKey[k] = at
		r.workers[a.Worker.ID] = a.Worker
		return
	}
	at := r.byKey[k]
	if at == nil {
		return // an end without a start: not from the tracker
	}
	if ev.Kind == tracker.AttemptRefused { // never ran; its number is used again
		delete(r.byKey, k)
		r.attempts = slices.DeleteFunc(r.attempts, func(x *Attempt) bool { return x == at })
		return
	}
	at.End = ev.Time
	if res := ev.Outcome.Result; res != nil {
		at.Counters = res.Counters
	}
	switch ev.Kind {
	case tracker.AttemptSucceeded:
		at.Outcome = OK
	case tracker.AttemptKilled:
		at.Outcome = Killed
	default:
		at.Outcome = Failed
		at.Lost = ev.Outcome.Kind == tracker.Lost
		at.Err = firstLine(ev.Outcome.Err)
	}
}

// snapshot copies the attempts (in start order) and workers.
func (r *Recorder) snapshot() ([]Attempt, map[string]registry.WorkerInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Attempt, len(r.attempts))
	for i, a := range r.attempts {
		out[i] = *a
	}
	ws := make(map[string]registry.WorkerInfo, len(r.workers))
	for id, w := range r.workers {
		ws[id] = w
	}
	return out, ws
}
