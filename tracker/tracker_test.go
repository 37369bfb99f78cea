package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// fakeRunner runs attempts by calling fn; it records every attempt.
type fakeRunner struct {
	mu       sync.Mutex
	attempts []Attempt
	fn       func(ctx context.Context, a Attempt) Outcome
}

func (f *fakeRunner) Run(ctx context.Context, a Attempt) Outcome {
	f.mu.Lock()
	f.attempts = append(f.attempts, a)
	f.mu.Unlock()
	return f.fn(ctx, a)
}

func (f *fakeRunner) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.attempts {
		if a.Task.ID() == id {
			n++
		}
	}
	return n
}

func ok(a Attempt) Outcome {
	res := &spec.Result{Status: spec.StatusOK, Counters: map[string]int64{spec.CounterInputRecords: 1}}
	if a.Task.Phase == spec.PhaseMap {
		res.Outputs = []spec.OutputFile{{Name: spec.MapPartName(0), Partition: 0, Size: 10}, {Name: spec.MapPartName(1), Partition: 1, Size: 5}}
	}
	return Outcome{Result: res}
}

func workers(n, slots int) []registry.WorkerInfo {
	var ws []registry.WorkerInfo
	for i := 0; i < n; i++ {
		ws = append(ws, registry.WorkerInfo{ID: fmt.Sprintf("w%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", 1000+i), Slots: slots})
	}
	return ws
}

func runJob(t *testing.T, cfg Config, r Runner, ws []registry.WorkerInfo) (*Report, error) {
	t.Helper()
	tr := New(cfg, r)
	tr.UpdateWorkers(ws)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return tr.Run(ctx)
}

func TestAllSucceed(t *testing.T) {
	var mapsDone sync.WaitGroup
	mapsDone.Add(5)
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce {
			if len(a.Inputs) != 5 {
				return Outcome{Err: fmt.Errorf("reduce saw %d inputs", len(a.Inputs))}
			}
		} else {
			mapsDone.Done()
		}
		return ok(a)
	}}
	rep, err := runJob(t, Config{Maps: 5, Reduces: 2}, r, workers(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Maps) != 5 || len(rep.Reduces) != 2 {
		t.Fatalf("committed %d maps, %d reduces", len(rep.Maps), len(rep.Reduces))
	}
	if rep.Stats.Attempts != 7 || rep.Stats.Failed != 0 {
		t.Fatalf("stats %+v", rep.Stats)
	}
	if rep.Stats.ShuffledBytes != 5*10+5*5 {
		t.Fatalf("shuffled %d bytes", rep.Stats.ShuffledBytes)
	}
	if got := rep.Counters["map."+spec.CounterInputRecords]; got != 5 {
		t.Fatalf("map input records counter = %d", got)
	}
}

func TestMapsRunConcurrentlyOnDifferentWorkers(t *testing.T) {
	var barrier sync.WaitGroup
	barrier.Add(3)
	var mu sync.Mutex
	seen := map[string]bool{}
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		mu.Lock()
		seen[a.Worker.ID] = true
		mu.Unlock()
		barrier.Done()
		barrier.Wait() // returns only once all three maps run at once
		return ok(a)
	}}
	if _, err := runJob(t, Config{Maps: 3, Reduces: 0}, r, workers(3, 2)); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("maps ran on %d workers, want 3 (spread)", len(seen))
	}
}

func TestRetryOnAnotherWorker(t *testing.T) {
	r := &fakeRunner{}
	var firstWorker string
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.ID() == "m-00001" && a.N == 0 {
			firstWorker = a.Worker.ID
			return Outcome{Err: errors.New("exit status 3")}
		}
		if a.Task.ID() == "m-00001" && a.Worker.ID == firstWorker {
			return Outcome{Err: fmt.Errorf("retried on the worker that failed")}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 3, Reduces: 1}, r, workers(2, 1))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Failed != 1 || r.count("m-00001") != 2 {
		t.Fatalf("failed=%d attempts of m-00001=%d", rep.Stats.Failed, r.count("m-00001"))
	}
	if rep.Maps[1].Attempt != 1 {
		t.Fatalf("committed attempt %d of m-00001, want 1", rep.Maps[1].Attempt)
	}
}

func TestAlwaysFailingTaskFailsJobAfterMaxAttempts(t *testing.T) {
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		if a.Task.ID() == "m-00000" {
			return Outcome{Err: errors.New("exit status 3"), StderrTail: "panic: boom\nline 2"}
		}
		return ok(a)
	}}
	_, err := runJob(t, Config{Maps: 2, Reduces: 1, MaxAttempts: 3, MaxWorkerFailures: 10}, r, workers(2, 2))
	var je *JobError
	if !errors.As(err, &je) || !errors.Is(err, ErrTaskFailed) {
		t.Fatalf("err = %v, want a JobError", err)
	}
	if r.count("m-00000") != 3 {
		t.Fatalf("%d attempts, want exactly 3", r.count("m-00000"))
	}
	if !strings.Contains(err.Error(), "panic: boom") || !strings.Contains(err.Error(), "m-00000") {
		t.Fatalf("error does not show the task and its stderr: %v", err)
	}
}

func TestFetchFailureRerunsMap(t *testing.T) {
	r := &fakeRunner{}
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce && a.N == 0 {
			return Outcome{Err: errors.New("fetch m-00001 failed"), Kind: MapMissing, BadMap: &MapRef{Map: 1}}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 3, Reduces: 1, MaxAttempts: 1}, r, workers(2, 2))
	if err != nil {
		t.Fatalf("a fetch failure must not count against the reduce: %v", err)
	}
	if rep.Stats.MapReruns != 1 || r.count("m-00001") != 2 || r.count("r-00000") != 2 {
		t.Fatalf("reruns=%d m1=%d r0=%d", rep.Stats.MapReruns, r.count("m-00001"), r.count("r-00000"))
	}
}

func TestLostWorkerRerunsItsMaps(t *testing.T) {
	r := &fakeRunner{}
	lostOnce := sync.Once{}
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce {
			lost := false
			lostOnce.Do(func() { lost = true })
			if lost {
				return Outcome{Err: errors.New("session closed"), Kind: Lost}
			}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 4, Reduces: 1}, r, workers(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.WorkersLost != 1 || rep.Stats.MapReruns == 0 {
		t.Fatalf("stats %+v", rep.Stats)
	}
	lost := ""
	for _, a := range r.attempts {
		if a.Task.Phase == spec.PhaseReduce {
			lost = a.Worker.ID
			break
		}
	}
	for _, m := range rep.Maps {
		if m.Worker.ID == lost {
			t.Fatalf("map %d committed on the lost worker %s", m.Task.Index, lost)
		}
	}
}

func TestTimeoutCountsAsFailure(t *testing.T) {
	const timeout = 20 * time.Millisecond
	clk := newFakeClock()
	running := make(chan struct{}, 2)
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		running <- struct{}{}
		<-ctx.Done() // hangs until the tracker gives up on it
		return Outcome{Err: ctx.Err()}
	}}
	var log eventLog
	tr := New(Config{Maps: 1, Reduces: 0, MaxAttempts: 2, TaskTimeout: timeout, Clock: clk, OnEvent: log.add}, r)
	tr.UpdateWorkers(workers(2, 1))
	done := start(t, tr)
	for range 2 {
		recv(t, running, "an attempt")
		clk.Advance(timeout)
	}
	if err := recv(t, done, "the job").err; !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if r.count("m-00000") != 2 {
		t.Fatalf("%d attempts, want 2", r.count("m-00000"))
	}
	started, failed := log.find(AttemptStarted, "m-00000"), log.find(AttemptFailed, "m-00000")
	for i := range failed {
		if ran := failed[i].Time.Sub(started[i].Time); ran != timeout {
			t.Errorf("attempt %d failed after %v, want exactly the timeout %v", i, ran, timeout)
		}
	}
}

func TestNoUsableWorkers(t *testing.T) {
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		return Outcome{Err: errors.New("session closed"), Kind: Lost}
	}}
	_, err := runJob(t, Config{Maps: 2, Reduces: 1}, r, workers(2, 1))
	if !errors.Is(err, ErrNoWorkers) {
		t.Fatalf("err = %v, want ErrNoWorkers", err)
	}
}

func TestFatalFailureEndsJobAtOnce(t *testing.T) {
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		return Outcome{Err: errors.New(`unknown input format "parquet"`), Kind: Fatal}
	}}
	_, err := runJob(t, Config{Maps: 1, Reduces: 1}, r, workers(2, 1))
	if !errors.Is(err, ErrTaskFailed) || !strings.Contains(err.Error(), "parquet") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %q, want one line naming the cause", err)
	}
	if r.count("m-00000") != 1 {
		t.Fatalf("%d attempts, want 1: a fatal failure is not retried", r.count("m-00000"))
	}
}

// The other maps take 1s; with SlowFactor 2, m-00002 is a straggler
// once it has run 2s, and not before.
func TestBackupAttemptForStraggler(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	running, release := make(chan struct{}, 4), make(chan struct{})
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.N > 0 || a.Task.Phase == spec.PhaseReduce {
			return ok(a) // the backup, the reduce
		}
		running <- struct{}{}
		if a.Task.ID() == "m-00002" {
			<-ctx.Done() // a straggler: only the tracker's kill ends it
			return Outcome{Err: ctx.Err()}
		}
		select {
		case <-release:
			return ok(a)
		case <-ctx.Done():
			return Outcome{Err: ctx.Err()}
		}
	}}
	var log eventLog
	succeeded := make(chan int, 4) // timers set when a map succeeded
	cfg := Config{Maps: 4, Reduces: 1, Speculative: true, SlowAfter: time.Second, Clock: clk,
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
	for range 3 {
		set = recv(t, succeeded, "the maps that are not slow")
	}
	// The tracker looks again when m-00002 will have run 2s.
	clk.awaitTimer(t, t0.Add(2*time.Second), set)
	clk.Advance(time.Second)
	res := recv(t, done, "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	rep := res.rep
	if rep.Stats.Backups != 1 || rep.Stats.Killed != 1 || rep.Maps[2].Attempt != 1 {
		t.Fatalf("backups=%d killed=%d committed attempt %d of m-00002", rep.Stats.Backups, rep.Stats.Killed, rep.Maps[2].Attempt)
	}
	var orig, backup string
	for _, e := range log.find(AttemptStarted, "m-00002") {
		if e.Attempt.Backup {
			backup = e.Attempt.Worker.ID
			if at := e.Time.Sub(t0); at != 2*time.Second {
				t.Errorf("backup started at %v, want 2s: twice the median", at)
			}
		} else {
			orig = e.Attempt.Worker.ID
		}
	}
	if backup == "" || backup == orig {
		t.Fatalf("backup on %q, original on %q: want a different worker", backup, orig)
	}
}

func TestWorkerLostSignalRerunsMaps(t *testing.T) {
	var tr *Tracker
	var once sync.Once
	r := &fakeRunner{}
	r.fn = func(ctx context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce && a.N == 0 {
			// The session to the worker holding map outputs dies while the
			// reduce runs; the reduce's fetch then fails.
			lost := a.Inputs[0].Worker.ID
			once.Do(func() { tr.WorkerLost(lost, "session ended") })
			return Outcome{Err: errors.New("fetch failed"), Kind: MapMissing, BadMap: &MapRef{Map: 0}}
		}
		return ok(a)
	}
	tr = New(Config{Maps: 2, Reduces: 1}, r)
	tr.UpdateWorkers(workers(3, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.WorkersLost != 1 || rep.Stats.MapReruns == 0 {
		t.Fatalf("stats %+v", rep.Stats)
	}
}

// A map whose output every reduce finds damaged must not run forever: after
// MaxOutputLosses reports the job fails, naming the map.
func TestMapOutputLostOverAndOverFailsJob(t *testing.T) {
	r := &fakeRunner{}
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce {
			last := a.Inputs[len(a.Inputs)-1]
			for _, in := range a.Inputs {
				if in.Map == 1 {
					last = in
				}
			}
			return Outcome{Err: errors.New("map output damaged"), Kind: MapDamaged, BadMap: &MapRef{Map: 1, Attempt: last.Attempt}}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 2, Reduces: 1, MaxOutputLosses: 3}, r, workers(2, 2))
	if err == nil || !errors.Is(err, ErrTaskFailed) || !strings.Contains(err.Error(), "m-00001") ||
		!strings.Contains(err.Error(), "3 times") {
		t.Fatalf("err = %v (report %+v), want the job failed naming m-00001 after 3 losses", err, rep)
	}
	if got := r.count("m-00001"); got != 3 {
		t.Fatalf("m-00001 ran %d times, want 3", got)
	}
}
