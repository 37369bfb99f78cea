package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// A master taking a job over: what the journal says is committed is not
// run again, unless its output went with a worker that is gone.
func TestRecoveredTasksAreNotRunAgain(t *testing.T) {
	ws := workers(2, 2)
	gone := registry.WorkerInfo{ID: "dead", Addr: "127.0.0.1:1", Slots: 2}
	done := func(p spec.Phase, i int, w registry.WorkerInfo) Committed {
		a := Attempt{Task: TaskRef{p, i}, N: 0, Worker: w}
		return Committed{Task: a.Task, Attempt: 0, Worker: w, Result: ok(a).Result}
	}
	rec := []Committed{
		done(spec.PhaseMap, 0, ws[0]), done(spec.PhaseMap, 1, ws[1]), done(spec.PhaseMap, 2, gone),
		done(spec.PhaseReduce, 1, ws[0]),
	}
	var mu sync.Mutex
	var journal []string
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce {
			for _, in := range a.Inputs {
				if in.Worker.ID == "dead" {
					return Outcome{Err: fmt.Errorf("reduce was given the dead worker's output of map %d", in.Map)}
				}
			}
		}
		return ok(a)
	}}
	cfg := Config{Maps: 4, Reduces: 2, Recovered: rec, FirstAttempt: 1000, OnCommit: func(c Committed) {
		mu.Lock()
		journal = append(journal, fmt.Sprintf("%s/%d", c.Task.ID(), c.Attempt))
		mu.Unlock()
	}}
	rep, err := runJob(t, cfg, r, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"m-00000", "m-00001", "r-00001"} {
		if n := r.count(id); n != 0 {
			t.Errorf("%s ran %d times; it was recovered", id, n)
		}
	}
	for _, id := range []string{"m-00002", "m-00003", "r-00000"} {
		if n := r.count(id); n != 1 {
			t.Errorf("%s ran %d times, want 1", id, n)
		}
	}
	// m-00002's worker is gone: it runs again, numbered above what the
	// earlier master used (FirstAttempt).
	if rep.Maps[2].Attempt != 1000 || rep.Maps[3].Attempt != 1000 || rep.Maps[2].Worker.ID == "dead" {
		t.Errorf("m-00002 committed %+v", rep.Maps[2])
	}
	if rep.Reduces[1].Worker.ID != ws[0].ID || rep.Stats.Recovered != 4 || rep.Stats.MapReruns != 1 {
		t.Errorf("reduce 1 %+v, stats %+v", rep.Reduces[1], rep.Stats)
	}
	if got := rep.Counters["map."+spec.CounterInputRecords]; got != 4 {
		t.Errorf("map input records %d, want 4 (recovered counters count)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(journal) != 3 {
		t.Errorf("OnCommit saw %v, want the 3 tasks this run committed", journal)
	}
}

// Every task recovered: the job is done without running anything.
func TestAllRecovered(t *testing.T) {
	ws := workers(1, 1)
	var rec []Committed
	for i := range 2 {
		a := Attempt{Task: TaskRef{spec.PhaseMap, i}, Worker: ws[0]}
		rec = append(rec, Committed{Task: a.Task, Worker: ws[0], Result: ok(a).Result})
	}
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome { return ok(a) }}
	rep, err := runJob(t, Config{Maps: 2, Recovered: rec}, r, ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.attempts) != 0 || len(rep.Maps) != 2 {
		t.Fatalf("ran %d attempts, committed %d maps", len(r.attempts), len(rep.Maps))
	}
}

// A master taking a job over reuses its predecessor's plan: a map pinned
// to a worker that is not among the live ones fails the job at once with
// ErrInputLost, instead of waiting for a worker that may never come back.
func TestPinToAbsentWorkerFailsAtOnce(t *testing.T) {
	ws := workers(2, 2)
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome { return ok(a) }}
	cfg := Config{Maps: 3, Reduces: 1, Pins: []Pin{{}, {Worker: "dead", Input: "worker:dead/logs/b.log"}}}
	_, err := runJob(t, cfg, r, ws)
	var je *JobError
	if !errors.Is(err, ErrInputLost) || !errors.As(err, &je) || je.Task != (TaskRef{spec.PhaseMap, 1}) ||
		!strings.Contains(err.Error(), "worker:dead/logs/b.log") || !strings.Contains(err.Error(), "not among the live workers") {
		t.Fatalf("err = %v, want ErrInputLost for m-00001's input on the absent worker", err)
	}
	if n := r.count("m-00001"); n != 0 {
		t.Errorf("m-00001 ran %d times with its worker absent", n)
	}
}
