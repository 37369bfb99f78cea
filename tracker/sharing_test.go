package tracker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
)

// waitingRunner is a fakeRunner that can wait for slots: WaitSlot blocks
// until free is closed.
type waitingRunner struct {
	fakeRunner
	free  chan struct{}
	waits sync.WaitGroup // WaitSlot calls begun
	once  sync.Once
}

func (r *waitingRunner) WaitSlot(ctx context.Context, w registry.WorkerInfo) error {
	r.once.Do(r.waits.Done)
	select {
	case <-r.free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A worker that other jobs keep busy refuses launches; the job waits for
// a slot and pays no attempt for it.
func TestBusyIsNotAFailure(t *testing.T) {
	r := &waitingRunner{free: make(chan struct{})}
	r.waits.Add(1)
	var mu sync.Mutex
	busy := true
	r.fn = func(_ context.Context, a Attempt) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if busy {
			return Outcome{Err: errors.New("worker w0 is busy"), Kind: Busy}
		}
		return ok(a)
	}
	go func() {
		r.waits.Wait() // the job waits for a slot: the other job's ends
		mu.Lock()
		busy = false
		mu.Unlock()
		close(r.free)
	}()
	var refused int
	cfg := Config{Maps: 3, Reduces: 1, MaxAttempts: 1, OnEvent: func(e Event) {
		if e.Kind == AttemptRefused {
			refused++
		}
	}}
	rep, err := runJob(t, cfg, r, workers(1, 2))
	if err != nil {
		t.Fatalf("busy launches failed the job: %v", err)
	}
	if refused == 0 {
		t.Fatal("no launch was refused: the test did not test anything")
	}
	if rep.Stats.Failed != 0 || rep.Stats.Attempts != 4 {
		t.Fatalf("stats %+v: want 4 attempts, none failed", rep.Stats)
	}
	for _, c := range append(rep.Maps, rep.Reduces...) {
		if c.Attempt != 0 {
			t.Fatalf("%s committed as attempt %d: a refused launch used up a number", c.Task.ID(), c.Attempt)
		}
	}
}

// A worker whose registry node vanishes loses its running attempts at
// once, without charging them, even though its runner never returns on
// its own (a hung worker).
func TestVanishedWorkerAttemptsRetriedAtOnce(t *testing.T) {
	ws := workers(2, 2)
	hung := make(chan struct{})
	var once sync.Once
	var tr *Tracker
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.Worker.ID == "w0" {
			once.Do(func() { close(hung) })
			<-ctx.Done() // only the tracker giving up ends it
			return Outcome{Err: ctx.Err()}
		}
		return ok(a)
	}}
	tr = New(Config{Maps: 4, Reduces: 1, MaxAttempts: 1}, r)
	tr.UpdateWorkers(ws)
	go func() {
		<-hung
		tr.UpdateWorkers(ws[1:]) // w0's node is gone
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := tr.Run(ctx)
	if err != nil {
		t.Fatalf("attempts lost with a worker were charged: %v", err)
	}
	if rep.Stats.WorkersLost != 1 || rep.Stats.Failed == 0 {
		t.Fatalf("stats %+v", rep.Stats)
	}
	for _, c := range append(rep.Maps, rep.Reduces...) {
		if c.Worker.ID == "w0" {
			t.Fatalf("%s committed on the lost worker", c.Task.ID())
		}
	}
}

// A draining worker takes no new attempt, but what it finishes counts.
func TestDrainingWorkerResultsCount(t *testing.T) {
	ws := workers(2, 1)
	var tr *Tracker
	release := make(chan struct{})
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.Worker.ID == "w0" && a.Task.ID() == "m-00000" {
			d := ws[0]
			d.Draining = true
			tr.UpdateWorkers([]registry.WorkerInfo{d, ws[1]})
			<-release
		} else if a.Worker.ID == "w0" {
			return Outcome{Err: errors.New("placed on a draining worker")}
		}
		return ok(a)
	}}
	var once sync.Once
	cfg := Config{Maps: 4, Reduces: 1, MaxAttempts: 1, OnEvent: func(e Event) {
		// Once another map is done, the draining worker's one finishes.
		if e.Kind == AttemptSucceeded && e.Attempt.Worker.ID == "w1" {
			once.Do(func() { close(release) })
		}
	}}
	tr = New(cfg, r)
	tr.UpdateWorkers(ws)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Maps[0].Worker.ID != "w0" || rep.Stats.MapReruns != 0 || rep.Stats.WorkersLost != 0 {
		t.Fatalf("m-00000 committed on %s, stats %+v: the draining worker's map must count",
			rep.Maps[0].Worker.ID, rep.Stats)
	}
}

// With its only worker draining, a job with tasks left waits WorkerWait
// for another worker, then fails saying so.
func TestOnlyWorkerDraining(t *testing.T) {
	const wait = 50 * time.Millisecond
	w := workers(1, 1)[0]
	w.Draining = true
	clk := newFakeClock()
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome { return ok(a) }}
	tr := New(Config{Maps: 2, Reduces: 1, WorkerWait: wait, Clock: clk}, r)
	tr.UpdateWorkers([]registry.WorkerInfo{w})
	done := start(t, tr)
	clk.awaitTimer(t, clk.Now().Add(wait), 0)
	clk.Advance(wait)
	err := recv(t, done, "the job").err
	if !errors.Is(err, ErrDraining) || !strings.Contains(err.Error(), "the only worker is draining: start another worker") {
		t.Fatalf("err = %v, want ErrDraining naming the fix", err)
	}
	if len(r.attempts) != 0 {
		t.Fatalf("%d attempts placed on a draining worker", len(r.attempts))
	}
}

// ... and finishes if a worker joins in time.
func TestDrainingWorkerReplaced(t *testing.T) {
	ws := workers(2, 1)
	ws[0].Draining = true
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		if a.Worker.ID == "w0" {
			return Outcome{Err: errors.New("placed on a draining worker")}
		}
		return ok(a)
	}}
	tr := New(Config{Maps: 2, Reduces: 1, WorkerWait: time.Minute}, r)
	tr.UpdateWorkers(ws[:1])
	go tr.UpdateWorkers(ws) // another worker joins
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Failed != 0 || rep.Reduces[0].Worker.ID != "w1" {
		t.Fatalf("stats %+v", rep.Stats)
	}
}

// Waiting for a slot is not running: no task timeout runs and no backup
// attempt starts while a task waits, however long.
func TestWaitingIsNotTimedNorSpeculated(t *testing.T) {
	r := &waitingRunner{free: make(chan struct{})}
	r.waits.Add(1)
	var mu sync.Mutex
	busy := true
	r.fn = func(_ context.Context, a Attempt) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if busy {
			return Outcome{Err: errors.New("worker w0 is busy"), Kind: Busy}
		}
		return ok(a)
	}
	// The other job holds the slot ten task timeouts long.
	const timeout = 20 * time.Millisecond
	clk := newFakeClock()
	go func() {
		r.waits.Wait()
		clk.Advance(10 * timeout)
		mu.Lock()
		busy = false
		mu.Unlock()
		close(r.free)
	}()
	cfg := Config{Maps: 2, Reduces: 1, MaxAttempts: 1, TaskTimeout: timeout,
		Speculative: true, SlowAfter: time.Millisecond, Clock: clk}
	rep, err := runJob(t, cfg, r, workers(1, 1))
	if err != nil {
		t.Fatalf("a task waiting for a slot timed out or failed: %v", err)
	}
	if rep.Stats.Failed != 0 || rep.Stats.Backups != 0 || rep.Stats.Attempts != 3 {
		t.Fatalf("stats %+v: want 3 attempts, no failure, no backup", rep.Stats)
	}
}

// A Runner that cannot wait for a slot has its busy worker tried again
// after busyPause.
func TestBusyWithoutSlotWaiterPauses(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	tries := 0
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		mu.Lock()
		defer mu.Unlock()
		if tries++; tries == 1 {
			return Outcome{Err: errors.New("worker w0 is busy"), Kind: Busy}
		}
		return ok(a)
	}}
	refused := make(chan int, 1) // timers set when the launch was refused
	cfg := Config{Maps: 1, Clock: clk, OnEvent: func(e Event) {
		if e.Kind == AttemptRefused {
			refused <- clk.timersSet()
		}
	}}
	tr := New(cfg, r)
	tr.UpdateWorkers(workers(1, 1))
	done := start(t, tr)
	set := recv(t, refused, "the refusal")
	clk.awaitTimer(t, clk.Now().Add(busyPause), set)
	clk.Advance(busyPause)
	res := recv(t, done, "the job")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.rep.Stats.Attempts != 1 || r.count("m-00000") != 2 {
		t.Fatalf("stats %+v, %d launches: want one attempt after one refusal", res.rep.Stats, r.count("m-00000"))
	}
}
