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

// collectInputs gathers what an early reduce attempt learns of the maps,
// from its Inputs and then its Feed, until it holds an output of every
// map; it returns map → attempt, or ctx's error.
func collectInputs(ctx context.Context, a Attempt, maps int, seen func(MapUpdate)) (map[int]int, error) {
	have := map[int]int{}
	for _, in := range a.Inputs {
		have[in.Map] = in.Attempt
	}
	for a.Feed != nil && len(have) < maps {
		ups, err := a.Feed.Next(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range ups {
			if seen != nil {
				seen(u)
			}
			if u.Lost {
				delete(have, u.Map)
			} else {
				have[u.Map] = u.Loc.Attempt
			}
		}
	}
	return have, nil
}

func TestEarlyReduceFetchesMapsAsTheyFinish(t *testing.T) {
	const maps = 3
	release := make([]chan struct{}, maps)
	for i := range release {
		release[i] = make(chan struct{})
	}
	reduceStarted := make(chan Attempt, 1)
	var got map[int]int
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseMap {
			select {
			case <-release[a.Task.Index]:
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
			return ok(a)
		}
		reduceStarted <- a
		have, err := collectInputs(ctx, a, maps, nil)
		if err != nil {
			return Outcome{Err: err}
		}
		got = have
		return ok(a)
	}}
	tr := New(Config{Maps: maps, Reduces: 1, EarlyReduces: true}, r)
	tr.UpdateWorkers(workers(2, 2)) // 4 slots: 3 maps and the reduce
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := tr.Run(ctx)
		done <- result{rep, err}
	}()
	var a Attempt
	select {
	case a = <-reduceStarted: // while every map still runs
	case res := <-done:
		t.Fatalf("the job ended (%v) before its reduce started", res.err)
	}
	if a.Feed == nil || len(a.Inputs) != 0 || a.Feed.Maps() != maps {
		t.Fatalf("early reduce got feed %v, %d inputs", a.Feed, len(a.Inputs))
	}
	for i := range maps {
		close(release[i])
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if len(got) != maps || got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("reduce saw map attempts %v", got)
	}
	if res.rep.Stats.Attempts != maps+1 || res.rep.Stats.Killed != 0 {
		t.Fatalf("stats %+v", res.rep.Stats)
	}
}

func TestReducesWaitForMapsWithoutEarlyReduces(t *testing.T) {
	r := &fakeRunner{fn: func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce && (a.Feed != nil || len(a.Inputs) != 3) {
			return Outcome{Err: fmt.Errorf("reduce launched with %d inputs, feed %v", len(a.Inputs), a.Feed), Kind: Fatal}
		}
		return ok(a)
	}}
	if _, err := runJob(t, Config{Maps: 3, Reduces: 2}, r, workers(3, 2)); err != nil {
		t.Fatal(err)
	}
}

// A map that fails on worker b must run on a; a's only slot holds an
// early reduce waiting for that very map: the reduce gives the slot up.
func TestEarlyReduceGivesItsSlotToAMap(t *testing.T) {
	ws := []registry.WorkerInfo{
		{ID: "a", Addr: "127.0.0.1:1", Slots: 1},
		{ID: "b", Addr: "127.0.0.1:2", Slots: 1},
	}
	var mu sync.Mutex
	where := map[string]string{}
	reduceUp := make(chan struct{})
	var once sync.Once
	r := &fakeRunner{}
	r.fn = func(ctx context.Context, a Attempt) Outcome {
		mu.Lock()
		where[fmt.Sprintf("%s/%d", a.Task.ID(), a.N)] = a.Worker.ID
		mu.Unlock()
		switch {
		case a.Task.Phase == spec.PhaseReduce:
			once.Do(func() { close(reduceUp) })
			if _, err := collectInputs(ctx, a, 2, nil); err != nil {
				return Outcome{Err: err}
			}
			return ok(a)
		case a.Task.Index == 1 && a.N == 0:
			// Fail only once m-00000 is done and the reduce sits on a.
			select {
			case <-reduceUp:
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
			return Outcome{Err: errors.New("exit status 1")}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 2, Reduces: 1, EarlyReduces: true, MaxAttempts: 2}, r, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Killed != 1 || r.count("r-00000") != 2 || r.count("m-00001") != 2 {
		t.Fatalf("killed=%d, reduce attempts %d, m-00001 attempts %d", rep.Stats.Killed, r.count("r-00000"), r.count("m-00001"))
	}
	if where["m-00001/0"] == where["m-00001/1"] {
		t.Fatalf("m-00001 retried on the worker it failed on: %v", where)
	}
}

func TestLostMapOutputIsPostedAndReplaced(t *testing.T) {
	var tr *Tracker
	lost := make(chan string, 1)
	var mu sync.Mutex
	var updates []MapUpdate
	r := &fakeRunner{}
	r.fn = func(ctx context.Context, a Attempt) Outcome {
		switch {
		case a.Task.Phase == spec.PhaseReduce:
			have, err := collectInputs(ctx, a, 2, func(u MapUpdate) {
				mu.Lock()
				updates = append(updates, u)
				mu.Unlock()
				if !u.Lost && u.Map == 0 && u.Loc.Attempt == 0 {
					tr.WorkerLost(u.Loc.Worker.ID, "test") // its output is gone
				}
				if !u.Lost && u.Map == 0 && u.Loc.Attempt == 1 {
					close(lost) // m-00001 may finish now
				}
			})
			if err != nil {
				return Outcome{Err: err}
			}
			if have[0] != 1 {
				return Outcome{Err: fmt.Errorf("reduce used m-00000 attempt %d", have[0]), Kind: Fatal}
			}
			return ok(a)
		case a.Task.Index == 1:
			select {
			case <-lost:
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
		}
		return ok(a)
	}
	tr = New(Config{Maps: 2, Reduces: 1, EarlyReduces: true}, r)
	tr.UpdateWorkers(workers(3, 2))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.MapReruns != 1 || rep.Maps[0].Attempt != 1 {
		t.Fatalf("stats %+v, m-00000 committed attempt %d", rep.Stats, rep.Maps[0].Attempt)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "m0@0 m0-lost m0@1"
	var got string
	for _, u := range updates {
		if u.Map != 0 {
			continue
		}
		if got != "" {
			got += " "
		}
		if u.Lost {
			got += "m0-lost"
		} else {
			got += fmt.Sprintf("m0@%d", u.Loc.Attempt)
		}
	}
	if got != want {
		t.Fatalf("updates for m-00000: %q, want %q", got, want)
	}
}

// A reduce that could not fetch an attempt of a map that has run again
// since must not make it run once more.
func TestStaleFetchFailureKeepsNewerMap(t *testing.T) {
	r := &fakeRunner{}
	r.fn = func(_ context.Context, a Attempt) Outcome {
		if a.Task.Phase == spec.PhaseReduce && a.N == 0 {
			return Outcome{Err: errors.New("fetch failed"), Kind: MapMissing, BadMap: &MapRef{Map: 0, Attempt: 7}}
		}
		return ok(a)
	}
	rep, err := runJob(t, Config{Maps: 2, Reduces: 1}, r, workers(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.MapReruns != 0 || r.count("m-00000") != 1 || r.count("r-00000") != 2 {
		t.Fatalf("reruns=%d, m-00000 attempts %d, reduce attempts %d", rep.Stats.MapReruns, r.count("m-00000"), r.count("r-00000"))
	}
}

// An early reduce's timeout counts from the moment every map is done,
// not from its launch.
func TestEarlyReduceTimeoutStartsWithTheLastMap(t *testing.T) {
	const timeout = time.Minute
	clk := newFakeClock()
	t0 := clk.Now()
	running, release := make(chan struct{}, 2), make(chan struct{})
	r := &fakeRunner{fn: func(ctx context.Context, a Attempt) Outcome {
		running <- struct{}{}
		if a.Task.Phase == spec.PhaseMap {
			select {
			case <-release:
				return ok(a)
			case <-ctx.Done():
				return Outcome{Err: ctx.Err()}
			}
		}
		<-ctx.Done() // the reduce never finishes: only its timeout ends it
		return Outcome{Err: ctx.Err()}
	}}
	var log eventLog
	tr := New(Config{Maps: 1, Reduces: 1, EarlyReduces: true, TaskTimeout: timeout, MaxAttempts: 1,
		Clock: clk, OnEvent: log.add}, r)
	tr.UpdateWorkers(workers(1, 2))
	done := start(t, tr)
	recv(t, running, "the map")
	recv(t, running, "the early reduce")
	mapsDone := t0.Add(timeout - time.Second) // just inside the map's own timeout
	clk.Advance(timeout - time.Second)
	close(release)
	clk.awaitTimer(t, mapsDone.Add(timeout), 0)
	clk.Advance(timeout - time.Second) // a timeout from its launch would have fired
	clk.Advance(time.Second)
	err := recv(t, done, "the job").err
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "after the last map finished") {
		t.Fatalf("err = %v, want the reduce timed out after the last map finished", err)
	}
	failed := log.find(AttemptFailed, "r-00000")
	if len(failed) != 1 || !failed[0].Time.Equal(mapsDone.Add(timeout)) {
		t.Fatalf("reduce failed %v, want once, %v after the map finished", failed, timeout)
	}
	if r.count("m-00000") != 1 {
		t.Fatalf("m-00000 ran %d times: it timed out", r.count("m-00000"))
	}
}

func TestFeedNextWaits(t *testing.T) {
	f := newFeed(2)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		f.push(MapUpdate{Map: 1})
		f.push(MapUpdate{Map: 0, Lost: true})
	}()
	var got []MapUpdate
	for len(got) < 2 {
		ups, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ups...)
	}
	if got[0].Map != 1 || !got[1].Lost {
		t.Fatalf("got %+v, want the pushes in order", got)
	}
	cancel()
	if _, err := f.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
}
