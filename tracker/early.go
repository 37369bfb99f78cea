package tracker

import (
	"context"
	"time"

	"github.com/distmr/dist/internal/queue"
	"github.com/distmr/dist/task/spec"
)

// Early reduces (Hadoop's "slow start"). With Config.EarlyReduces, a
// reduce may be placed as soon as no map is waiting for a slot, instead
// of only once every map is done: it takes a slot that would stay idle
// anyway, and fetches each map output as soon as it exists rather than
// all of them at the end. Such an attempt carries a Feed: the tracker
// posts each map commit to it, and each finished map whose output is
// lost (and will be made again), and the Runner passes them on to the
// worker. The worker uses exactly one attempt's output per map.
//
// Two rules keep an early reduce from hurting the maps it waits for:
//
//   - Preemption: a map that is waiting and finds no slot takes one from
//     an early reduce (the newest), which is killed and placed again
//     later without counting as a failure. Without it, reduces holding
//     every slot while waiting for a map that needs one would deadlock.
//   - Clocks: an early reduce's TaskTimeout, and its run time for
//     straggler detection, count from the moment every map is done, not
//     from its launch.

// MapUpdate tells a streamed reduce attempt about one map task: where its
// committed output is now, or (Lost) that the output it was told about is
// gone and the map will run again.
type MapUpdate struct {
	Map  int
	Loc  MapLoc // the committed attempt; zero when Lost
	Lost bool
}

// Feed carries MapUpdates from the tracker to the Runner of a reduce
// attempt launched before every map was done. The tracker never waits
// for the Runner: updates queue until Next takes them.
type Feed struct {
	maps    int
	updates *queue.Queue[MapUpdate]
}

func newFeed(maps int) *Feed {
	return &Feed{maps: maps, updates: queue.New[MapUpdate]()}
}

// Maps is the number of map tasks the reduce needs, m-00000 onwards.
func (f *Feed) Maps() int { return f.maps }

// Next waits until updates are queued and returns them, oldest first, or
// returns ctx's error once it ends.
func (f *Feed) Next(ctx context.Context) ([]MapUpdate, error) { return f.updates.Next(ctx) }

func (f *Feed) push(u MapUpdate) { f.updates.Push(u) }

// mapsDone reports whether every map task is done.
func (t *Tracker) mapsDone() bool {
	return t.stats.MapsDone == len(t.maps)
}

// reducesPlaceable reports whether pending reduces may take slots now:
// once every map is done, or with EarlyReduces as soon as no map waits.
func (t *Tracker) reducesPlaceable() bool {
	if t.mapsDone() {
		return true
	}
	return t.cfg.EarlyReduces && t.pendMaps.Len() == 0
}

func mapLoc(m *taskInfo) MapLoc {
	return MapLoc{Map: m.ref.Index, Attempt: m.commit.Attempt, Worker: m.commit.Worker, Result: m.commit.Result}
}

// postMap tells every streamed reduce attempt about map m: its new
// output, or that its output is lost.
func (t *Tracker) postMap(m *taskInfo, lost bool) {
	u := MapUpdate{Map: m.ref.Index, Lost: lost}
	if !lost {
		u.Loc = mapLoc(m)
		t.mapCommitted(m)
	}
	// The streamed attempts only: O(streamed reduces) per map commit.
	for rs := range t.streams {
		rs.feed.push(u)
	}
}

// mapOutputLost puts a done map back to pending because its output is
// gone, and tells the streamed reduces.
func (t *Tracker) mapOutputLost(m *taskInfo) {
	m.commit = nil
	t.setPending(m)
	t.stats.MapsDone--
	t.stats.MapReruns++
	t.mapLost()
	t.postMap(m, true)
}

// startClocks notes when every map became done and starts the timeouts
// of the streamed reduce attempts that waited for it.
func (t *Tracker) startClocks(now time.Time) {
	if !t.mapsDone() {
		t.mapsDoneAt = time.Time{}
		return
	}
	if t.mapsDoneAt.IsZero() {
		t.mapsDoneAt = now
	}
	for _, r := range t.reduces {
		for _, rs := range r.running {
			if rs.timer == nil {
				rs.timer = t.clock.AfterFunc(t.cfg.TaskTimeout, rs.expire)
			}
		}
	}
}

// runStart is when an attempt started doing its own work: its launch, or
// for a reduce launched early, the moment every map was done (zero while
// they are not).
func (t *Tracker) runStart(rs *runState) time.Time {
	if rs.attempt.Task.Phase != spec.PhaseReduce || rs.feed == nil {
		return rs.started
	}
	if t.mapsDoneAt.IsZero() {
		return time.Time{}
	}
	if rs.started.After(t.mapsDoneAt) {
		return rs.started
	}
	return t.mapsDoneAt
}

// preempt frees slots for maps that wait and found none, by killing
// streamed reduce attempts: at most one per waiting map, counting those
// already being killed. It takes the newest attempt on a worker the map
// may use.
func (t *Tracker) preempt(waiting []*taskInfo) {
	if len(waiting) == 0 || t.mapsDone() {
		return
	}
	inFlight := 0
	for _, r := range t.reduces {
		for _, rs := range r.running {
			if rs.preempted {
				inFlight++
			}
		}
	}
	for _, m := range waiting[min(inFlight, len(waiting)):] {
		var victim *runState
		for _, r := range t.reduces {
			for _, rs := range r.running {
				if rs.feed == nil || rs.preempted || !t.mayRun(m, rs.attempt.Worker.ID) {
					continue
				}
				if victim == nil || rs.started.After(victim.started) {
					victim = rs
				}
			}
		}
		if victim == nil {
			return
		}
		victim.preempted = true
		t.cfg.Logger.Info("map waits for a slot: stopping an early reduce", "map", m.ref.ID(),
			"reduce", victim.attempt.Task.ID(), "attempt", victim.attempt.N, "worker", victim.attempt.Worker.ID)
		victim.cancel()
	}
}

// mayRun reports whether pickWorker could choose worker id for tk, were a
// slot free there.
func (t *Tracker) mayRun(tk *taskInfo, id string) bool {
	w := t.workers[id]
	if pin := t.pin(tk); pin != "" {
		return id == pin && w != nil && !w.gone && !w.draining // as in pickWorker
	}
	if w == nil || !t.takes(w) {
		return false
	}
	if !tk.avoid[id] {
		return true
	}
	for _, o := range t.workers {
		if t.takes(o) && !tk.avoid[o.info.ID] {
			return false // a worker it did not fail on exists
		}
	}
	return true
}
