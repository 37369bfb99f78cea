package tracker

import (
	"context"
	"slices"
	"time"

	"github.com/distmr/dist/task/spec"
)

// slowCache is a phase's straggler threshold as last computed.
type slowCache struct {
	valid     bool
	done      int // tasks of the phase done then
	threshold time.Duration
	ok        bool
}

// speculate starts backup attempts for stragglers. It runs only when no
// task is waiting for a slot. A task is a straggler when its one attempt
// has run longer than SlowFactor × the median run time of the finished
// tasks of its phase, and longer than SlowAfter. Tasks that are not
// stragglers yet arm a timer for the moment they would become one, so the
// check happens without polling.
func (t *Tracker) speculate(ctx context.Context, now time.Time) {
	next := time.Duration(-1)
	var thresholds [2]time.Duration
	var oks [2]bool
	thresholds[0], oks[0] = t.slowThreshold(0, t.maps, t.stats.MapsDone)
	thresholds[1], oks[1] = t.slowThreshold(1, t.reduces, t.stats.ReducesDone)
	// Only the running tasks are looked at: O(running) per event, where
	// a scan of every task would make the job's tail O(tasks × slots).
	for tk := range t.active {
		phase := 0
		if tk.ref.Phase == spec.PhaseReduce {
			phase = 1
		}
		threshold, ok := thresholds[phase], oks[phase]
		if !ok || tk.backedUp || len(tk.running) != 1 {
			continue
		}
		var rs *runState
		for _, r := range tk.running {
			rs = r
		}
		start := t.runStart(rs)
		if start.IsZero() {
			continue // an early reduce still waiting for maps
		}
		if wait := threshold - now.Sub(start); wait > 0 {
			if next < 0 || wait < next {
				next = wait
			}
			continue
		}
		w := t.pickWorker(tk, rs.attempt.Worker.ID)
		if w == nil {
			continue // no idle slot elsewhere; a finishing attempt will call schedule again
		}
		tk.backedUp = true
		t.stats.Backups++
		t.cfg.Logger.Info("straggler: starting a backup attempt", "task", tk.ref.ID(),
			"running", now.Sub(start).Round(time.Millisecond), "threshold", threshold, "worker", w.info.ID)
		t.launch(ctx, tk, w, true)
	}
	if next >= 0 {
		t.wakeIn(next)
	}
}

// slowThreshold is the run time past which a task of the phase is a
// straggler; ok is false while no task of the phase has finished. The
// median is taken again only once the count done has moved by a
// sixteenth since the last time (always below 16): a median over 15/16
// of the tasks is as good a yardstick, and sorting every finished task
// on every event made the tail of a 100,000-map job O(tasks² log tasks).
// Amortized, O(log tasks) per event.
func (t *Tracker) slowThreshold(p int, phase []*taskInfo, doneNow int) (time.Duration, bool) {
	c := &t.slow[p]
	if c.valid && (c.done == doneNow || doneNow >= 16 && abs(doneNow-c.done) < c.done/16) {
		return c.threshold, c.ok
	}
	c.threshold, c.ok = t.medianThreshold(phase)
	c.done, c.valid = doneNow, true
	return c.threshold, c.ok
}

func abs(n int) int { return max(n, -n) }

func (t *Tracker) medianThreshold(phase []*taskInfo) (time.Duration, bool) {
	var took []time.Duration
	for _, tk := range phase {
		if tk.state == done && tk.took > 0 {
			took = append(took, tk.took)
		}
	}
	if len(took) == 0 {
		return 0, false
	}
	slices.Sort(took)
	median := took[len(took)/2]
	threshold := time.Duration(float64(median) * t.cfg.SlowFactor)
	return max(threshold, t.cfg.SlowAfter), true
}

// wakeIn makes the tracker look at its tasks again after d.
func (t *Tracker) wakeIn(d time.Duration) {
	if t.timer != nil {
		t.timer.Stop()
	}
	t.timer = t.clock.AfterFunc(d, func() {
		select {
		case t.events <- tick{}:
		case <-t.quit:
		}
	})
}
