package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// The tracker at scale, in simulation (issue 13 item 8): the real
// tracker, as dist run configures it (early reduces, speculation), drives
// a job over a cluster that exists only as a fake Runner. Attempts end in
// launch order as fast as the tracker takes their ends, so the tracker
// always sees every slot busy and the rest of the job waiting: what is
// measured is its own cost per event. 1% of attempts fail, and workers
// leave (their map outputs with them) and join while the job runs.

// simShape is one simulated job.
type simShape struct {
	workers, slots int
	maps, reduces  int
	churn          int     // workers that leave, and as many that join, spread over the job
	failRate       float64 // share of attempts that fail
	seed           uint64
}

// simResult is what a simulated job measured.
type simResult struct {
	rep        *Report
	events     int           // OnEvent calls: attempts started and ended
	wall       time.Duration // tr.Run, start to end
	peakHeap   uint64        // highest HeapInuse sampled
	inputLocs  int64         // map locations handed to reduce attempts, at launch and by their feeds
	reduceRuns int64         // reduce attempts that ran
}

// simClock is a Clock for a cluster that only exists in the test: the
// driver moves time on by a step per attempt end, and timers never fire
// (nothing in the simulation hangs, so no timeout or wake-up is needed).
type simClock struct{ ns atomic.Int64 }

var _ Clock = (*simClock)(nil)

func (c *simClock) Now() time.Time                        { return time.Unix(0, c.ns.Load()) }
func (c *simClock) AfterFunc(time.Duration, func()) Timer { return simTimer{} }

type simTimer struct{}

func (simTimer) Stop() bool { return true }

// simRunner is the fake cluster: an attempt runs until the driver ends
// it; a reduce launched early first waits on its Feed for every map.
type simRunner struct {
	maps       int
	ready      chan simAttempt
	inputLocs  atomic.Int64
	reduceRuns atomic.Int64
}

type simAttempt struct {
	a   Attempt
	end chan Outcome
}

func (s *simRunner) Run(ctx context.Context, a Attempt) Outcome {
	if a.Task.Phase == spec.PhaseReduce {
		s.reduceRuns.Add(1)
		if err := s.haveEveryMap(ctx, a); err != nil {
			return Outcome{Err: err, Kind: Fatal}
		}
		if ctx.Err() != nil {
			return Outcome{Err: context.Cause(ctx)}
		}
	}
	sa := simAttempt{a, make(chan Outcome, 1)}
	select {
	case s.ready <- sa:
	case <-ctx.Done():
		return Outcome{Err: context.Cause(ctx)}
	}
	select {
	case o := <-sa.end:
		return o
	case <-ctx.Done():
		return Outcome{Err: context.Cause(ctx)}
	}
}

// haveEveryMap checks a reduce's view of the maps as a worker would use
// it: its launch list, then its feed, until it knows where every map's
// output is; each map once. An error is a tracker bug.
func (s *simRunner) haveEveryMap(ctx context.Context, a Attempt) error {
	known := make([]uint64, (s.maps+63)/64)
	n := 0
	set := func(m int, on bool) error {
		if m < 0 || m >= s.maps {
			return fmt.Errorf("%s attempt %d was told of map %d of %d", a.Task.ID(), a.N, m, s.maps)
		}
		word, bit := m/64, uint64(1)<<(m%64)
		switch was := known[word]&bit != 0; {
		case on && was:
			return fmt.Errorf("%s attempt %d was told of map %d twice", a.Task.ID(), a.N, m)
		case on:
			known[word] |= bit
			n++
		case was:
			known[word] &^= bit
			n--
		}
		return nil
	}
	s.inputLocs.Add(int64(len(a.Inputs)))
	for _, in := range a.Inputs {
		if err := set(in.Map, true); err != nil {
			return err
		}
	}
	if a.Feed == nil {
		if n != s.maps {
			return fmt.Errorf("%s attempt %d launched after the maps with %d of %d outputs", a.Task.ID(), a.N, n, s.maps)
		}
		return nil
	}
	for n < s.maps {
		ups, err := a.Feed.Next(ctx)
		if err != nil {
			return nil // killed: Run says so
		}
		s.inputLocs.Add(int64(len(ups)))
		for _, u := range ups {
			if err := set(u.Map, !u.Lost); err != nil {
				return err
			}
		}
	}
	return nil
}

// simulate runs one job of shape sh to its end.
func simulate(tb testing.TB, sh simShape) simResult {
	tb.Helper()
	clk := &simClock{}
	run := &simRunner{maps: sh.maps, ready: make(chan simAttempt)}
	var res simResult
	cfg := Config{Maps: sh.maps, Reduces: sh.reduces, EarlyReduces: true, Speculative: true, Clock: clk,
		OnEvent: func(Event) { res.events++ }} // called from the tracker goroutine only
	tr := New(cfg, run)
	ws := workers(sh.workers, sh.slots)
	tr.UpdateWorkers(ws)

	// A successful attempt's Result is shared: the tracker keeps a pointer
	// per task, and what it costs in the client is the client's concern.
	mapRes := &spec.Result{Status: spec.StatusOK, Outputs: []spec.OutputFile{{Name: spec.MapPartName(0), Size: 1}}}
	redRes := &spec.Result{Status: spec.StatusOK}
	// Attempts the job will take, roughly: when to let a worker go.
	every := max(1, (sh.maps+sh.reduces)/(sh.churn+1))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(sh.seed, 1))
		var mem runtime.MemStats
		joined := 0
		for i := 1; ; i++ {
			var sa simAttempt
			select {
			case sa = <-run.ready:
			case <-ctx.Done():
				return
			}
			clk.ns.Add(int64(time.Millisecond))
			o := Outcome{Result: mapRes}
			if sa.a.Task.Phase == spec.PhaseReduce {
				o.Result = redRes
			}
			if rng.Float64() < sh.failRate {
				o = Outcome{Err: errors.New("exit status 1")}
			}
			sa.end <- o
			if i%every == 0 && joined < sh.churn {
				// One worker leaves and a new one joins, as a registry
				// watch would report it.
				k := rng.IntN(len(ws))
				ws[k] = registry.WorkerInfo{ID: fmt.Sprintf("j%d", joined), Addr: fmt.Sprintf("10.1.0.%d:7070", joined), Slots: sh.slots}
				joined++
				tr.UpdateWorkers(append([]registry.WorkerInfo(nil), ws...))
			}
			if i%1000 == 0 {
				runtime.ReadMemStats(&mem)
				res.peakHeap = max(res.peakHeap, mem.HeapInuse)
			}
		}
	}()
	t0 := time.Now()
	rep, err := tr.Run(context.Background())
	res.wall = time.Since(t0)
	cancel()
	wg.Wait()
	if err != nil {
		tb.Fatalf("simulated job: %v", err)
	}
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	res.peakHeap = max(res.peakHeap, mem.HeapInuse)
	res.rep, res.inputLocs, res.reduceRuns = rep, run.inputLocs.Load(), run.reduceRuns.Load()
	checkSim(tb, sh, res)
	return res
}

// checkSim checks a simulated job's report: every task committed, every
// worker that left counted, and the counts agreeing with each other.
func checkSim(tb testing.TB, sh simShape, res simResult) {
	tb.Helper()
	rep, st := res.rep, res.rep.Stats
	if len(rep.Maps) != sh.maps || len(rep.Reduces) != sh.reduces || st.MapsDone != sh.maps || st.ReducesDone != sh.reduces {
		tb.Fatalf("committed %d maps, %d reduces (stats %+v), want %d and %d", len(rep.Maps), len(rep.Reduces), st, sh.maps, sh.reduces)
	}
	for i, c := range rep.Maps {
		if c.Task.Index != i || c.Task.Phase != spec.PhaseMap || c.Worker.ID == "" {
			tb.Fatalf("map %d committed as %+v", i, c)
		}
	}
	if st.WorkersLost != sh.churn {
		tb.Fatalf("%d workers lost, want %d", st.WorkersLost, sh.churn)
	}
	if sh.failRate > 0 && st.Failed == 0 {
		tb.Fatalf("no attempt failed at a failure rate of %v", sh.failRate)
	}
	// Every started attempt ended, and was counted once: a success per
	// task, a failure, or a kill.
	if got := sh.maps + sh.reduces + st.MapReruns + st.Failed + st.Killed; st.Attempts != got {
		tb.Fatalf("%d attempts started, but %d tasks + %d map reruns + %d failed + %d killed = %d",
			st.Attempts, sh.maps+sh.reduces, st.MapReruns, st.Failed, st.Killed, got)
	}
	if res.events != 2*st.Attempts {
		tb.Fatalf("%d events for %d attempts, want one start and one end each", res.events, st.Attempts)
	}
}

// TestScaleSimulation runs a small simulated job, so that `make test`
// checks the simulation the benchmark relies on.
func TestScaleSimulation(t *testing.T) {
	sh := simShape{workers: 50, slots: 4, maps: 3000, reduces: 50, churn: 5, failRate: 0.01, seed: 13}
	res := simulate(t, sh)
	t.Logf("%d events in %v; %d attempts, %d failed, %d killed, %d map reruns; peak heap %d MiB",
		res.events, res.wall, res.rep.Stats.Attempts, res.rep.Stats.Failed, res.rep.Stats.Killed,
		res.rep.Stats.MapReruns, res.peakHeap>>20)
}

// BenchmarkScale runs whole simulated jobs, up to 1,000 workers × 8
// slots, 100,000 maps and 1,000 reduces. Metrics: events/s (attempt
// starts and ends the tracker handled per second of wall time), s/job
// (the wall time to schedule the whole job), peak-heap-MiB, and
// locs/reduce (map locations handed to one reduce attempt, at launch and
// by its feed: should stay about the number of maps).
func BenchmarkScale(b *testing.B) {
	for _, sh := range []simShape{
		{workers: 100, slots: 8, maps: 10_000, reduces: 100, churn: 10},
		{workers: 300, slots: 8, maps: 30_000, reduces: 300, churn: 30},
		{workers: 1000, slots: 8, maps: 100_000, reduces: 1000, churn: 50},
	} {
		sh.failRate, sh.seed = 0.01, 13
		b.Run(fmt.Sprintf("workers=%d/maps=%d/reduces=%d", sh.workers, sh.maps, sh.reduces), func(b *testing.B) {
			var events int
			var wall time.Duration
			var peak uint64
			var locs, runs int64
			for range b.N {
				res := simulate(b, sh)
				events += res.events
				wall += res.wall
				peak = max(peak, res.peakHeap)
				locs += res.inputLocs
				runs += res.reduceRuns
			}
			b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/job")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(locs)/float64(max(runs, 1)), "locs/reduce")
		})
	}
}
