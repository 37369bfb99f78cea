package tracker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Runner runs attempts on workers. Run blocks until the attempt ends or ctx
// is cancelled (then the attempt must be killed before Run returns).
type Runner interface {
	Run(ctx context.Context, a Attempt) Outcome
}

type taskState int

const (
	pending taskState = iota
	running
	done
)

type taskInfo struct {
	ref      TaskRef
	state    taskState
	failures int // failed attempts that count against MaxAttempts
	// outputLosses counts, for a map, the reduces' reports that its
	// committed output could not be fetched or was damaged.
	outputLosses int
	next         int               // next attempt number
	avoid        map[string]bool   // workers this task failed on
	running      map[int]*runState // attempt number → live attempt
	commit       *Committed
	lastErr      Outcome
	took         time.Duration // run time of the committed attempt
	backedUp     bool          // a backup attempt was started
}

type runState struct {
	attempt Attempt
	cancel  context.CancelFunc
	started time.Time
	// expire ends the attempt as timed out; timer calls it TaskTimeout
	// after the launch, or for a reduce launched before every map was
	// done, after they are (nil until then).
	expire func()
	timer  Timer
	// Of a reduce launched before every map was done (early.go): its
	// feed, and whether it is being killed to free its slot for a map.
	feed      *Feed
	preempted bool
}

type workerState struct {
	info     registry.WorkerInfo
	running  int
	failures int
	used     int
	gone     bool // left the registry or its session died
	// Shared workers (sharing.go): a draining worker takes no new
	// attempts; a full one refused a launch as busy and takes none until
	// it says it has a slot for this job. stopWaiting withdraws the
	// WaitSlot call open to it, if any; waitGen tells that call's answer
	// from a withdrawn one's.
	draining    bool
	full        bool
	stopWaiting context.CancelFunc
	waitGen     int
}

type attemptEnded struct {
	a Attempt
	o Outcome
}

type workersChanged struct{ ws []registry.WorkerInfo }

type workerLost struct{ id, why string }

// tick wakes the tracker when a running task may have become a straggler.
type tick struct{}

// Tracker runs one job. Create it with New, feed it workers with
// UpdateWorkers, and call Run once.
type Tracker struct {
	cfg    Config
	runner Runner
	clock  Clock
	events chan any
	quit   chan struct{} // closed when Run returns

	maps    []*taskInfo
	reduces []*taskInfo
	workers map[string]*workerState
	stats   Stats
	// failure, once set (a pinned input lost with its worker), ends Run
	// with it.
	failure error
	wg      sync.WaitGroup
	start   time.Time
	timer   Timer // next straggler check, if any
	// mapsDoneAt is when every map last became done; zero while one is
	// not (early.go).
	mapsDoneAt time.Time
	// drainingSince is when tasks began to wait with every worker
	// draining; drainTimer ends that wait (sharing.go).
	drainingSince time.Time
	drainTimer    Timer

	// The indexes that keep an event's cost off the number of tasks
	// (pending.go): pending tasks by phase; workers neither gone nor
	// past MaxWorkerFailures; reduce attempts running with a Feed; the
	// map locations reduces are launched with.
	pendMaps, pendReduces taskQueue
	healthy               int
	streams               map[*runState]struct{}
	// active holds the tasks running, for speculate; slow caches its
	// thresholds, maps then reduces.
	active            map[*taskInfo]struct{}
	slow              [2]slowCache
	locLog, locSorted []MapLoc
	locLost           bool
	// recoveredOn holds the workers of recovered maps until the first
	// setWorkers checks they are still there.
	recoveredOn map[string]bool
	// pinsChecked says the first workers were checked against the pins.
	pinsChecked bool
}

// New prepares a tracker for a job.
func New(cfg Config, r Runner) *Tracker {
	cfg.defaults()
	t := &Tracker{
		cfg:     cfg,
		runner:  r,
		clock:   cfg.Clock,
		events:  make(chan any, 64),
		quit:    make(chan struct{}),
		workers: map[string]*workerState{},
		active:  map[*taskInfo]struct{}{},
		streams: map[*runState]struct{}{},
	}
	if t.clock == nil {
		t.clock = systemClock{}
	}
	for i := 0; i < cfg.Maps; i++ {
		t.maps = append(t.maps, newTask(spec.PhaseMap, i))
	}
	for i := 0; i < cfg.Reduces; i++ {
		t.reduces = append(t.reduces, newTask(spec.PhaseReduce, i))
	}
	for _, tk := range t.maps {
		tk.next = cfg.FirstAttempt
	}
	for _, tk := range t.reduces {
		tk.next = cfg.FirstAttempt
	}
	for _, c := range cfg.Recovered {
		t.recover(c)
	}
	// In index order, each slice is a heap already.
	for _, tk := range t.maps {
		if tk.state == pending {
			t.pendMaps = append(t.pendMaps, tk)
		}
	}
	for _, tk := range t.reduces {
		if tk.state == pending {
			t.pendReduces = append(t.pendReduces, tk)
		}
	}
	return t
}

// recover marks a task an earlier run committed as done. Its worker is
// checked against the first set of live workers (setWorkers).
func (t *Tracker) recover(c Committed) {
	list := t.maps
	if c.Task.Phase == spec.PhaseReduce {
		list = t.reduces
	}
	if c.Task.Index < 0 || c.Task.Index >= len(list) || list[c.Task.Index].state == done {
		return
	}
	tk := list[c.Task.Index]
	tk.state = done
	tk.commit = &c
	tk.next = max(c.Attempt+1, t.cfg.FirstAttempt)
	t.stats.Recovered++
	if c.Task.Phase == spec.PhaseMap {
		t.stats.MapsDone++
		t.mapCommitted(tk)
		if t.recoveredOn == nil {
			t.recoveredOn = map[string]bool{}
		}
		t.recoveredOn[c.Worker.ID] = true
	} else {
		t.stats.ReducesDone++
	}
}

func newTask(p spec.Phase, i int) *taskInfo {
	return &taskInfo{ref: TaskRef{p, i}, avoid: map[string]bool{}, running: map[int]*runState{}}
}

// UpdateWorkers tells the tracker the full set of live workers. Safe to
// call from any goroutine, before or during Run.
func (t *Tracker) UpdateWorkers(ws []registry.WorkerInfo) {
	select {
	case t.events <- workersChanged{ws}:
	case <-t.quit:
	}
}

// WorkerLost tells the tracker a worker is gone (its session died) even
// though the registry may not know yet. Safe from any goroutine.
func (t *Tracker) WorkerLost(id, why string) {
	select {
	case t.events <- workerLost{id, why}:
	case <-t.quit:
	}
}

// Run drives the job to its end. It returns the report of committed
// attempts, or the error that failed the job. Every attempt it started has
// ended when it returns.
func (t *Tracker) Run(ctx context.Context) (*Report, error) {
	if t.cfg.Maps < 1 {
		return nil, fmt.Errorf("job has no map tasks")
	}
	t.start = t.clock.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		close(t.quit)
		t.stopTimers()
		t.wg.Wait()
	}()
	for {
		if t.finished() {
			return t.report(), nil
		}
		if t.failure != nil {
			return nil, t.failure
		}
		if err := t.schedule(ctx); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case ev := <-t.events:
			if err := t.handle(ev); err != nil {
				return nil, err
			}
		}
	}
}

// finished reports whether the job is done, from the counts: O(1).
func (t *Tracker) finished() bool {
	if len(t.reduces) > 0 {
		return t.reducesDone()
	}
	return t.mapsDone()
}

func (t *Tracker) handle(ev any) error {
	switch ev := ev.(type) {
	case workersChanged:
		t.setWorkers(ev.ws)
	case attemptEnded:
		return t.ended(ev.a, ev.o)
	case workerLost:
		t.lose(ev.id, ev.why)
	case slotFree:
		t.slotFreed(ev)
	case tick:
	}
	return nil
}

func (t *Tracker) setWorkers(ws []registry.WorkerInfo) {
	seen := map[string]bool{}
	for _, w := range ws {
		seen[w.ID] = true
		if st, ok := t.workers[w.ID]; ok {
			if !st.gone {
				st.info = w
				if w.Draining {
					t.drains(st, "its registry node says so")
				}
			}
			continue
		}
		t.workers[w.ID] = &workerState{info: w, draining: w.Draining}
		t.healthy++
		t.cfg.Logger.Debug("worker joined", "worker", w.ID, "addr", w.Addr, "slots", w.Slots)
	}
	for id, st := range t.workers {
		if !seen[id] && !st.gone {
			t.lose(id, "left the registry")
		}
	}
	if !t.pinsChecked {
		t.pinsChecked = true
		t.checkPins(seen)
	}
	if t.recoveredOn != nil {
		t.checkRecovered(seen)
	}
}

// checkPins fails the job when a map that is still needed is pinned to a
// worker missing from the first live workers: nothing could ever place
// it. A master taking a job over reuses its predecessor's plan, whose pins
// may name a worker gone since. O(maps × pinned workers), once per job.
func (t *Tracker) checkPins(seen map[string]bool) {
	checked := map[string]bool{}
	for _, p := range t.cfg.Pins {
		if p.Worker == "" || seen[p.Worker] || checked[p.Worker] {
			continue
		}
		checked[p.Worker] = true
		if err := t.pinnedLost(p.Worker, "it is not among the live workers"); err != nil && t.failure == nil {
			t.failure = err
			return
		}
	}
}

// checkRecovered runs again, once, the recovered maps whose worker is not
// among the first live workers: their outputs went with it. O(maps), once
// per job.
func (t *Tracker) checkRecovered(seen map[string]bool) {
	gone := t.recoveredOn
	t.recoveredOn = nil
	if len(t.reduces) == 0 || t.reducesDone() {
		return
	}
	for id := range gone {
		if seen[id] {
			delete(gone, id)
		}
	}
	if len(gone) == 0 {
		return
	}
	for _, m := range t.maps {
		if m.state == done && gone[m.commit.Worker.ID] {
			t.cfg.Logger.Info("recovered map output's worker is gone, running it again", "task", m.ref.ID(), "worker", m.commit.Worker.ID)
			t.mapOutputLost(m)
		}
	}
}

// lose marks a worker gone: nothing new is placed on it, its running
// attempts are given up and retried elsewhere at once (sharing.go), and
// the finished map outputs it holds are run again while reducers still
// need them.
func (t *Tracker) lose(id, why string) {
	st := t.workers[id]
	if st == nil || st.gone {
		return
	}
	st.gone = true
	if st.failures < t.cfg.MaxWorkerFailures {
		t.healthy--
	}
	t.stopWait(st)
	t.stats.WorkersLost++
	t.cfg.Logger.Warn("worker lost", "worker", id, "why", why)
	t.abandon(id, why)
	if err := t.pinnedLost(id, why); err != nil && t.failure == nil {
		t.failure = err
	}
	if len(t.reduces) == 0 || t.reducesDone() {
		return
	}
	for _, m := range t.maps {
		if m.state == done && m.commit.Worker.ID == id {
			t.cfg.Logger.Info("map output lost with its worker, running it again", "task", m.ref.ID(), "worker", id)
			t.mapOutputLost(m)
		}
	}
}

func (t *Tracker) reducesDone() bool {
	return t.stats.ReducesDone == len(t.reduces)
}

func (t *Tracker) ended(a Attempt, o Outcome) error {
	tk := t.taskOf(a.Task)
	rs := tk.running[a.N]
	if rs == nil {
		return nil
	}
	delete(tk.running, a.N)
	delete(t.streams, rs)
	rs.cancel()
	if rs.timer != nil {
		rs.timer.Stop()
	}
	if w := t.workers[a.Worker.ID]; w != nil {
		w.running--
	}
	switch {
	case tk.state == done: // another attempt won; this one was killed (counted in commit)
		t.emit(AttemptKilled, a, o)
	case o.Kind == Busy || o.Kind == Draining: // the worker did not run it (sharing.go)
		t.refused(tk, a, o)
	case rs.preempted && !o.Succeeded(): // its slot went to a map (early.go); not a failure
		t.stats.Killed++
		o.Err = fmt.Errorf("%w: %s attempt %d", ErrPreempted, a.Task.ID(), a.N)
		t.emit(AttemptKilled, a, o)
		if len(tk.running) == 0 {
			t.setPending(tk)
		}
	case o.Succeeded():
		t.commit(tk, a, o, t.clock.Now().Sub(t.runStart(rs)))
		t.emit(AttemptSucceeded, a, o)
	default:
		t.emit(AttemptFailed, a, o)
		return t.failed(tk, a, o)
	}
	return nil
}

func (t *Tracker) commit(tk *taskInfo, a Attempt, o Outcome, took time.Duration) {
	tk.state = done
	delete(t.active, tk)
	tk.commit = &Committed{Task: a.Task, Attempt: a.N, Worker: a.Worker, Result: o.Result}
	tk.took = took
	for _, rs := range tk.running {
		rs.cancel() // attempts that lost the race; they end in ended
		t.stats.Killed++
	}
	if a.Task.Phase == spec.PhaseMap {
		t.stats.MapsDone++
		if t.stats.MapsDone == len(t.maps) {
			t.stats.ElapsedMaps = t.clock.Now().Sub(t.start)
		}
		t.postMap(tk, false)
	} else {
		t.stats.ReducesDone++
	}
	t.cfg.Logger.Debug("attempt committed", "task", a.Task.ID(), "attempt", a.N, "worker", a.Worker.ID)
	if t.cfg.OnCommit != nil {
		t.cfg.OnCommit(*tk.commit)
	}
}

// JobError says which task failed the job and why.
type JobError struct {
	Task       TaskRef
	Msg        string
	Cause      error
	StderrTail string
}

func (e *JobError) Error() string { return e.Msg }

// Unwrap lets errors.Is find both ErrTaskFailed and the cause.
func (e *JobError) Unwrap() []error { return []error{ErrTaskFailed, e.Cause} }

func (t *Tracker) taskOf(r TaskRef) *taskInfo {
	if r.Phase == spec.PhaseMap {
		return t.maps[r.Index]
	}
	return t.reduces[r.Index]
}

// schedule places pending tasks on free slots: maps first; reduces once
// every map is done, or with EarlyReduces once no map waits (early.go).
// Maps that find no slot take one from an early reduce.
func (t *Tracker) schedule(ctx context.Context) error {
	t.startClocks(t.clock.Now())
	waiting, all := t.place(ctx)
	t.preempt(waiting)
	if all && t.cfg.Speculative {
		t.speculate(ctx, t.clock.Now())
	}
	t.waitForSlots(ctx, !all)
	if !all && t.runningCount() == 0 && !t.anyUsable() && len(t.workers) > 0 {
		return fmt.Errorf("%w: %d known, all lost or failing (%s)", ErrNoWorkers, len(t.workers), t.workerSummary())
	}
	return t.checkDraining(!all)
}

// usable says whether w may take attempts of this job: it has not left,
// and it has failed fewer than MaxWorkerFailures of them, unless every
// worker left has: then the job would starve, and the limit is lifted
// (a task still fails after MaxAttempts).
func (t *Tracker) usable(w *workerState) bool {
	if w.gone {
		return false
	}
	// healthy counts the workers left under the limit: O(1), where a
	// scan of the workers here would make pickWorker O(workers²).
	return w.failures < t.cfg.MaxWorkerFailures || t.healthy == 0
}

func (t *Tracker) anyUsable() bool {
	for _, w := range t.workers {
		if t.usable(w) {
			return true
		}
	}
	return false
}

// pickWorker chooses a worker with a free slot for tk, or nil; draining
// workers take nothing new, and full ones nothing until they have a slot
// for this job (sharing.go). Workers this task failed on are used only
// when no other usable worker exists (busy or not): a retry waits for a
// different worker rather than going back to the one that failed it.
// Among the candidates it picks the most free slots, then the least used,
// so that tasks spread across the cluster.
// not, when set, is a worker that must not be picked (the one running the
// attempt a backup is for).
func (t *Tracker) pickWorker(tk *taskInfo, not string) *workerState {
	if pin := t.pin(tk); pin != "" {
		// The input is on that worker only: it takes the map whatever
		// its failures (MaxAttempts still bounds them), and nothing
		// else can.
		w := t.workers[pin]
		if w == nil || w.gone || w.draining || w.full || w.running >= w.info.Slots || pin == not {
			return nil
		}
		return w
	}
	fresh := false
	for _, w := range t.workers {
		if t.takes(w) && !tk.avoid[w.info.ID] {
			fresh = true
			break
		}
	}
	var best *workerState
	for _, w := range t.workers {
		if !t.takes(w) || w.full || w.running >= w.info.Slots || (fresh && tk.avoid[w.info.ID]) || w.info.ID == not {
			continue
		}
		if best == nil || betterWorker(w, best) {
			best = w
		}
	}
	return best
}

// pin is the worker tk must run on, or "".
func (t *Tracker) pin(tk *taskInfo) string {
	if tk.ref.Phase != spec.PhaseMap || tk.ref.Index >= len(t.cfg.Pins) {
		return ""
	}
	return t.cfg.Pins[tk.ref.Index].Worker
}

// pinnedLost fails the job when worker id, now lost, held the only copy
// of an input still needed: a map's that has yet to run, or one whose
// output reduces still need.
func (t *Tracker) pinnedLost(id, why string) error {
	needOutputs := len(t.reduces) > 0 && !t.reducesDone()
	for _, m := range t.maps {
		if t.pin(m) != id || (m.state == done && !needOutputs) {
			continue
		}
		addr := "address unknown"
		if st := t.workers[id]; st != nil {
			addr = st.info.Addr
		}
		return &JobError{Task: m.ref, Msg: fmt.Sprintf("input %s is only on worker %s (%s), which was lost (%s): there is no other copy; run the job again once the worker is back",
			t.cfg.Pins[m.ref.Index].Input, id, addr, why), Cause: ErrInputLost}
	}
	return nil
}

// pinWaits reports whether a pending map is pinned to w and may go there
// once it has a slot: pickWorker places it whatever w's failures.
func (t *Tracker) pinWaits(w *workerState) bool {
	if w.gone || w.draining {
		return false
	}
	for _, m := range t.maps {
		if m.state == pending && t.pin(m) == w.info.ID {
			return true
		}
	}
	return false
}

func betterWorker(a, b *workerState) bool {
	fa, fb := a.info.Slots-a.running, b.info.Slots-b.running
	if fa != fb {
		return fa > fb
	}
	if a.used != b.used {
		return a.used < b.used
	}
	return a.info.ID < b.info.ID
}

func (t *Tracker) launch(ctx context.Context, tk *taskInfo, w *workerState, backup bool) {
	a := Attempt{Task: tk.ref, N: tk.next, Worker: w.info, Backup: backup}
	tk.next++
	rs := &runState{started: t.clock.Now()}
	if tk.ref.Phase == spec.PhaseReduce {
		streamed := !t.mapsDone()
		a.Inputs = t.committedMaps(streamed)
		if streamed {
			rs.feed = newFeed(len(t.maps))
			a.Feed = rs.feed
			t.streams[rs] = struct{}{}
		}
	}
	rs.attempt = a
	actx := t.attemptContext(ctx, rs)
	tk.running[a.N] = rs
	tk.state = running
	t.active[tk] = struct{}{}
	if w.used == 0 {
		t.stats.WorkersUsed++
	}
	w.running++
	w.used++
	t.stats.Attempts++
	t.emit(AttemptStarted, a, Outcome{})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		o := overrun(t.runner.Run(actx, a), context.Cause(actx))
		select {
		case t.events <- attemptEnded{a, o}:
		case <-t.quit:
		}
	}()
}

func (t *Tracker) runningCount() int {
	n := 0
	for _, w := range t.workers {
		n += w.running
	}
	return n
}

func (t *Tracker) workerSummary() string {
	var parts []string
	for id, w := range t.workers {
		switch {
		case w.gone:
			parts = append(parts, id+": lost")
		case w.failures >= t.cfg.MaxWorkerFailures:
			parts = append(parts, fmt.Sprintf("%s: %d failed attempts", id, w.failures))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (t *Tracker) emit(k EventKind, a Attempt, o Outcome) {
	if t.cfg.OnEvent != nil {
		t.cfg.OnEvent(Event{Kind: k, Attempt: a, Outcome: o, Time: t.clock.Now()})
	}
}

func (t *Tracker) report() *Report {
	r := &Report{Counters: map[string]int64{}, Stats: t.stats}
	if len(t.reduces) > 0 {
		r.Stats.ElapsedReduces = t.clock.Now().Sub(t.start) - t.stats.ElapsedMaps
		// What the reduces fetch is every committed map's partitions; an
		// early reduce's launch list is partial, so count from the maps.
		for _, m := range t.maps {
			if m.commit != nil && m.commit.Result != nil {
				for _, out := range m.commit.Result.Outputs {
					if out.Partition < len(t.reduces) {
						r.Stats.ShuffledBytes += out.Size
					}
				}
			}
		}
	}
	add := func(c *Committed) {
		if c.Result == nil {
			return
		}
		for k, v := range c.Result.Counters {
			r.Counters[string(c.Task.Phase)+"."+k] += v
		}
	}
	for _, m := range t.maps {
		r.Maps = append(r.Maps, *m.commit)
		add(m.commit)
	}
	for _, p := range t.reduces {
		r.Reduces = append(r.Reduces, *p.commit)
		add(p.commit)
	}
	return r
}
