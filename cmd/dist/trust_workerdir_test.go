package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/workerproc"
)

// processGone reports whether pid has exited (an unreaped zombie counts
// as gone: it runs nothing).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// hangingTask waits for the hostile app's hanging map to write its pids
// under a worker's dir: the task's process and the child it started in
// its process group. Both are SIGKILLed at cleanup if they still run.
func hangingTask(t *testing.T, dir string) (taskDir string, leader, child int) {
	t.Helper()
	waitFor(t, time.Minute, "the hanging task's pids", func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "tasks", "*", "m-00000-0", "pids"))
		if len(files) != 1 {
			return false
		}
		b, err := os.ReadFile(files[0])
		f := strings.Fields(string(b))
		if err != nil || len(f) != 2 {
			return false
		}
		leader, _ = strconv.Atoi(f[0])
		child, _ = strconv.Atoi(f[1])
		taskDir = filepath.Dir(files[0])
		return leader > 0 && child > 0
	})
	t.Cleanup(func() {
		for _, pid := range []int{leader, child} {
			if !processGone(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return taskDir, leader, child
}

// startRefused starts `dist worker` on dir, expecting it to refuse to
// start; one that gets ready instead fails the test and is killed.
func startRefused(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(env.Dist(t), append([]string{"worker", "--listen", "127.0.0.1:0", "--dir", dir}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), workerproc.ReadyPrefix) {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	select {
	case ok := <-ready:
		if ok {
			_ = cmd.Process.Kill()
			t.Errorf("a second worker started on %s while another one runs there", dir)
		}
	case <-timeout.C:
		_ = cmd.Process.Kill()
		t.Errorf("a second worker on %s neither refused nor started in a minute", dir)
	}
	err = cmd.Wait()
	r := result{stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	}
	return r
}

// TestWorkerDeathAndItsDirectory: a task dies with its SIGKILLed worker
// (Pdeathsig, also through the --run-as shim); a second worker on a
// --dir in use refuses to start, naming the holder's pid, and leaves its
// task directories alone; once the holder is dead a new worker starts
// there and kills what the old one's tasks left in their process groups
// (a child, which no parent death signal reaches). It then runs a job
// with the exact answer.
func TestWorkerDeathAndItsDirectory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		runAs bool
	}{{"own user", false}, {"run-as", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var dir string
			var args []string
			if tc.runAs {
				dir = filepath.Join(runAsBase(t), "work")
				args = []string{"--run-as", "nobody"}
			} else {
				dir = filepath.Join(t.TempDir(), "work")
			}
			workerDeath(t, dir, args)
		})
	}
}

func workerDeath(t *testing.T, dir string, args []string) {
	first := testenv.StartWorkerIn(t, env.Dist(t), dir, args...)
	input := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(input, []byte("a hanging task\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startDist(t, "run", "--workers", first.Addr, "--app", env.Build(t, "./cmd/dist/testdata/hostile", false, "CGO_ENABLED=0"),
		"--input", input, "--output", filepath.Join(t.TempDir(), "out"), "--param", "mode=hang",
		"--max-attempts", "1", "--quiet")
	taskDir, leader, child := hangingTask(t, dir)

	// A second worker on the same directory refuses, naming the first.
	r := startRefused(t, dir, args...)
	want := fmt.Sprintf("--dir %s is in use by dist worker pid %d: stop it or choose another --dir", dir, first.Pid())
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("second worker on a --dir in use: exit %d, want non-zero and %q:\n%s", r.code, want, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(taskDir, "pids")); err != nil || processGone(leader) {
		t.Errorf("the first worker's running task lost its directory or died (%v)", err)
	}

	// SIGKILL the worker: its task dies with it.
	killed := time.Now()
	if err := syscall.Kill(first.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait(time.Minute)
	waitFor(t, 30*time.Second, "the task of a SIGKILLed worker to die", func() bool { return processGone(leader) })
	t.Logf("the task outlived its SIGKILLed worker by %v", time.Since(killed))
	if processGone(child) {
		t.Fatal("the task's child died too: this test cannot see a new worker kill leftovers")
	}

	// A new worker on the directory starts and kills the leftover.
	next := testenv.StartWorkerIn(t, env.Dist(t), dir, args...)
	waitFor(t, 10*time.Second, "the new worker to kill the old task's child", func() bool { return processGone(child) })
	if !strings.Contains(next.Logs(), "killed the task processes a previous worker on this directory left") {
		t.Errorf("the new worker did not say it killed leftovers:\n%s", next.Logs())
	}
	if jobs, _ := filepath.Glob(filepath.Join(dir, "tasks", "*")); len(jobs) > 0 {
		t.Errorf("the old worker's task directories are still there: %v", jobs)
	}
	books := env.Corpus(t)[:1]
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--workers", next.Addr, "--app", env.App(t, "wordcount"), "--input", books[0], "--output", out, "--quiet")
	checkWordCounts(t, out, books)
}

// TestExecCommandDiesWithWorker: the command of an exec job, a child of
// the task host, dies too when its worker is SIGKILLed.
func TestExecCommandDiesWithWorker(t *testing.T) {
	t.Parallel()
	w := testenv.StartWorker(t, env.Dist(t))
	scripts := t.TempDir()
	mapper, reducer := filepath.Join(scripts, "hang.sh"), filepath.Join(scripts, "cat.sh")
	for path, body := range map[string]string{
		mapper:  "#!/bin/sh\necho $$ >mapper.pid.tmp && mv mapper.pid.tmp mapper.pid\nexec sleep 1000\n",
		reducer: "#!/bin/sh\nexec cat\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	input := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(input, []byte("one line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startDist(t, "run", "--workers", w.Addr, "--exec", "--mapper", mapper, "--reducer", reducer,
		"--input", input, "--output", filepath.Join(t.TempDir(), "out"), "--max-attempts", "1", "--quiet")
	var pid int
	waitFor(t, time.Minute, "the mapper's pid", func() bool {
		files, _ := filepath.Glob(filepath.Join(w.Dir, "tasks", "*", "m-00000-0", "mapper.pid"))
		if len(files) == 1 {
			b, _ := os.ReadFile(files[0])
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return pid > 0
	})
	t.Cleanup(func() {
		if !processGone(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	killed := time.Now()
	w.Kill(syscall.SIGKILL)
	waitFor(t, 30*time.Second, "the exec job's mapper to die with its worker", func() bool { return processGone(pid) })
	t.Logf("the mapper outlived its SIGKILLed worker by %v", time.Since(killed))
}
