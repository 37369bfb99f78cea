package tracker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/distmr/dist/registry"
)

// Workers shared with other jobs, draining and lost.
//
// A job's view of a worker's free slots is a guess: other jobs use the
// same slots. A launch the worker refuses as busy is therefore not an
// attempt (Kind Busy): nothing is charged, the task goes back to
// pending under the same attempt number, and the worker is full for this
// job: nothing more is placed there until it says it has a slot for the
// job. While tasks wait, the tracker keeps one SlotWaiter.WaitSlot call
// open to each full worker; the worker answers them in the order the
// jobs came, reserving the slot for the job it answers (so jobs sharing a
// worker take turns), and the answer is an event here, so a slot freeing
// anywhere wakes the job. Waiting is not running: a pending task has no
// attempt, so no timeout runs and no straggler check sees it.
//
// A draining worker (its registry node says so, or it refused a launch
// as draining) takes no new attempts, but it is not lost: what it runs
// finishes and counts, and its map outputs are used. When every worker
// left drains and tasks wait, the job waits WorkerWait for another worker
// to join, then fails with ErrDraining.
//
// A lost worker (its node vanished, its session died) loses its running
// attempts at once: they are cancelled and retried elsewhere without
// being charged, rather than when their sessions die, which for a hung
// worker is the keepalive timeout, tens of seconds later.

// SlotWaiter is implemented by a Runner whose workers may be shared with
// other jobs. WaitSlot returns once worker w has a slot for this job (held
// for it for a short while), when ctx ends, or with an error wrapping
// ErrWorkerDraining when w drains. A Runner without it is tried again
// after busyPause.
type SlotWaiter interface {
	WaitSlot(ctx context.Context, w registry.WorkerInfo) error
}

// busyPause spaces launches on a busy worker for Runners that cannot
// wait for a slot (test fakes).
const busyPause = 100 * time.Millisecond

// slotFree answers a WaitSlot call: a slot on worker id is this job's, or
// (err) the wait failed. gen tells a live wait from a withdrawn one.
type slotFree struct {
	id  string
	gen int
	err error
}

// takes reports whether new attempts may go to w.
func (t *Tracker) takes(w *workerState) bool {
	return t.usable(w) && !w.draining
}

// refused handles a launch the worker turned down without running it.
func (t *Tracker) refused(tk *taskInfo, a Attempt, o Outcome) {
	t.stats.Attempts--
	if a.Backup {
		t.stats.Backups--
		tk.backedUp = false
	}
	if w := t.workers[a.Worker.ID]; w != nil {
		if w.used--; w.used == 0 {
			t.stats.WorkersUsed--
		}
		if o.Kind == Draining {
			t.drains(w, "it refused a launch")
		} else if !w.full {
			w.full = true
			t.cfg.Logger.Info("worker busy with other jobs: waiting for a slot", "worker", w.info.ID, "task", a.Task.ID())
		}
	}
	if tk.next == a.N+1 {
		tk.next = a.N // the number was not used
	}
	t.emit(AttemptRefused, a, o)
	if len(tk.running) == 0 {
		t.setPending(tk)
	}
}

// drains marks w draining: no new attempts go there.
func (t *Tracker) drains(w *workerState, why string) {
	if w.draining {
		return
	}
	w.draining = true
	t.stopWait(w)
	t.cfg.Logger.Info("worker draining: no new attempts there; what it runs and holds still counts",
		"worker", w.info.ID, "why", why)
}

// waitForSlots keeps a WaitSlot call open to every full worker while
// tasks wait for a slot, and withdraws them when none does.
func (t *Tracker) waitForSlots(ctx context.Context, tasksWait bool) {
	for _, w := range t.workers {
		switch {
		case tasksWait && w.full && (t.takes(w) || t.pinWaits(w)) && w.stopWaiting == nil:
			t.startWait(ctx, w)
		case !tasksWait && w.stopWaiting != nil:
			t.stopWait(w)
		}
	}
}

func (t *Tracker) startWait(ctx context.Context, w *workerState) {
	wctx, cancel := context.WithCancel(ctx)
	w.waitGen++
	w.stopWaiting = cancel
	gen, info := w.waitGen, w.info
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := t.waitSlot(wctx, info)
		select {
		case t.events <- slotFree{info.ID, gen, err}:
		case <-t.quit:
		}
	}()
}

func (t *Tracker) waitSlot(ctx context.Context, w registry.WorkerInfo) error {
	if sw, ok := t.runner.(SlotWaiter); ok {
		return sw.WaitSlot(ctx, w)
	}
	paused := make(chan struct{})
	timer := t.clock.AfterFunc(busyPause, func() { close(paused) })
	defer timer.Stop()
	select {
	case <-paused:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopWait withdraws w's WaitSlot call, if one is open.
func (t *Tracker) stopWait(w *workerState) {
	if w.stopWaiting != nil {
		w.stopWaiting()
		w.stopWaiting = nil
		w.waitGen++
	}
}

// slotFreed handles the answer to a WaitSlot call.
func (t *Tracker) slotFreed(ev slotFree) {
	w := t.workers[ev.id]
	if w == nil || ev.gen != w.waitGen || w.gone {
		return // withdrawn
	}
	t.stopWait(w)
	switch {
	case ev.err == nil:
		w.full = false
		t.cfg.Logger.Debug("worker has a slot for this job", "worker", ev.id)
	case errors.Is(ev.err, ErrWorkerDraining):
		t.drains(w, "it refused to wait for a slot")
	default:
		// Waiting again at once could spin; the worker is unusable.
		t.lose(ev.id, fmt.Sprintf("waiting for a slot failed: %v", ev.err))
	}
}

// abandon gives up the attempts running on lost worker id: they end now
// as failed (not charged to their tasks), and their tasks are pending.
func (t *Tracker) abandon(id, why string) {
	for _, phase := range [][]*taskInfo{t.maps, t.reduces} {
		for _, tk := range phase {
			for n, rs := range tk.running {
				if rs.attempt.Worker.ID != id {
					continue
				}
				delete(tk.running, n)
				delete(t.streams, rs)
				rs.cancel()
				if rs.timer != nil {
					rs.timer.Stop()
				}
				t.workers[id].running--
				o := Outcome{Kind: Lost, Err: fmt.Errorf("%w: %s %s", ErrWorkerLost, id, why)}
				if tk.state == done {
					t.emit(AttemptKilled, rs.attempt, o) // lost a race already; counted then
					continue
				}
				t.stats.Failed++
				tk.lastErr = o
				t.emit(AttemptFailed, rs.attempt, o)
				t.cfg.Logger.Warn("attempt abandoned with its worker, running it again", "task", tk.ref.ID(),
					"attempt", n, "worker", id, "why", why)
				if len(tk.running) == 0 {
					t.setPending(tk)
				}
			}
		}
	}
}

// checkDraining fails the job once tasks have waited WorkerWait with
// every worker left draining; a worker that takes tasks resets the wait.
func (t *Tracker) checkDraining(tasksWait bool) error {
	if !tasksWait || !t.anyUsable() || t.anyTakes() {
		t.drainingSince = time.Time{}
		return nil
	}
	now := t.clock.Now()
	if t.drainingSince.IsZero() {
		t.drainingSince = now
		t.cfg.Logger.Warn("every worker is draining: waiting for another to join", "wait", t.cfg.WorkerWait)
	}
	if left := t.cfg.WorkerWait - now.Sub(t.drainingSince); left > 0 {
		if t.drainTimer != nil {
			t.drainTimer.Stop()
		}
		t.drainTimer = t.clock.AfterFunc(left, func() {
			select {
			case t.events <- tick{}:
			case <-t.quit:
			}
		})
		return nil
	}
	var ids []string
	for id, w := range t.workers {
		if t.usable(w) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) == 1 {
		return fmt.Errorf("%w: the only worker is draining: start another worker (%s; none joined within %v)",
			ErrDraining, ids[0], t.cfg.WorkerWait)
	}
	return fmt.Errorf("%w: every worker is draining: start another worker (%s; none joined within %v)",
		ErrDraining, strings.Join(ids, ", "), t.cfg.WorkerWait)
}

func (t *Tracker) anyTakes() bool {
	for _, w := range t.workers {
		if t.takes(w) {
			return true
		}
	}
	return false
}
