package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// Jobs sharing a cluster (issue 10, items 7-9): a busy worker is not a
// failure, a hung worker is lost as soon as its registry node goes, and a
// draining worker's work counts.

// watched is a `dist run` in the background whose stderr the test can
// read while it runs.
type watched struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	errb   bytes.Buffer
	done   chan struct{}
	result result
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func startWatched(t *testing.T, args ...string) *watched {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	j := &watched{cmd: exec.CommandContext(ctx, env.Dist(t), args...), done: make(chan struct{})}
	j.cmd.Stdout, j.cmd.Stderr = lockedWriter{&j.mu, &j.out}, lockedWriter{&j.mu, &j.errb}
	if err := j.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer close(j.done)
		defer cancel()
		err := j.cmd.Wait()
		j.mu.Lock()
		defer j.mu.Unlock()
		j.result = result{stdout: j.out.String(), stderr: j.errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			j.result.code = ee.ExitCode()
		} else if err != nil {
			j.result.code = -1
		}
	}()
	t.Cleanup(func() {
		_ = j.cmd.Process.Kill()
		<-j.done
	})
	return j
}

func (j *watched) stderrHas(s string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Contains(j.errb.String(), s)
}

func (j *watched) exited() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

func (j *watched) wait(t *testing.T) result {
	t.Helper()
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.result
}

// gateApp is word count whose attempts can be held at a gate
// (testdata/gate).
func gateApp(t *testing.T) string {
	return env.Build(t, "./cmd/dist/testdata/gate", false, "CGO_ENABLED=0")
}

// atGate lists the attempts "<task>-<attempt>" waiting (or once waiting)
// at the gates in dir.
func atGate(dir, prefix string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"*.running"))
	for i := range m {
		m[i] = strings.TrimSuffix(filepath.Base(m[i]), ".running")
	}
	return m
}

// openGate lets the attempts waiting for name ("open", or "<task>.open")
// go on.
func openGate(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runningOn returns the worker that launched attempt dir ("m-00000-0").
func runningOn(workers []*testenv.Worker, dir string) *testenv.Worker {
	for _, w := range workers {
		for _, d := range attemptDirs(w, "task.msgpack") {
			if d == dir {
				return w
			}
		}
	}
	return nil
}

// stopped reports whether process pid is stopped (SIGSTOP).
func stopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'T'
}

// Job A holds every slot of the workers; job B, started after it, waits
// for slots instead of failing, gets its turns while A still runs, and
// is charged nothing for the wait.
func TestBusyWorkersShareTurns(t *testing.T) {
	t.Parallel()
	w1 := testenv.StartWorker(t, env.Dist(t), "--slots", "2")
	w2 := testenv.StartWorker(t, env.Dist(t), "--slots", "2")
	addrs := w1.Addr + "," + w2.Addr
	glob, books := booksGlob(t)
	gates := t.TempDir()
	outA, outB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	// A's first wave of maps waits at a gate, holding all 4 slots; its
	// reduce waits at another until B is done, so A outlives B.
	a := startWatched(t, "run", "--workers", addrs, "--app", gateApp(t), "--input", glob, "--output", outA,
		"--reduces", "1", "--speculative=false",
		"--param", `gate=^(m-[0-9]+/0|r-00000/[0-9]+)$`, "--param", "gate_dir="+gates)
	waitFor(t, time.Minute, "job A holding every slot", func() bool { return len(atGate(gates, "m-")) == 4 || a.exited() })
	if a.exited() {
		t.Fatalf("job A ended early:\n%s", a.wait(t).stderr)
	}
	b := startWatched(t, "run", "--workers", addrs, "--app", env.App(t, "wordcount"),
		"--input", books[0], "--input", books[1], "--output", outB, "--reduces", "1", "--log-level", "info")
	waitFor(t, time.Minute, "job B waiting for a slot", func() bool { return b.stderrHas("waiting for a slot") || b.exited() })
	if b.exited() {
		r := b.wait(t)
		t.Fatalf("job B ended while A held every slot instead of waiting (exit %d):\n%s", r.code, r.stderr)
	}
	for i := range books {
		openGate(t, gates, fmt.Sprintf("m-%05d.open", i))
	}
	rb := b.wait(t)
	if rb.code != 0 {
		t.Fatalf("job B failed (exit %d):\n%s", rb.code, rb.stderr)
	}
	checkWordCounts(t, outB, books[:2])
	if n := summaryNumber(t, rb.stdout, "failed"); n != 0 {
		t.Fatalf("job B was charged %d failed attempts for waiting:\n%s\n%s", n, rb.stdout, rb.stderr)
	}
	if a.exited() {
		t.Fatalf("job A ended before its reduce was let go:\n%s", a.wait(t).stderr)
	}
	openGate(t, gates, "open")
	ra := a.wait(t)
	if ra.code != 0 {
		t.Fatalf("job A failed (exit %d):\n%s", ra.code, ra.stderr)
	}
	checkWordCounts(t, outA, books)
	if n := summaryNumber(t, ra.stdout, "failed"); n != 0 {
		t.Fatalf("job A was charged %d failed attempts:\n%s\n%s", n, ra.stdout, ra.stderr)
	}
}

// Four jobs at once on two one-slot workers: each waits its turns, all
// succeed, and none is charged an attempt for a busy worker.
func TestConcurrentJobsOnBusyWorkers(t *testing.T) {
	t.Parallel()
	w1 := testenv.StartWorker(t, env.Dist(t), "--slots", "1")
	w2 := testenv.StartWorker(t, env.Dist(t), "--slots", "1")
	addrs := w1.Addr + "," + w2.Addr
	books := env.Corpus(t)
	type job struct {
		w     *watched
		out   string
		input []string
	}
	var jobs []job
	for i := 0; i < 4; i++ {
		in := books[2*i : 2*i+2]
		out := filepath.Join(t.TempDir(), "out")
		// Every attempt works 2 s: 16 tasks on 2 slots keep some waiting
		// longer than a launch would ever retry a busy worker.
		w := startWatched(t, "run", "--workers", addrs, "--app", gateApp(t), "--input", in[0], "--input", in[1],
			"--output", out, "--reduces", "2", "--speculative=false", "--param", "work=2s")
		jobs = append(jobs, job{w, out, in})
	}
	for i, j := range jobs {
		r := j.w.wait(t)
		if r.code != 0 {
			t.Fatalf("job %d failed (exit %d):\n%s", i, r.code, r.stderr)
		}
		checkWordCounts(t, j.out, j.input)
		if n := summaryNumber(t, r.stdout, "failed"); n != 0 {
			t.Fatalf("job %d was charged %d failed attempts:\n%s\n%s", i, n, r.stdout, r.stderr)
		}
	}
}

// A worker that hangs (SIGSTOP) while it runs a map is lost as soon as
// its ZooKeeper node goes: the map runs again elsewhere and the job
// finishes while the worker is still stopped. The client's keepalive is
// set far beyond the test's patience, so only the registry can tell.
func TestHungWorkerLostWithItsNode(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 3)
	glob, books := booksGlob(t)
	gates := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	job := startWatched(t, "run", "--zk", zk.Addr(), "--app", gateApp(t), "--input", glob, "--output", out,
		"--reduces", "2", "--speculative=false", "--keepalive", "5m", "--log-level", "info",
		"--param", "gate=^m-00000/0$", "--param", "gate_dir="+gates)
	waitFor(t, time.Minute, "m-00000 at its gate", func() bool { return len(atGate(gates, "m-00000-0")) == 1 })
	victim := runningOn(workers, "m-00000-0")
	if victim == nil {
		t.Fatal("no worker runs m-00000")
	}
	t.Cleanup(func() { victim.Kill(syscall.SIGCONT) })
	victim.Kill(syscall.SIGSTOP)
	hung := time.Now()
	waitFor(t, 2*time.Minute, "m-00000 running again on another worker", func() bool {
		w := runningOn(workers, "m-00000-1")
		return w != nil && w != victim
	})
	retried := time.Since(hung)
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("job failed with a hung worker (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	if !stopped(victim.Pid()) {
		t.Fatal("the hung worker is running again: the test did not test a hung worker")
	}
	if !regexp.MustCompile(`attempt abandoned with its worker.* task=m-00000 attempt=0 worker=` + victim.ID + ` why="left the registry"`).MatchString(r.stderr) {
		t.Fatalf("m-00000 was not given up when its worker's node went:\n%s", r.stderr)
	}
	t.Logf("SIGSTOP to m-00000 running again: %v (ZooKeeper session timeout 10s); job: %s",
		retried.Round(100*time.Millisecond), strings.TrimSpace(r.stdout))
}

// drainingJob runs the gate app over the books, with m-00000's first
// attempt held at a gate, and returns it once that attempt waits there
// together with the worker running it.
func drainingJob(t *testing.T, workers []*testenv.Worker, cluster ...string) (*watched, *testenv.Worker, string, string) {
	t.Helper()
	glob, _ := booksGlob(t)
	gates := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{"run"}, cluster...)
	job := startWatched(t, append(args, "--app", gateApp(t), "--input", glob, "--output", out,
		"--reduces", "2", "--speculative=false", "--log-level", "info",
		"--param", "gate=^m-00000/0$", "--param", "gate_dir="+gates)...)
	waitFor(t, time.Minute, "m-00000 at its gate", func() bool { return len(atGate(gates, "m-00000-0")) == 1 })
	victim := runningOn(workers, "m-00000-0")
	if victim == nil {
		t.Fatal("no worker runs m-00000")
	}
	return job, victim, gates, out
}

// drainWhileItRuns sends SIGTERM to the victim, waits until it drains,
// then lets its map finish.
func drainWhileItRuns(t *testing.T, victim *testenv.Worker, gates string) {
	t.Helper()
	victim.Kill(syscall.SIGTERM)
	waitFor(t, time.Minute, "the worker to drain", func() bool { return strings.Contains(victim.Logs(), "draining") })
	openGate(t, gates, "open")
}

// checkDrained checks a job that lost no work to a draining worker, and
// that the worker stopped once the job was over.
func checkDrained(t *testing.T, r result, out string, victim *testenv.Worker) {
	t.Helper()
	_, books := booksGlob(t)
	if r.code != 0 {
		t.Fatalf("job failed across a draining worker (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	if n := summaryNumber(t, r.stdout, "map re-runs"); n != 0 || strings.Contains(r.stderr, "which has left") {
		t.Fatalf("the draining worker's map outputs were thrown away (%d map re-runs):\n%s\n%s", n, r.stdout, r.stderr)
	}
	if !victim.Wait(time.Minute) {
		t.Fatalf("the draining worker did not exit after the job ended:\n%s", victim.Logs())
	}
}

// A worker told to stop (SIGTERM) while it runs a map drains: the map's
// output counts and is served until the job ends; then the worker exits.
func TestDrainingWorkerKeepsItsWork(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 2)
	job, victim, gates, out := drainingJob(t, workers, "--zk", zk.Addr())
	drainWhileItRuns(t, victim, gates)
	r := job.wait(t)
	checkDrained(t, r, out, victim)
	// The client learns of the drain from the worker's node or, when the
	// tracker places a task there before the node's change arrives (a
	// loaded machine), from the launch the worker refuses: either way it
	// must have seen it (checkDrained checked that the work counted).
	if !strings.Contains(r.stderr, "why=\"its registry node says so\"") && !strings.Contains(r.stderr, "why=\"it refused a launch\"") {
		t.Errorf("the client did not learn that the worker drains:\n%s", r.stderr)
	}
}

// The same with workers named by address: the client learns the worker
// drains when it refuses a launch.
func TestDrainingStaticWorkerKeepsItsWork(t *testing.T) {
	t.Parallel()
	workers := []*testenv.Worker{
		testenv.StartWorker(t, env.Dist(t), "--slots", "2"),
		testenv.StartWorker(t, env.Dist(t), "--slots", "2"),
	}
	job, victim, gates, out := drainingJob(t, workers, "--workers", workers[0].Addr+","+workers[1].Addr)
	drainWhileItRuns(t, victim, gates)
	checkDrained(t, job.wait(t), out, victim)
}

// With its only worker draining, the job waits for another: one that
// joins takes the rest of the work and the drained map still counts;
// when none joins, the job fails saying what to do.
func TestOnlyWorkerDraining(t *testing.T) {
	t.Parallel()
	t.Run("another joins", func(t *testing.T) {
		zk, workers := zkCluster(t, 1)
		job, victim, gates, out := drainingJob(t, workers, "--zk", zk.Addr(), "--worker-wait", "2m")
		drainWhileItRuns(t, victim, gates)
		waitFor(t, time.Minute, "the job to wait for another worker", func() bool {
			return job.stderrHas("every worker is draining: waiting for another to join")
		})
		if ws := mustRun(t, "workers", "--zk", zk.Addr()); !regexp.MustCompile(victim.ID + `\s.*\sdraining`).MatchString(ws.stdout) {
			t.Errorf("dist workers does not flag %s as draining:\n%s", victim.ID, ws.stdout)
		}
		testenv.StartWorker(t, env.Dist(t), "--zk", zk.Addr(), "--slots", "2")
		checkDrained(t, job.wait(t), out, victim)
	})
	t.Run("none joins", func(t *testing.T) {
		w := testenv.StartWorker(t, env.Dist(t), "--slots", "1")
		job, victim, gates, _ := drainingJob(t, []*testenv.Worker{w}, "--workers", w.Addr, "--worker-wait", "1s")
		drainWhileItRuns(t, victim, gates)
		r := job.wait(t)
		if r.code == 0 || !strings.Contains(r.stderr, "the only worker is draining: start another worker") {
			t.Fatalf("exit %d; want a failure naming the draining worker:\n%s", r.code, r.stderr)
		}
		if !victim.Wait(time.Minute) {
			t.Fatalf("the draining worker did not exit after the job ended:\n%s", victim.Logs())
		}
	})
}
