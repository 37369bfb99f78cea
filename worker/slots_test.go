package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/distmr/dist/proto"
)

// waitSlot calls WaitSlot for job in the background; the result arrives
// on the returned channel.
func waitSlot(ctx context.Context, s *proto.Session, job string) <-chan error {
	c := make(chan error, 1)
	go func() {
		var r proto.WaitSlotReply
		c <- s.Call(ctx, proto.OpWaitSlot, job, &proto.WaitSlotRequest{Job: job}, &r)
	}()
	return c
}

func (w *Worker) waiting() int {
	w.slots.mu.Lock()
	defer w.slots.mu.Unlock()
	return len(w.slots.waiters)
}

func (w *Worker) reserved() int {
	w.slots.mu.Lock()
	defer w.slots.mu.Unlock()
	return len(w.slots.held)
}

// startSlow launches a map of job that holds its slot until release is
// called, and waits until it runs.
func startSlow(t *testing.T, ctx context.Context, w *Worker, s *proto.Session, art, job string) (release func()) {
	t.Helper()
	putInput(t, s, job, "m-00000", 0, "x\n")
	st := launch(t, ctx, s, mapRequest(job, 0, 0, 1, art, map[string]string{"mode": "slow"}))
	for nextEvent(t, st).Kind != proto.EventRunning {
	}
	return func() {
		if err := os.WriteFile(filepath.Join(attemptDirOf(w, job, "m-00000", 0), "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		for !nextEvent(t, st).Final {
		}
	}
}

// A busy worker serves waiting jobs in turn: the slot that frees goes to
// the job that waited first and is held for it, even against the job
// that had it; a waiter that hangs up, or whose session closes, loses its
// place.
func TestWaitSlotTakesTurns(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.Slots = 1 })
	ctx := testContext(t)
	a, b, c := connect(t, w, nil), connect(t, w, nil), connect(t, w, nil)
	art := putTestApp(t, a)
	release := startSlow(t, ctx, w, a, art, "jobA")

	putInput(t, b, "jobB", "m-00000", 0, "y\n")
	evs := runToEnd(t, b, mapRequest("jobB", 0, 0, 1, art, nil))
	wireCode(t, evs[len(evs)-1].Error, proto.CodeBusy, "all 1 slots are in use")

	bWait := waitSlot(ctx, b, "jobB")
	waitFor(t, "jobB waiting", func() bool { return w.waiting() == 1 })
	cctx, hangUp := context.WithCancel(ctx)
	cWait := waitSlot(cctx, c, "jobC")
	waitFor(t, "jobC waiting", func() bool { return w.waiting() == 2 })
	hangUp()
	<-cWait
	waitFor(t, "jobC's wait to be withdrawn", func() bool { return w.waiting() == 1 })
	d := connect(t, w, nil)
	dWait := waitSlot(ctx, d, "jobD")
	waitFor(t, "jobD waiting", func() bool { return w.waiting() == 2 })
	d.Close() // its client is gone
	<-dWait
	waitFor(t, "jobD's wait to end with its session", func() bool { return w.waiting() == 1 })

	release() // jobA's attempt ends: its slot goes to jobB
	if err := <-bWait; err != nil {
		t.Fatalf("jobB's wait: %v", err)
	}
	putInput(t, a, "jobA", "m-00001", 0, "z\n")
	evs = runToEnd(t, a, mapRequest("jobA", 1, 0, 1, art, nil))
	wireCode(t, evs[len(evs)-1].Error, proto.CodeBusy, "promised to jobs that waited first")
	if evs := runToEnd(t, b, mapRequest("jobB", 0, 0, 1, art, nil)); evs[len(evs)-1].Error != nil {
		t.Fatalf("jobB's launch on its reserved slot: %v", evs[len(evs)-1].Error)
	}
	if w.reserved() != 0 {
		t.Fatalf("%d slots still reserved after jobB launched", w.reserved())
	}
}

// A slot reserved for a job that does not come is given to the next
// waiter when its lease ends.
func TestSlotReservationExpires(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.Slots = 1 })
	ctx := testContext(t)
	a, b, c := connect(t, w, nil), connect(t, w, nil), connect(t, w, nil)
	art := putTestApp(t, a)
	release := startSlow(t, ctx, w, a, art, "jobA")
	bWait := waitSlot(ctx, b, "jobB")
	waitFor(t, "jobB waiting", func() bool { return w.waiting() == 1 })
	cWait := waitSlot(ctx, c, "jobC")
	waitFor(t, "jobC waiting", func() bool { return w.waiting() == 2 })
	release()
	if err := <-bWait; err != nil {
		t.Fatal(err)
	}
	// jobB never launches; after the lease jobC gets the slot.
	if err := <-cWait; err != nil {
		t.Fatal(err)
	}
	putInput(t, c, "jobC", "m-00000", 0, "y\n")
	if evs := runToEnd(t, c, mapRequest("jobC", 0, 0, 1, art, nil)); evs[len(evs)-1].Error != nil {
		t.Fatalf("jobC's launch: %v", evs[len(evs)-1].Error)
	}
}

// A draining worker ends every wait with shutting_down and takes no new
// one.
func TestDrainEndsSlotWaits(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.Slots = 1; c.DrainTimeout = waitTimeout })
	ctx := testContext(t)
	a, b := connect(t, w, nil), connect(t, w, nil)
	art := putTestApp(t, a)
	release := startSlow(t, ctx, w, a, art, "jobA")
	bWait := waitSlot(ctx, b, "jobB")
	waitFor(t, "jobB waiting", func() bool { return w.waiting() == 1 })
	shut := make(chan error, 1)
	go func() { shut <- w.Shutdown(ctx) }()
	wireCode(t, <-bWait, proto.CodeShuttingDown, "shutting down")
	wireCode(t, <-waitSlot(ctx, b, "jobB"), proto.CodeShuttingDown, "shutting down")
	release()
	a.Close() // jobA's client goes: nothing needs the worker any more
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}
