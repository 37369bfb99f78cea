package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/registry"
)

// background is a `dist run` running while the test breaks things.
type background struct {
	cmd  *exec.Cmd
	done chan result
}

func startDist(t *testing.T, args ...string) *background {
	t.Helper()
	return startDistBin(t, env.Dist(t), args...)
}

// startDistBin is startDist with a chosen dist binary.
func startDistBin(t *testing.T, bin string, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	b := &background{cmd: cmd, done: make(chan result, 1)}
	go func() {
		defer cancel()
		err := cmd.Wait()
		r := result{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
		}
		b.done <- r
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.done
	})
	return b
}

func (b *background) wait(t *testing.T) result {
	t.Helper()
	r := <-b.done
	b.done <- r // for Cleanup
	return r
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// attemptDirs lists a worker's attempt directories "<task>-<attempt>" that
// hold the given file (task.msgpack: launched; result.msgpack: finished).
func attemptDirs(w *testenv.Worker, file string) []string {
	matches, _ := filepath.Glob(filepath.Join(w.Dir, "tasks", "*", "*", file))
	var out []string
	for _, m := range matches {
		out = append(out, filepath.Base(filepath.Dir(m)))
	}
	return out
}

// stagedByAReduce reports whether a reduce attempt on any of the workers
// has staged the output of map attempt dir ("m-00003-0").
func stagedByAReduce(workers []*testenv.Worker, dir string) bool {
	for _, w := range workers {
		if m, _ := filepath.Glob(filepath.Join(w.Dir, "tasks", "*", "r-*", "in", dir)); len(m) > 0 {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func summaryNumber(t *testing.T, stdout, name string) int {
	t.Helper()
	m := regexp.MustCompile(name + ` (\d+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("summary has no %q:\n%s", name, stdout)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// crashyOnZK starts crashy over the books on a ZooKeeper cluster with two
// reduces and the given extra flags.
func crashyOnZK(t *testing.T, zkAddr, out string, extra ...string) *background {
	t.Helper()
	glob, _ := booksGlob(t)
	args := []string{"run", "--zk", zkAddr, "--app", env.App(t, "crashy"), "--input", glob, "--output", out, "--reduces", "2"}
	return startDist(t, append(args, extra...)...)
}

func booksGlob(t *testing.T) (string, []string) {
	books := env.Corpus(t)
	return filepath.Join(filepath.Dir(books[0]), "*.txt"), books
}

func TestCrashyAppGivesExactAnswer(t *testing.T) {
	t.Parallel()
	glob, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "3", "--app", env.App(t, "crashy"), "--input", glob, "--output", out,
		"--reduces", "3", "--max-attempts", "20",
		"--param", "exit=0.33", "--param", "stall=0.33", "--param", "stall_secs=10")
	assertCommitted(t, out, 3)
	checkWordCounts(t, out, books)
	if summaryNumber(t, r.stdout, "failed") == 0 {
		t.Logf("no attempt crashed this time (the draws depend on the job id):\n%s", r.stdout)
	}
	t.Logf("crashy job: %s", strings.TrimSpace(r.stdout))
}

func TestKillWorkerWhileItsMapsRun(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 3)
	_, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	// Every first map attempt stalls 3-6 s, so maps are surely running
	// when the worker dies; the re-runs elsewhere do not stall.
	job := crashyOnZK(t, zk.Addr(), out, "--param", "stall=1", "--param", "stall_secs=6", "--param", "only=^m-.*/0$")
	victim := workers[0]
	waitFor(t, time.Minute, "a map running on the victim", func() bool {
		return hasPrefix(attemptDirs(victim, "task.msgpack"), "m-")
	})
	victim.Kill(syscall.SIGKILL)
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("job failed after a worker died (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	if summaryNumber(t, r.stdout, "failed") == 0 {
		t.Fatalf("no attempt was lost with the killed worker:\n%s", r.stdout)
	}
}

func TestKillWorkerAfterItsMapsFinished(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 3)
	_, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	// One map stalls 4-8 s, holding the reduces back; meanwhile a worker
	// that finished other maps dies, and its outputs must be made again.
	job := crashyOnZK(t, zk.Addr(), out, "--speculative=false",
		"--param", "stall=1", "--param", "stall_secs=8", "--param", "only=^m-00007/0$")
	var victim *testenv.Worker
	// A map output some reduce has staged is surely committed: killing
	// its worker any earlier could beat the map's final event.
	waitFor(t, time.Minute, "a worker with committed maps, not running the slow one", func() bool {
		for _, w := range workers {
			if hasPrefix(attemptDirs(w, "task.msgpack"), "m-00007-") {
				continue
			}
			for _, d := range attemptDirs(w, "result.msgpack") {
				if strings.HasPrefix(d, "m-") && stagedByAReduce(workers, d) {
					victim = w
					return true
				}
			}
		}
		return false
	})
	victim.Kill(syscall.SIGKILL)
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("job failed after a worker died (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	if summaryNumber(t, r.stdout, "map re-runs") == 0 {
		t.Fatalf("the dead worker's map outputs were not made again:\n%s", r.stdout)
	}
}

func TestZooKeeperRestartMidJob(t *testing.T) {
	t.Parallel()
	// dist without the race detector: go-zookeeper v1.0.4 races on
	// Conn.lastZxid when it re-sets watches after a reconnect
	// (go-zookeeper/zk#35), which -race would report in the library.
	bin := env.Build(t, "./cmd/dist", false)
	zk, workers := zkClusterBin(t, 3, bin)
	glob, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	job := startDistBin(t, bin, "run", "--zk", zk.Addr(), "--app", env.App(t, "crashy"), "--input", glob,
		"--output", out, "--reduces", "2", "--speculative=false",
		"--param", "stall=1", "--param", "stall_secs=4", "--param", "only=^m-0000[0-2]/0$")
	anyFile := func(file, prefix string) bool {
		for _, w := range workers {
			if hasPrefix(attemptDirs(w, file), prefix) {
				return true
			}
		}
		return false
	}
	waitFor(t, time.Minute, "maps running", func() bool { return anyFile("task.msgpack", "m-") })
	zk.Stop()
	// The job goes on without ZooKeeper: maps finish while it is down.
	waitFor(t, time.Minute, "a map finishing while ZooKeeper is down", func() bool { return anyFile("result.msgpack", "m-") })
	zk.Start()
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("job failed across a ZooKeeper restart (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	// The workers are registered again (same session or re-registered).
	waitWorkers(t, zk.Addr(), func(ws []registry.WorkerInfo) bool { return len(ws) == 3 })
}

func TestSIGTERMDrainsRunningTasks(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 3)
	_, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	job := crashyOnZK(t, zk.Addr(), out, "--speculative=false",
		"--param", "stall=1", "--param", "stall_secs=4", "--param", "only=^m-00000/0$")
	var victim *testenv.Worker
	waitFor(t, time.Minute, "the slow map running", func() bool {
		for _, w := range workers {
			if hasPrefix(attemptDirs(w, "task.msgpack"), "m-00000-0") {
				victim = w
				return true
			}
		}
		return false
	})
	victim.Kill(syscall.SIGTERM)
	// Marked draining at once, while the slow map still runs; it stays
	// registered until the job no longer needs it.
	waitWorkers(t, zk.Addr(), func(ws []registry.WorkerInfo) bool {
		return len(ws) == 3 && slices.ContainsFunc(ws, func(w registry.WorkerInfo) bool { return w.ID == victim.ID && w.Draining })
	})
	r := job.wait(t)
	if r.code != 0 {
		t.Fatalf("job failed across a drained worker (exit %d):\n%s", r.code, r.stderr)
	}
	checkWordCounts(t, out, books)
	if !victim.Wait(time.Minute) {
		t.Fatal("worker did not exit after draining")
	}
	logs := victim.Logs()
	if !strings.Contains(logs, "draining") || !regexp.MustCompile(`attempt done.*task=m-00000|task=m-00000.*attempt done`).MatchString(logs) {
		t.Fatalf("the worker did not let m-00000 finish before exiting:\n%s", logs)
	}
}

func TestTaskTimeoutKillsAndRetries(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "crashy"), "--input", books[0], "--input", books[1],
		"--output", out, "--task-timeout", "2s", "--speculative=false",
		"--param", "stall=1", "--param", "stall_secs=600", "--param", "only=^m-00000/0$")
	checkWordCounts(t, out, books[:2])
	if summaryNumber(t, r.stdout, "failed") != 1 {
		t.Fatalf("want exactly the hung attempt failed:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "ran over 2s") {
		t.Fatalf("the timeout is not named:\n%s", r.stderr)
	}
}

func TestInterruptedJobCommitsNothing(t *testing.T) {
	t.Parallel()
	glob, _ := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	w := testenv.StartWorker(t, env.Dist(t))
	job := startDist(t, "run", "--workers", w.Addr, "--app", env.App(t, "crashy"), "--input", glob, "--output", out,
		"--param", "stall=1", "--param", "stall_secs=600")
	waitFor(t, time.Minute, "maps running", func() bool { return len(attemptDirs(w, "task.msgpack")) > 0 })
	_ = job.cmd.Process.Signal(os.Interrupt)
	r := job.wait(t)
	if r.code == 0 {
		t.Fatal("an interrupted job exited 0")
	}
	assertNothingCommitted(t, out)
	// The worker notices its client is gone and ends the job's tasks.
	waitFor(t, time.Minute, "the worker to clean up the job", func() bool {
		ents, _ := os.ReadDir(filepath.Join(w.Dir, "tasks"))
		return len(ents) == 0
	})
}

func TestClientKilledWorkerEndsItsTasks(t *testing.T) {
	t.Parallel()
	glob, _ := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	w := testenv.StartWorker(t, env.Dist(t))
	job := startDist(t, "run", "--workers", w.Addr, "--app", env.App(t, "crashy"), "--input", glob, "--output", out,
		"--param", "stall=1", "--param", "stall_secs=600")
	waitFor(t, time.Minute, "maps running", func() bool { return len(attemptDirs(w, "task.msgpack")) > 0 })
	_ = job.cmd.Process.Kill() // no chance to say goodbye
	job.wait(t)
	assertNothingCommitted(t, out)
	waitFor(t, time.Minute, "the worker to kill the dead client's tasks", func() bool {
		ents, _ := os.ReadDir(filepath.Join(w.Dir, "tasks"))
		return len(ents) == 0
	})
}
