package tracker

import (
	"container/heap"
	"context"
	"slices"

	"github.com/distmr/dist/task/spec"
)

// What one event costs. Every event (an attempt ending, a worker joining
// or leaving, a slot freeing) is followed by schedule, so schedule's cost
// per event bounds the job one tracker can drive: at 1,000 workers and
// 100,000 maps (BENCH.md, "The tracker at scale") nothing it does per
// event may scan every task, and nothing per placement may scan more than
// the workers once. The decisions and their costs:
//
//   - which task next: the pending tasks of each phase wait in a heap by
//     index (a retry goes before the maps that never ran, as before), so
//     taking one is O(log tasks), and whether any map waits is O(1);
//   - which worker: pickWorker, O(workers) per task placed or per task
//     that finds no slot; once a task that may use any worker finds none,
//     place stops (no other such task would find one), so an event costs
//     O(workers) plus the tasks it places, not O(waiting tasks × workers);
//   - whether the job is done, whether a worker is usable: counters,
//     O(1);
//   - a reduce's launch list: shared read-only slices, rebuilt only when
//     a map output is lost (see committedMaps), so reduces launched early
//     do not each copy every map's location.

// taskQueue is a min-heap of pending tasks by index.
type taskQueue []*taskInfo

func (q taskQueue) Len() int           { return len(q) }
func (q taskQueue) Less(i, j int) bool { return q[i].ref.Index < q[j].ref.Index }
func (q taskQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *taskQueue) Push(x any)        { *q = append(*q, x.(*taskInfo)) }
func (q *taskQueue) Pop() any {
	old := *q
	tk := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return tk
}

func (t *Tracker) queueOf(p spec.Phase) *taskQueue {
	if p == spec.PhaseMap {
		return &t.pendMaps
	}
	return &t.pendReduces
}

// setPending makes tk wait for a slot. Every way back to pending goes
// through here, and the only way out is place launching it.
func (t *Tracker) setPending(tk *taskInfo) {
	if tk.state == pending {
		return
	}
	tk.state = pending
	delete(t.active, tk)
	heap.Push(t.queueOf(tk.ref.Phase), tk)
}

// place launches pending tasks on free slots, maps first, then reduces
// if they may be placed now. It returns the maps left waiting for a slot
// (for preempt: at most as many as there are streamed reduces to stop),
// and whether every pending task was placed (so that slots may be idle).
func (t *Tracker) place(ctx context.Context) (waiting []*taskInfo, all bool) {
	waiting = t.placeFrom(ctx, &t.pendMaps, len(t.streams))
	if len(waiting) > 0 || t.pendMaps.Len() > 0 {
		return waiting, false
	}
	if !t.reducesPlaceable() {
		return nil, true
	}
	t.placeFrom(ctx, &t.pendReduces, 0)
	return nil, t.pendReduces.Len() == 0
}

// placeFrom launches the tasks of q, lowest index first, while they find
// a worker. It returns the tasks it looked at and could not place, plus
// up to extra more that it did not look at (they would find no slot).
func (t *Tracker) placeFrom(ctx context.Context, q *taskQueue, extra int) (unplaced []*taskInfo) {
	pinned := len(t.cfg.Pins) > 0
	noSlot := false // a task that may go to any worker found none
	for q.Len() > 0 {
		if noSlot && !pinned {
			if extra == 0 {
				break
			}
			extra--
			unplaced = append(unplaced, heap.Pop(q).(*taskInfo))
			continue
		}
		tk := heap.Pop(q).(*taskInfo)
		w := t.pickWorker(tk, "")
		if w == nil {
			unplaced = append(unplaced, tk)
			// A task that failed on some workers, or is pinned, may find
			// no slot where another would.
			noSlot = noSlot || len(tk.avoid) == 0 && t.pin(tk) == ""
			continue
		}
		tk.state = running // out of the queue; launch says so too
		t.launch(ctx, tk, w, false)
	}
	for _, tk := range unplaced {
		heap.Push(q, tk)
	}
	return unplaced
}

// committedMaps lists where the output of every done map is, for a reduce
// launched now. The slice is shared with other launches and must not be
// changed. A reduce launched after the last map gets the list in map
// order, built once while no map output changes; one launched early
// (streamed, with a Feed) gets the commits so far in commit order (the
// worker orders a streamed reduce's inputs itself), a prefix of one log
// that only grows, so a thousand early reduces share one list instead of
// holding a thousand copies: O(maps) memory, not O(maps × reduces). A
// lost output rebuilds the log, O(maps), once per loss.
func (t *Tracker) committedMaps(streamed bool) []MapLoc {
	if t.locLost {
		t.locLog = t.locLog[:0:0]
		for _, m := range t.maps {
			if m.state == done {
				t.locLog = append(t.locLog, mapLoc(m))
			}
		}
		t.locLost = false
	}
	if streamed {
		return t.locLog[:len(t.locLog):len(t.locLog)]
	}
	if t.locSorted == nil {
		t.locSorted = slices.Clone(t.locLog)
		slices.SortFunc(t.locSorted, func(a, b MapLoc) int { return a.Map - b.Map })
	}
	return t.locSorted
}

// mapCommitted and mapLost keep committedMaps' lists.
func (t *Tracker) mapCommitted(m *taskInfo) {
	if !t.locLost {
		t.locLog = append(t.locLog, mapLoc(m))
	}
	t.locSorted = nil
}

func (t *Tracker) mapLost() {
	t.locLost = true
	t.locSorted = nil
}
