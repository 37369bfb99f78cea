package worker

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// runMapAttempt stages input and runs attempt n of map index, which must
// succeed; it returns where partition 0 of its output is.
func runMapAttempt(t *testing.T, w *Worker, s *proto.Session, job string, index, n int, art, input string) proto.MapOutput {
	t.Helper()
	id := spec.TaskID(spec.PhaseMap, index)
	putInput(t, s, job, id, n, input)
	evs := runToEnd(t, s, mapRequest(job, index, n, 1, art, nil))
	final := evs[len(evs)-1]
	if final.Error != nil {
		t.Fatalf("%s attempt %d: %v\n%s", id, n, final.Error, final.StderrTail)
	}
	o := final.Result.Outputs[0]
	return proto.MapOutput{WorkerID: w.ID(), Addr: w.Addr(), Task: id, Attempt: n, Partition: 0, Size: o.Size, CRC32C: o.CRC32C}
}

// silentPeer accepts connections and never answers, so that a fetch
// from it stays in flight; accepted says when the first one came.
func silentPeer(t *testing.T) (addr string, accepted <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var (
		once  sync.Once
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(ch) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// logTap keeps a worker's log lines, for tests that wait for one.
type logTap struct {
	t   testing.TB
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logTap) Write(b []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(b)
	l.mu.Unlock()
	return tlogWriter{l.t}.Write(b)
}

func (l *logTap) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func TestStreamedReduce(t *testing.T) {
	tap := &logTap{t: t}
	a := newTestWorker(t, func(c *Config) { c.ID = "worker-a" })
	b := newTestWorker(t, func(c *Config) {
		c.ID = "worker-b"
		c.Logger = slog.New(slog.NewTextHandler(tap, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sa, sb := connect(t, a, nil), connect(t, b, nil)
	art := putTestApp(t, sa)
	putTestApp(t, sb)

	m0 := runMapAttempt(t, a, sa, "j", 0, 1, art, "apple banana\n")
	m1 := runMapAttempt(t, a, sa, "j", 1, 0, art, "cherry\n")
	m1again := runMapAttempt(t, a, sa, "j", 1, 1, art, "durian\n") // a re-run, made different on purpose
	m2 := runMapAttempt(t, b, sb, "j", 2, 1, art, "elder\n")       // local to the reduce
	hang, accepted := silentPeer(t)
	stuck := func(index int) proto.MapOutput {
		return proto.MapOutput{WorkerID: "worker-h", Addr: hang, Task: spec.TaskID(spec.PhaseMap, index), Partition: 0}
	}

	req := reduceRequest("j", 0, 1, art, []proto.MapOutput{m1})
	req.Maps = 3
	st := launch(t, testContext(t), sb, req)
	send := func(m proto.FetchMore) {
		t.Helper()
		if err := proto.WriteFrame(st, &m); err != nil {
			t.Fatal(err)
		}
	}
	if ev := nextEvent(t, st); ev.Kind != proto.EventStaging {
		t.Fatalf("first event %+v, want staging", ev)
	}
	dir := attemptDirOf(b, "j", "r-00000", 0)
	staged := func(mo proto.MapOutput) bool {
		_, err := os.Stat(filepath.Join(dir, inName(mo)))
		return err == nil
	}
	waitFor(t, "m-00001 attempt 0 to be staged", func() bool {
		return tap.has("map output staged", "map=m-00001", "map_attempt=0")
	})

	// Map 1 ran again after its output was fetched: the reduce keeps the
	// output it has. Maps 0 and 2 start on a worker that never answers.
	send(proto.FetchMore{Fetch: []proto.MapOutput{m1again, stuck(0), stuck(2)}})
	<-accepted
	// Map 0's output moves: the stuck fetch is abandoned for the new
	// attempt. Map 2's is lost, then made again elsewhere.
	send(proto.FetchMore{Fetch: []proto.MapOutput{m0}, Lost: []string{"m-00002"}})
	send(proto.FetchMore{Fetch: []proto.MapOutput{m2}})
	var final proto.Event
	for !final.Final {
		final = nextEvent(t, st)
	}
	if final.Error != nil {
		t.Fatalf("reduce: %v\n%s", final.Error, final.StderrTail)
	}
	out := strings.Fields(string(fetchOutput(t, sb, "j", "r-00000", 0, spec.PartName(0))))
	want := []string{"apple", "1", "banana", "1", "cherry", "1", "elder", "1"}
	if !slices.Equal(out, want) {
		t.Fatalf("reduce output %q, want %q (one attempt per map)", out, want)
	}
	for _, mo := range []proto.MapOutput{m1again, stuck(0), stuck(2)} {
		if staged(mo) {
			t.Errorf("%s attempt %d was staged too", mo.Task, mo.Attempt)
		}
	}
}

func TestStreamedReduceRefusesStrangers(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	mo := proto.MapOutput{WorkerID: w.ID(), Addr: w.Addr(), Task: "m-00005", Partition: 0}

	// In the launch request itself.
	req := reduceRequest("j", 0, 1, art, []proto.MapOutput{mo})
	req.Maps = 2
	evs := runToEnd(t, s, req)
	wireCode(t, evs[len(evs)-1].Error, proto.CodeBadRequest, `"m-00005" is not one of the 2 map tasks`)

	// In a FetchMore frame.
	req = reduceRequest("j", 0, 1, art, nil)
	req.Config.Attempt, req.Maps = 1, 2
	st := launch(t, testContext(t), s, req)
	mo.Task, mo.Partition = "m-00001", 3
	if err := proto.WriteFrame(st, &proto.FetchMore{Fetch: []proto.MapOutput{mo}}); err != nil {
		t.Fatal(err)
	}
	var final proto.Event
	for !final.Final {
		final = nextEvent(t, st)
	}
	wireCode(t, final.Error, proto.CodeBadRequest, "partition 3, this reduce is partition 0")
	waitFor(t, "the slot to be freed", func() bool { return running(t, s) == 0 })
}
