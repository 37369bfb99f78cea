package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

// putJob records a job as its master would have, through the registry.
func putJob(t *testing.T, reg *registry.ZK, rec registry.JobRecord, edit func(*registry.JobRecord)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := reg.CreateJob(ctx, rec, []byte("spec")); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.UpdateJob(ctx, rec.ID, func(r *registry.JobRecord) error { edit(r); return nil }); err != nil {
		t.Fatal(err)
	}
}

func updateJob(t *testing.T, reg *registry.ZK, id string, edit func(*registry.JobRecord)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := reg.UpdateJob(ctx, id, func(r *registry.JobRecord) error { edit(r); return nil }); err != nil {
		t.Fatal(err)
	}
}

// waiter is a `dist wait` running in the background; lines carries what
// it writes to stderr, line by line; done is closed once it has exited,
// with res set.
type waiter struct {
	lines chan string
	done  chan struct{}
	res   result
}

func startWait(t *testing.T, zkAddr, id string) *waiter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, env.Dist(t), "wait", "--zk", zkAddr, id)
	var out strings.Builder
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	w := &waiter{lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		defer cancel()
		var errb strings.Builder
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			errb.WriteString(sc.Text() + "\n")
			w.lines <- sc.Text()
		}
		close(w.lines)
		err := cmd.Wait()
		r := result{stdout: out.String(), stderr: errb.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
		}
		w.res = r
		close(w.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

// next waits for a line of the waiter's that contains want.
func (w *waiter) next(t *testing.T, want string) {
	t.Helper()
	for l := range w.lines {
		if strings.Contains(l, want) {
			return
		}
	}
	t.Fatalf("dist wait ended without printing %q", want)
}

func (w *waiter) result(t *testing.T) result {
	t.Helper()
	for range w.lines {
	}
	<-w.done
	return w.res
}

// TestJobCommands reads job records written through the registry API (no
// job runs) with dist jobs, status, wait and kill.
func TestJobCommands(t *testing.T) {
	t.Parallel()
	zk := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := registry.NewZK(ctx, zk.Addr(), registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	now := time.Now().Truncate(time.Second)
	rec := func(id string, ago time.Duration) registry.JobRecord {
		return registry.JobRecord{ID: id, User: "alice", App: "wordcount", Inputs: []string{"/data/in"},
			Output: "/data/out-" + id, Submitted: now.Add(-ago)}
	}
	putJob(t, reg, rec("j-old", 50*time.Hour), func(r *registry.JobRecord) {
		r.State, r.Started, r.Ended = registry.JobSucceeded, now.Add(-50*time.Hour), now.Add(-49*time.Hour)
		r.Progress = registry.JobProgress{Maps: 4, MapsDone: 4, Reduces: 1, ReducesDone: 1}
		r.Summary = []string{"job j-old succeeded in 1h0m0s", "  output /data/out-j-old"}
	})
	putJob(t, reg, rec("j-fail", 3*time.Hour), func(r *registry.JobRecord) {
		r.State, r.Started, r.Ended = registry.JobFailed, now.Add(-3*time.Hour), now.Add(-3*time.Hour+90*time.Second)
		r.Progress = registry.JobProgress{Maps: 8, MapsDone: 2, Reduces: 2, Failed: 4}
		r.Error = "m-00005 failed 4 times: exit status 3"
	})
	putJob(t, reg, rec("j-run", 2*time.Hour), func(r *registry.JobRecord) {
		r.State, r.Started = registry.JobRunning, now.Add(-2*time.Hour)
		r.Master, r.MasterID, r.UI = "127.0.0.1:1", "w-one", "http://127.0.0.1:9/"
		r.Progress = registry.JobProgress{Maps: 8, MapsDone: 3, Reduces: 2, Running: 3, Failed: 1, Workers: 2, BytesShuffled: 2048}
	})
	putJob(t, reg, rec("j-new", time.Hour), func(r *registry.JobRecord) {})

	t.Run("jobs", func(t *testing.T) {
		out := mustRun(t, "jobs", "--zk", zk.Addr()).stdout
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var ids []string
		for _, l := range lines[1:] {
			ids = append(ids, strings.Fields(l)[0])
		}
		if !strings.HasPrefix(lines[0], "ID ") || !slices.Equal(ids, []string{"j-new", "j-run", "j-fail"}) {
			t.Fatalf("dist jobs: want j-new, j-run, j-fail (newest first, j-old ended too long ago):\n%s", out)
		}
		if f := strings.Fields(lines[2]); !slices.Equal(f[:8], []string{"j-run", "alice", "wordcount", "running", "maps", "3/8", "reduces", "0/2"}) ||
			f[len(f)-1] != "w-one" {
			t.Errorf("j-run's row: %q", lines[2])
		}
		if f := strings.Fields(lines[3]); f[3] != "failed" || f[len(f)-2] != "1m30s" || f[len(f)-1] != "-" {
			t.Errorf("j-fail's row (ran 1m30s, no master): %q", lines[3])
		}
		if f := strings.Fields(lines[1]); f[3] != "submitted" || f[len(f)-1] != "-" {
			t.Errorf("j-new's row: %q", lines[1])
		}
	})
	t.Run("jobs --all --json", func(t *testing.T) {
		var got []struct {
			ID       string  `json:"id"`
			State    string  `json:"state"`
			MasterID string  `json:"master_id"`
			Started  *string `json:"started"`
			Progress struct {
				MapsDone      int   `json:"maps_done"`
				BytesShuffled int64 `json:"bytes_shuffled"`
			} `json:"progress"`
			Summary []string `json:"summary"`
			Error   string   `json:"error"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, "jobs", "--zk", zk.Addr(), "--all", "--json").stdout), &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range got {
			ids = append(ids, j.ID)
		}
		if !slices.Equal(ids, []string{"j-new", "j-run", "j-fail", "j-old"}) {
			t.Fatalf("dist jobs --all --json ids %v", ids)
		}
		if j := got[1]; j.State != "running" || j.MasterID != "w-one" || j.Progress.MapsDone != 3 || j.Progress.BytesShuffled != 2048 || j.Started == nil {
			t.Errorf("j-run: %+v", j)
		}
		if got[0].Started != nil || got[2].Error != "m-00005 failed 4 times: exit status 3" || len(got[3].Summary) != 2 {
			t.Errorf("j-new started %v, j-fail error %q, j-old summary %q", got[0].Started, got[2].Error, got[3].Summary)
		}
	})
	t.Run("status", func(t *testing.T) {
		r := mustRun(t, "status", "--zk", zk.Addr(), "j-run")
		want := regexp.MustCompile(`^job j-run running: 7[0-9]{3}\.[0-9]s \[#{6}-{14}\] maps 3/8, reduces 0/2  shuffled 2\.0 KiB  workers 2 \(3 tasks running\)  retries 1\n` +
			`master: worker w-one at 127\.0\.0\.1:1\nlive page: http://127\.0\.0\.1:9/\n$`)
		if !want.MatchString(r.stdout) {
			t.Errorf("dist status j-run does not match %s:\n%s", want, r.stdout)
		}
		r = mustRun(t, "status", "--zk", zk.Addr(), "j-old")
		if !strings.Contains(r.stdout, "maps 4/4, reduces 1/1") || !strings.HasSuffix(r.stdout, "job j-old succeeded in 1h0m0s\n  output /data/out-j-old\n") {
			t.Errorf("dist status j-old, want its summary:\n%s", r.stdout)
		}
		r = mustRun(t, "status", "--zk", zk.Addr(), "j-fail")
		if !strings.HasSuffix(r.stdout, "job failed: m-00005 failed 4 times: exit status 3\n") || strings.Contains(r.stdout, "master") {
			t.Errorf("dist status j-fail, want why it failed:\n%s", r.stdout)
		}
		var j struct{ ID, State string }
		if err := json.Unmarshal([]byte(mustRun(t, "status", "--zk", zk.Addr(), "--json", "j-fail").stdout), &j); err != nil || j.ID != "j-fail" || j.State != "failed" {
			t.Errorf("dist status --json j-fail: %+v, %v", j, err)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		for _, cmd := range []string{"status", "wait", "kill"} {
			r := dist(t, cmd, "--zk", zk.Addr(), "j-nope")
			if r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `no job "j-nope"`) {
				t.Errorf("dist %s j-nope: exit %d, want 2 and one line:\n%s", cmd, r.code, r.stderr)
			}
		}
	})
	t.Run("kill refused", func(t *testing.T) {
		r := dist(t, "kill", "--zk", zk.Addr(), "j-fail")
		if r.code != exitJobFailed || !strings.Contains(r.stderr, "job j-fail has already ended (failed)") {
			t.Errorf("dist kill of an ended job: exit %d:\n%s", r.code, r.stderr)
		}
		r = dist(t, "kill", "--zk", zk.Addr(), "j-new")
		if r.code != exitJobFailed || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "retry dist kill") {
			t.Errorf("dist kill of a job without a master: exit %d:\n%s", r.code, r.stderr)
		}
	})
	t.Run("wait succeeded", func(t *testing.T) {
		putJob(t, reg, rec("j-wait-ok", time.Minute), func(r *registry.JobRecord) {
			r.State, r.Started, r.Master, r.MasterID = registry.JobRunning, now, "127.0.0.1:1", "w-one"
			r.Progress = registry.JobProgress{Maps: 2, Reduces: 1}
		})
		w := startWait(t, zk.Addr(), "j-wait-ok")
		w.next(t, "job j-wait-ok running:")
		updateJob(t, reg, "j-wait-ok", func(r *registry.JobRecord) {
			r.Master, r.MasterID, r.Takeovers = "127.0.0.1:2", "w-two", 1
		})
		w.next(t, "worker w-two at 127.0.0.1:2 took over as its master from worker w-one")
		updateJob(t, reg, "j-wait-ok", func(r *registry.JobRecord) {
			r.State, r.Ended, r.Master, r.MasterID = registry.JobSucceeded, time.Now(), "", ""
			r.Progress = registry.JobProgress{Maps: 2, MapsDone: 2, Reduces: 1, ReducesDone: 1, Workers: 2}
			r.Summary = []string{"job j-wait-ok succeeded in 1.5s", "  output /data/out-j-wait-ok"}
		})
		r := w.result(t)
		if r.code != 0 || r.stdout != "job j-wait-ok succeeded in 1.5s\n  output /data/out-j-wait-ok\n" ||
			!strings.Contains(r.stderr, "job j-wait-ok succeeded: ") {
			t.Errorf("dist wait of a job that succeeded: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("wait on a terminal", func(t *testing.T) {
		script, err := exec.LookPath("script")
		if err != nil {
			t.Skip("script(1) not installed (util-linux): no terminal to run dist on")
		}
		putJob(t, reg, rec("j-wait-tty", time.Minute), func(r *registry.JobRecord) {
			r.State, r.Started, r.Ended = registry.JobSucceeded, now, now.Add(1500*time.Millisecond)
			r.Progress = registry.JobProgress{Maps: 2, MapsDone: 2, Reduces: 1, ReducesDone: 1, Workers: 2}
			r.Summary = []string{"job j-wait-tty succeeded in 1.5s"}
		})
		cmd := exec.Command(script, "-qec", "stty cols 150 2>/dev/null; "+shellJoin([]string{env.Dist(t), "wait", "--zk", zk.Addr(), "j-wait-tty"}), "/dev/null")
		cmd.Env = append(cmd.Environ(), "TERM=xterm")
		cmd.Stdin = strings.NewReader("")
		outb, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v\n%s", err, outb)
		}
		out := strings.ReplaceAll(string(outb), "\r\n", "\n")
		if !strings.Contains(out, "\rjob j-wait-tty succeeded: 1.5s [####################] maps 2/2, reduces 1/1  shuffled 0 B  workers 2  retries 0\x1b[K\n") ||
			!strings.HasSuffix(out, "\njob j-wait-tty succeeded in 1.5s\n") {
			t.Errorf("dist wait on a terminal: no status line drawn in place, or no summary:\n%q", out)
		}
	})
	t.Run("wait failed", func(t *testing.T) {
		putJob(t, reg, rec("j-wait-bad", time.Minute), func(r *registry.JobRecord) {
			r.State, r.Started = registry.JobRunning, now
		})
		w := startWait(t, zk.Addr(), "j-wait-bad")
		w.next(t, "job j-wait-bad running:")
		updateJob(t, reg, "j-wait-bad", func(r *registry.JobRecord) {
			r.State, r.Ended, r.Error = registry.JobKilled, time.Now(), "killed by dist kill"
		})
		r := w.result(t)
		if r.code != exitJobFailed || r.stdout != "" || !strings.HasSuffix(r.stderr, "dist: job failed: killed by dist kill\n") {
			t.Errorf("dist wait of a job that was killed: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		// An ended job: at once.
		r = dist(t, "wait", "--zk", zk.Addr(), "j-fail")
		if r.code != exitJobFailed || !strings.HasSuffix(r.stderr, "dist: job failed: m-00005 failed 4 times: exit status 3\n") {
			t.Errorf("dist wait of a failed job: exit %d\n%s", r.code, r.stderr)
		}
	})
}

// TestLogsGathersAttempts runs a job whose first attempt of m-00000
// crashes on a worker that needs the secret and reads every attempt's
// stderr back with dist logs. Then dist kill asks that worker to kill a
// job its record says it masters, which it does not.
func TestLogsGathersAttempts(t *testing.T) {
	t.Parallel()
	zk := zktest.Start(t)
	secret := writeSecret(t, "jobcmds-logs-cluster-secret")
	w := testenv.StartWorker(t, env.Dist(t), "--zk", zk.Addr(), "--slots", "2", "--secret-file", secret)
	books := env.Corpus(t)[:1]
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--zk", zk.Addr(), "--secret-file", secret, "--app", env.App(t, "crashy"), "--input", books[0],
		"--output", out, "--reduces", "1", "--param", "exit=1", "--param", "only=^m-00000/0$")
	m := regexp.MustCompile(`job (\S+): [0-9]+ maps?, `).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no job id in dist run's output:\n%s", r.stderr)
	}
	job := m[1]
	checkWordCounts(t, out, books)

	r = mustRun(t, "logs", "--zk", zk.Addr(), "--secret-file", secret, job)
	want := []string{
		"== m-00000 attempt 0 on worker " + w.ID + " ==\ncrashy: injected crash (task m-00000 attempt 0)\n",
		"== m-00000 attempt 1 on worker " + w.ID + " ==\n",
		"== r-00000 attempt 0 on worker " + w.ID + " ==\n",
	}
	at := 0
	for _, s := range want {
		i := strings.Index(r.stdout[at:], s)
		if i < 0 {
			t.Fatalf("dist logs: no %q after byte %d:\n%s", s, at, r.stdout)
		}
		at += i + len(s)
	}
	r = mustRun(t, "logs", "--zk", zk.Addr(), "--secret-file", secret, job, "r-00000")
	if strings.Count(r.stdout, "== ") != 1 || !strings.HasPrefix(r.stdout, "== r-00000 attempt 0") {
		t.Errorf("dist logs JOB r-00000:\n%s", r.stdout)
	}
	r = dist(t, "logs", "--zk", zk.Addr(), job)
	if r.code != exitJobFailed || !strings.Contains(r.stderr, "--secret-file") {
		t.Errorf("dist logs without the secret: exit %d:\n%s", r.code, r.stderr)
	}
	r = dist(t, "logs", "--zk", zk.Addr(), "--secret-file", secret, "j-nope")
	if r.code != exitJobFailed || !strings.Contains(r.stderr, "none of the 1 workers keeps logs of job j-nope") {
		t.Errorf("dist logs of an unknown job: exit %d:\n%s", r.code, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := registry.NewZK(ctx, zk.Addr(), registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	putJob(t, reg, registry.JobRecord{ID: "j-elsewhere", Submitted: time.Now()}, func(r *registry.JobRecord) {
		r.State, r.Master, r.MasterID = registry.JobRunning, w.Addr, w.ID
	})
	r = dist(t, "kill", "--zk", zk.Addr(), "j-elsewhere")
	if r.code != exitJobFailed || !strings.Contains(r.stderr, "give dist kill the cluster's secret with --secret-file") {
		t.Errorf("dist kill without the secret: exit %d:\n%s", r.code, r.stderr)
	}
	r = dist(t, "kill", "--zk", zk.Addr(), "--secret-file", secret, "j-elsewhere")
	if r.code != exitJobFailed || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "runs no master of job j-elsewhere") ||
		!strings.Contains(r.stderr, "retry dist kill") {
		t.Errorf("dist kill of a job its master's worker does not run: exit %d:\n%s", r.code, r.stderr)
	}
}
