package tracker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Config.Pins: a map whose Pin names a worker runs on that worker only,
// and the job fails with ErrInputLost when that worker is lost while the
// map's input is still needed.

// loser takes a worker away from a running tracker, in one of the two ways
// a worker is lost.
type loser struct {
	name string
	why  string // what the error says about the loss
	lose func(tr *Tracker, id string, ws []registry.WorkerInfo)
}

var losers = []loser{
	{"session ended", "session ended", func(tr *Tracker, id string, _ []registry.WorkerInfo) {
		tr.WorkerLost(id, "session ended")
	}},
	{"left the registry", "left the registry", func(tr *Tracker, id string, ws []registry.WorkerInfo) {
		var left []registry.WorkerInfo
		for _, w := range ws {
			if w.ID != id {
				left = append(left, w)
			}
		}
		tr.UpdateWorkers(left)
	}},
}

// hold blocks an attempt until ctx ends: only the tracker ends it.
func hold(ctx context.Context) Outcome {
	<-ctx.Done()
	return Outcome{Err: ctx.Err()}
}

// onWorker lists the workers the attempts of task id ran on.
func (f *fakeRunner) onWorker(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ws []string
	for _, a := range f.attempts {
		if a.Task.ID() == id {
			ws = append(ws, a.Worker.ID)
		}
	}
	return ws
}

// wantOnly fails the test unless every attempt of task id ran on worker.
func wantOnly(tb testing.TB, r *fakeRunner, id, worker string) {
	tb.Helper()
	ws := r.onWorker(id)
	if len(ws) == 0 {
		tb.Fatalf("%s never ran", id)
	}
	for _, w := range ws {
		if w != worker {
			tb.Fatalf("%s ran on %v, want only on %s, its pin", id, ws, worker)
		}
	}
}

// wantInputLost fails the test unless err is the failure of a job whose
// pinned map m lost its input with worker w (ws[1] in these tests).
func wantInputLost(tb testing.TB, err error, m int, input, why string, w registry.WorkerInfo) {
	tb.Helper()
	var je *JobError
	if !errors.Is(err, ErrInputLost) || !errors.As(err, &je) {
		tb.Fatalf("err = %v, want a JobError for ErrInputLost", err)
	}
	if want := (TaskRef{spec.PhaseMap, m}); je.Task != want {
		tb.Errorf("JobError names task %s, want %s", je.Task.ID(), want.ID())
	}
	for _, s := range []string{input, w.ID, w.Addr, why} {
		if !strings.Contains(err.Error(), s) {
			tb.Errorf("error %q does not say %q", err, s)
		}
	}
}

// Maps pinned to a worker run there only: one after another while it has
// no free slot, though the other workers sit idle. Unpinned maps (a Pin
// naming no worker, or past the end of Pins) and reduces go anywhere, the
// pinned worker included.
func TestPinnedMapsRunOnlyOnTheirWorker(t *testing.T) {
	release := make(chan struct{})
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseMap && a.Task.Index < 3 {
			select {
			case <-release:
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
		}
		return ok(a)
	}}
	unpinnedDone := make(chan struct{}, 3)
	cfg := Config{Maps: 6, Reduces: 6,
		Pins: []Pin{
			{Worker: "w2", Input: "w2:/data/a"},
			{Worker: "w2", Input: "w2:/data/b"},
			{Worker: "w2", Input: "w2:/data/c"},
			{Input: "in/d"},
		},
		OnEvent: func(e Event) {
			if e.Kind == AttemptSucceeded && e.Attempt.Task.Phase == spec.PhaseMap && e.Attempt.Task.Index >= 3 {
				unpinnedDone <- struct{}{}
			}
		}}
	tr := New(cfg, r)
	tr.UpdateWorkers(workers(3, 2))
	done := start(t, tr)
	for range 3 {
		recv(t, unpinnedDone, "the unpinned maps")
	}
	// w0 and w1 are idle (reduces wait for the last map); w2's two slots
	// hold m-00000 and m-00001 until release.
	if n := r.count("m-00002"); n != 0 {
		t.Fatalf("m-00002 ran %d times while its worker had no free slot", n)
	}
	close(release)
	res := recv(t, done, "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	for i := range 3 {
		wantOnly(t, r, spec.TaskID(spec.PhaseMap, i), "w2")
		if c := res.rep.Maps[i]; c.Worker.ID != "w2" || c.Attempt != 0 {
			t.Errorf("m-%05d committed attempt %d on %s, want attempt 0 on w2", i, c.Attempt, c.Worker.ID)
		}
	}
	used := map[string]bool{}
	for _, a := range r.attempts {
		if a.Task.Phase == spec.PhaseReduce || a.Task.Index >= 3 {
			used[a.Worker.ID] = true
		}
	}
	if len(used) != 3 {
		t.Fatalf("unpinned maps and reduces ran on %v, want every worker", used)
	}
	if res.rep.Stats.Attempts != 12 || res.rep.Stats.Failed != 0 {
		t.Fatalf("stats %+v", res.rep.Stats)
	}
}

// A pinned map that fails runs again on its worker, not elsewhere, even
// once that worker has failed too many attempts for other tasks; it still
// fails the job after MaxAttempts, as any task does.
func TestPinnedMapRetriesOnItsWorker(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int // of m-00001's attempts, the first ones
	}{
		{"succeeds on its last attempt", 2},
		{"fails every attempt", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
				if a.Task.ID() == "m-00001" && a.N < tc.failures {
					return Outcome{Err: errors.New("exit status 3"), StderrTail: "panic: boom"}
				}
				return ok(a)
			}}
			cfg := Config{Maps: 2, Reduces: 1, MaxAttempts: 3, MaxWorkerFailures: 1,
				Pins: []Pin{{}, {Worker: "w1", Input: "w1:/data/b"}}}
			tr := New(cfg, r)
			tr.UpdateWorkers(workers(3, 2))
			res := recv(t, start(t, tr), "the job")
			rep, err := res.rep, res.err
			wantOnly(t, r, "m-00001", "w1")
			if n := r.count("m-00001"); n != 3 {
				t.Fatalf("m-00001 ran %d times, want 3", n)
			}
			if tc.failures < cfg.MaxAttempts {
				if err != nil {
					t.Fatal(err)
				}
				if c := rep.Maps[1]; c.Attempt != 2 || c.Worker.ID != "w1" || rep.Stats.Failed != 2 {
					t.Fatalf("committed attempt %d on %s, stats %+v", c.Attempt, c.Worker.ID, rep.Stats)
				}
				return
			}
			var je *JobError
			if !errors.Is(err, ErrTaskFailed) || errors.Is(err, ErrInputLost) || !errors.As(err, &je) ||
				je.Task != (TaskRef{spec.PhaseMap, 1}) || !strings.Contains(err.Error(), "m-00001 failed 3 of 3 attempts") ||
				!strings.Contains(err.Error(), "panic: boom") {
				t.Fatalf("err = %v, want m-00001 failed after 3 attempts", err)
			}
		})
	}
}

// A pinned map that straggles gets no backup attempt: nowhere else holds
// its input. An unpinned straggler of the same job gets one, so the check
// did run. The other maps take 1s; with SlowFactor 2 both stragglers are
// slow at 2s.
func TestNoBackupForPinnedMap(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	running := make(chan struct{}, 4)
	release, releasePinned := make(chan struct{}), make(chan struct{})
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.Backup || a.Task.Phase == spec.PhaseReduce {
			return ok(a)
		}
		running <- struct{}{}
		var wait chan struct{} // nil: a straggler only the tracker's kill ends
		switch a.Task.ID() {
		case "m-00000", "m-00001":
			wait = release
		case "m-00002":
			wait = releasePinned
		}
		select {
		case <-wait:
			return ok(a)
		case <-ctx.Done():
			return Outcome{Err: ctx.Err()}
		}
	}}
	var log eventLog
	succeeded := make(chan int, 8) // timers set when a map succeeded
	cfg := Config{Maps: 4, Reduces: 1, Speculative: true, SlowAfter: time.Second, Clock: clk,
		Pins: []Pin{2: {Worker: "w1", Input: "w1:/data/c"}},
		OnEvent: func(e Event) {
			log.add(e)
			if e.Kind == AttemptSucceeded && e.Attempt.Task.Phase == spec.PhaseMap {
				succeeded <- clk.timersSet()
			}
		}}
	tr := New(cfg, r)
	tr.UpdateWorkers(workers(2, 2))
	done := start(t, tr)
	for range 4 {
		recv(t, running, "the maps")
	}
	clk.Advance(time.Second)
	close(release)
	var set int
	for range 2 {
		set = recv(t, succeeded, "the maps that are not slow")
	}
	clk.awaitTimer(t, t0.Add(2*time.Second), set)
	clk.Advance(time.Second)
	// m-00003's backup has won; the pass that started it looked at
	// m-00002 first, and the one after it again.
	recv(t, succeeded, "m-00003's backup")
	close(releasePinned)
	res := recv(t, done, "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if started := log.find(AttemptStarted, "m-00002"); len(started) != 1 || started[0].Attempt.Backup {
		t.Fatalf("m-00002 started %d attempts (%+v), want one and no backup", len(started), started)
	}
	wantOnly(t, r, "m-00002", "w1")
	backups := 0
	for _, e := range log.find(AttemptStarted, "m-00003") {
		if e.Attempt.Backup {
			backups++
		}
	}
	if backups != 1 || res.rep.Stats.Backups != 1 {
		t.Fatalf("m-00003 had %d backups, stats %+v: want the unpinned straggler backed up once", backups, res.rep.Stats)
	}
}

// Losing the pinned worker before its map ran fails the job naming the
// input and the worker: whether the map was waiting for a slot there
// (another worker idle), or running there.
func TestPinnedWorkerLostBeforeMapRan(t *testing.T) {
	ws := workers(2, 1)
	for _, l := range losers {
		for _, tc := range []struct {
			name    string
			pinned  int // the map pinned to w1
			waiting bool
		}{
			{"waiting", 1, true},
			{"running", 0, false},
		} {
			t.Run(l.name+"/"+tc.name, func(t *testing.T) {
				onW1 := make(chan string, 4)
				r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
					if a.Worker.ID == "w1" {
						onW1 <- a.Task.ID()
						return hold(ctx)
					}
					return ok(a)
				}}
				input := "w1:/data/part-0"
				pins := make([]Pin, 2)
				pins[tc.pinned] = Pin{Worker: "w1", Input: input}
				tr := New(Config{Maps: 2, Reduces: 1, Pins: pins}, r)
				if tc.waiting {
					// m-00000 takes w1's one slot; m-00001, pinned there,
					// waits though w0 joins with a free slot.
					tr.UpdateWorkers(ws[1:])
				} else {
					tr.UpdateWorkers(ws)
				}
				done := start(t, tr)
				if got := recv(t, onW1, "an attempt on w1"); got != "m-00000" {
					t.Fatalf("%s runs on w1, want m-00000", got)
				}
				if tc.waiting {
					tr.UpdateWorkers(ws)
				}
				l.lose(tr, "w1", ws)
				res := recv(t, done, "the job")
				wantInputLost(t, res.err, tc.pinned, input, l.why, ws[1])
				want := 1
				if tc.waiting {
					want = 0
				}
				if n := r.count(spec.TaskID(spec.PhaseMap, tc.pinned)); n != want {
					t.Fatalf("the pinned map ran %d times, want %d", n, want)
				}
			})
		}
	}
}

// Losing the pinned worker after its map finished fails the job the same
// way while reduces still need the map's output: before any reduce ran
// (another map still runs), or with one reduce done and another running.
func TestPinnedWorkerLostWhileReducesNeedOutput(t *testing.T) {
	ws := workers(2, 1)
	for _, l := range losers {
		for _, tc := range []struct {
			name      string
			reduces   int
			holds     func(a Attempt) bool // the attempt still running when w1 is lost
			succeeded int                  // attempts done by then
		}{
			{"maps running", 1, func(a Attempt) bool { return a.Task.ID() == "m-00001" }, 1},
			{"reduces running", 2, func(a Attempt) bool { return a.Task.Phase == spec.PhaseReduce && a.Worker.ID == "w0" }, 3},
		} {
			t.Run(l.name+"/"+tc.name, func(t *testing.T) {
				held := make(chan struct{}, 1)
				r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
					if tc.holds(a) {
						held <- struct{}{}
						return hold(ctx)
					}
					return ok(a)
				}}
				succeeded := make(chan struct{}, 8)
				cfg := Config{Maps: 2, Reduces: tc.reduces,
					Pins: []Pin{{Worker: "w1", Input: "w1:/data/a"}},
					OnEvent: func(e Event) {
						if e.Kind == AttemptSucceeded {
							succeeded <- struct{}{}
						}
					}}
				tr := New(cfg, r)
				tr.UpdateWorkers(ws)
				done := start(t, tr)
				recv(t, held, "the attempt that keeps the job going")
				for range tc.succeeded {
					recv(t, succeeded, "the attempts that finish")
				}
				l.lose(tr, "w1", ws)
				res := recv(t, done, "the job")
				wantInputLost(t, res.err, 0, "w1:/data/a", l.why, ws[1])
				if n := r.count("m-00000"); n != 1 {
					t.Fatalf("m-00000 ran %d times, want once: its input is gone", n)
				}
			})
		}
	}
}

// In a map-only job nothing reads a map's output after it finished:
// losing its pinned worker then does not fail the job, nor run it again.
func TestPinnedWorkerLostAfterMapOnlyJobMapDone(t *testing.T) {
	ws := workers(2, 1)
	for _, l := range losers {
		t.Run(l.name, func(t *testing.T) {
			release := make(chan struct{})
			r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
				if a.Task.ID() == "m-00001" {
					select {
					case <-release:
					case <-ctx.Done():
						return Outcome{Err: ctx.Err()}
					}
				}
				return ok(a)
			}}
			pinnedDone := make(chan struct{}, 1)
			cfg := Config{Maps: 2, Pins: []Pin{{Worker: "w1", Input: "w1:/data/a"}},
				OnEvent: func(e Event) {
					if e.Kind == AttemptSucceeded && e.Attempt.Task.ID() == "m-00000" {
						pinnedDone <- struct{}{}
					}
				}}
			tr := New(cfg, r)
			tr.UpdateWorkers(ws)
			done := start(t, tr)
			recv(t, pinnedDone, "m-00000")
			l.lose(tr, "w1", ws)
			close(release) // m-00001 ends after the loss: events are handled in order
			res := recv(t, done, "the job")
			if res.err != nil {
				t.Fatalf("losing a finished map's worker failed a map-only job: %v", res.err)
			}
			st := res.rep.Stats
			if c := res.rep.Maps[0]; c.Worker.ID != "w1" || c.Attempt != 0 || st.WorkersLost != 1 || st.MapReruns != 0 {
				t.Fatalf("m-00000 committed attempt %d on %s, stats %+v: want attempt 0 on w1, w1 lost, no rerun",
					c.Attempt, c.Worker.ID, st)
			}
		})
	}
}

// Once every reduce has finished the job is over: the last reduce's
// commit ends Run, so a live job never sees its pinned worker lost then.
// A loss reported after is ignored, and the rule itself, asked on the
// finished job's state, says nothing is lost.
func TestPinnedWorkerLostAfterReducesDone(t *testing.T) {
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome { return ok(a) }}
	tr := New(Config{Maps: 2, Reduces: 2, Pins: []Pin{{Worker: "w1", Input: "w1:/data/a"}}}, r)
	ws := workers(2, 1)
	tr.UpdateWorkers(ws)
	res := recv(t, start(t, tr), "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	returned := make(chan struct{})
	go func() {
		for _, l := range losers {
			l.lose(tr, "w1", ws)
		}
		close(returned)
	}()
	recv(t, returned, "WorkerLost and UpdateWorkers after the job")
	// Run has returned: its state is the test's to read.
	if err := tr.pinnedLost("w1", "session ended"); err != nil {
		t.Fatalf("with every reduce done, losing the pinned worker says %v", err)
	}
}

// A pinned map run again because a reduce could not fetch its output
// finds its worker's one slot held by an early reduce waiting for that
// very output: the reduce gives the slot up, though the map is set to
// avoid that worker and another worker has a free slot.
func TestPinnedMapRerunTakesSlotFromEarlyReduce(t *testing.T) {
	m1go := make(chan struct{})
	var log eventLog
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		switch {
		case a.Task.ID() == "m-00001":
			select {
			case <-m1go:
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
		case a.Task.ID() == "r-00000" && a.N == 0:
			return hold(ctx) // the early reduce on w0
		case a.Task.ID() == "r-00001" && a.N == 0:
			for _, in := range a.Inputs {
				if in.Map == 0 {
					return Outcome{Err: errors.New("fetch m-00000: connection refused"), Kind: MapMissing,
						BadMap: &MapRef{Map: 0, Attempt: in.Attempt}}
				}
			}
			return Outcome{Err: errors.New("launched without m-00000's output"), Kind: Fatal}
		case a.Task.Phase == spec.PhaseReduce:
			if _, err := collectInputs(ctx, a, 2, nil); err != nil {
				return Outcome{Err: err}
			}
		}
		return ok(a)
	}}
	cfg := Config{Maps: 2, Reduces: 2, EarlyReduces: true,
		Pins: []Pin{{Worker: "w0", Input: "w0:/data/a"}},
		OnEvent: func(e Event) {
			log.add(e)
			if e.Kind == AttemptStarted && e.Attempt.Task.ID() == "r-00000" && e.Attempt.N == 0 {
				close(m1go) // m-00000 is done and r-00000 holds w0's slot
			}
		}}
	tr := New(cfg, r)
	tr.UpdateWorkers(workers(2, 1))
	res := recv(t, start(t, tr), "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	wantOnly(t, r, "m-00000", "w0")
	if c := res.rep.Maps[0]; c.Attempt != 1 || res.rep.Stats.MapReruns != 1 {
		t.Fatalf("m-00000 committed attempt %d, stats %+v: want it run again once", c.Attempt, res.rep.Stats)
	}
	killed := log.find(AttemptKilled, "r-00000")
	if len(killed) != 1 || killed[0].Attempt.Worker.ID != "w0" || !errors.Is(killed[0].Outcome.Err, ErrPreempted) {
		t.Fatalf("r-00000 killed %+v, want its attempt on w0 preempted", killed)
	}
}

// A pinned map's worker that has failed too many attempts of the job
// still takes that map; when it refuses it as busy (other jobs hold its
// slots), the job waits for a slot there as it would on any worker.
func TestPinnedMapWaitsForItsBusyWorker(t *testing.T) {
	r := &waitingRunner{free: make(chan struct{})}
	close(r.free) // a slot is free as soon as the job asks
	r.waits.Add(1)
	var mu sync.Mutex
	calls := 0
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.ID() != "m-00000" {
			return ok(a)
		}
		mu.Lock()
		defer mu.Unlock()
		switch calls++; calls {
		case 1:
			return Outcome{Err: errors.New("exit status 3")}
		case 2:
			return Outcome{Err: errors.New("worker w0 is busy"), Kind: Busy}
		}
		return ok(a)
	}
	cfg := Config{Maps: 2, Reduces: 1, MaxAttempts: 2, MaxWorkerFailures: 1,
		Pins: []Pin{{Worker: "w0", Input: "w0:/data/a"}}}
	tr := New(cfg, r)
	tr.UpdateWorkers(workers(2, 1))
	res := recv(t, start(t, tr), "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	wantOnly(t, &r.fakeRunner, "m-00000", "w0")
	if c := res.rep.Maps[0]; c.Attempt != 1 || res.rep.Stats.Failed != 1 {
		t.Fatalf("m-00000 committed attempt %d, stats %+v: want attempt 1 after one failure and one refusal",
			c.Attempt, res.rep.Stats)
	}
}
