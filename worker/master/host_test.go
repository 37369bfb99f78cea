package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

const jobID = "j20260101-120000-0123abcd"

// testHost is a Host on its own ZooKeeper session whose masters are this
// test binary (fakeMaster), recording themselves under procs.
type testHost struct {
	*Host
	zk    *registry.ZK
	self  registry.WorkerInfo
	procs string
}

// cache is a fake artifact cache: files by sha256.
type cache map[string]string

// add puts a file with content in the cache and returns its JobFile.
func (c cache) add(t testing.TB, flag, name, content string) proto.JobFile {
	t.Helper()
	sum := sha256.Sum256([]byte(content))
	sha := hex.EncodeToString(sum[:])
	p := filepath.Join(t.TempDir(), sha)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	c[sha] = p
	return proto.JobFile{Flag: flag, Name: name, SHA: sha, Size: int64(len(content))}
}

func startHost(t *testing.T, zkAddr, name string, slots int, c cache, env ...string) *testHost {
	t.Helper()
	return startHostHeld(t, zkAddr, name, slots, c, nil, env...)
}

// startHostHeld is startHost whose master commands first call starting,
// just before the host starts them.
func startHostHeld(t *testing.T, zkAddr, name string, slots int, c cache, starting func(), env ...string) *testHost {
	t.Helper()
	zk, err := registry.NewZK(testCtx(t), zkAddr, registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zk.Close() })
	procs := t.TempDir()
	h, err := New(Config{
		ZK: zk, Slots: slots, Dir: t.TempDir(), BaseArgs: []string{"--zk", zkAddr},
		Artifact: func(sha string) (string, bool) { p, ok := c[sha]; return p, ok },
		Command: func(ctx context.Context, args []string) *exec.Cmd {
			if starting != nil {
				starting()
			}
			cmd := exec.CommandContext(ctx, os.Args[0], args...)
			cmd.Env = append(append(os.Environ(), helperDir+"="+procs), env...)
			return cmd
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	th := &testHost{Host: h, zk: zk, self: registry.WorkerInfo{ID: name, Addr: name + ":7070"}, procs: procs}
	go func() { _ = h.Run(context.Background(), th.self) }() // Close ends it
	waitFor(t, name+" ready", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.ready
	})
	return th
}

// masters returns the pids of the masters the host has started so far.
func (h *testHost) masters(t *testing.T) []int {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(h.procs, "*.started"))
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(n), ".started"))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// args returns the arguments master pid started with.
func (h *testHost) args(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.procs, strconv.Itoa(pid)+".started"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// standing reports whether the host stands for job id.
func (h *testHost) standing(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.jobs[id] != nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRecord polls job id's record until cond holds and returns it.
func waitRecord(t *testing.T, zk *registry.ZK, id, what string, cond func(registry.JobRecord) bool) registry.JobRecord {
	t.Helper()
	var rec registry.JobRecord
	waitFor(t, what, func() bool {
		var err error
		rec, err = zk.Job(context.Background(), id)
		return err == nil && cond(rec)
	})
	return rec
}

func testSpec(t *testing.T, c cache) proto.JobSpec {
	return proto.JobSpec{
		ID: jobID, User: "ada",
		Args: []string{"--input=s3://books/*.txt", "--output=s3://out/wc", "--reduces=2", "--param=k=v"},
		Programs: []proto.JobFile{
			c.add(t, "app", "wordcount", "#!/bin/sh\necho wc\n"),
			c.add(t, "file", "stop.txt", "the\na\n"),
		},
	}
}

// alive reports whether process pid exists (and is not a zombie: its
// host has waited for it).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestSubmitStartsMasterAndKill: a submitted job is recorded with this
// host as its master, whose process starts with the pinned programs and
// the job's flags; Kill records KillRequested and SIGTERMs the master,
// whose exit leaves the job killed; its directory is then removed.
func TestSubmitStartsMasterAndKill(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	h := startHost(t, s.Addr(), "w1", 1, c)
	spec := testSpec(t, c)
	ctx := testCtx(t)

	master, err := h.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if master != "w1:7070" {
		t.Errorf("Submit's master = %q, want w1:7070", master)
	}
	rec, err := h.zk.Job(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.User != "ada" || rec.App != "wordcount" || rec.Output != "s3://out/wc" ||
		!slices.Equal(rec.Inputs, []string{"s3://books/*.txt"}) || rec.MasterID != "w1" || rec.Master != "w1:7070" {
		t.Errorf("record = %+v", rec)
	}
	waitFor(t, "the master to start", func() bool { return len(h.masters(t)) == 1 })
	pid := h.masters(t)[0]
	dir := filepath.Join(h.cfg.Dir, jobID)
	want := []string{"--hosted", "--job-id", jobID, "--zk", s.Addr(), "--ui", "127.0.0.1:0",
		"--app", filepath.Join(dir, "app", "wordcount"), "--file", filepath.Join(dir, "files", "stop.txt"),
		"--input=s3://books/*.txt", "--output=s3://out/wc", "--reduces=2", "--param=k=v"}
	if got := h.args(t, pid); !slices.Equal(got, want) {
		t.Errorf("master args:\n%q\nwant\n%q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "files", "stop.txt")); err != nil || string(b) != "the\na\n" {
		t.Errorf("pinned side file = %q, %v", b, err)
	}
	if rec := waitRecord(t, h.zk, jobID, "the takeover count", func(registry.JobRecord) bool { return true }); rec.Takeovers != 0 {
		t.Errorf("Takeovers = %d on the submitting host", rec.Takeovers)
	}

	if err := h.Kill(ctx, jobID); err != nil {
		t.Fatal(err)
	}
	rec = waitRecord(t, h.zk, jobID, "the job to end", func(r registry.JobRecord) bool { return r.State.Ended() })
	if !rec.KillRequested || rec.State != registry.JobKilled || rec.Error != "the job master exited: got SIGTERM" {
		t.Errorf("after Kill: state %s, kill requested %v, error %q", rec.State, rec.KillRequested, rec.Error)
	}
	if _, err := os.Stat(filepath.Join(h.procs, strconv.Itoa(pid)+".term")); err != nil {
		t.Errorf("the master got no SIGTERM: %v", err)
	}
	waitFor(t, "the job's programs to go (its master's log stays)", func() bool {
		ents, _ := os.ReadDir(dir)
		return len(ents) == 1 && ents[0].Name() == masterLog
	})
	if err := h.Kill(ctx, jobID); !proto.IsCode(err, proto.CodeNotFound) {
		t.Errorf("Kill of an ended job = %v, want not_found", err)
	}
}

// TestKillBeforeMasterStarts: a Kill that comes after the record names
// this host's master but before its process started is not refused as
// "runs no master": the master is signalled the moment it starts, and the
// job ends killed.
func TestKillBeforeMasterStarts(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	reached, release := make(chan struct{}), make(chan struct{})
	h := startHostHeld(t, s.Addr(), "w1", 1, c, func() {
		close(reached)
		<-release
	})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let) // before the host's Close, which waits for the master
	ctx := testCtx(t)
	if _, err := h.Submit(ctx, testSpec(t, c)); err != nil {
		t.Fatal(err)
	}
	<-reached
	if rec, err := h.zk.Job(ctx, jobID); err != nil || rec.MasterID != "w1" {
		t.Fatalf("record before the master starts: %+v, %v", rec, err)
	}
	if err := h.Kill(ctx, jobID); err != nil {
		t.Fatalf("Kill before the master started: %v", err)
	}
	let()
	rec := waitRecord(t, h.zk, jobID, "the job to end", func(r registry.JobRecord) bool { return r.State.Ended() })
	if !rec.KillRequested || rec.State != registry.JobKilled {
		t.Errorf("after Kill: state %s, kill requested %v, error %q", rec.State, rec.KillRequested, rec.Error)
	}
}

// TestTakeover: when the leading host's ZooKeeper session ends, it kills
// its master at once, and the standby, whose cache holds the programs,
// takes the job over (Takeovers 1) and starts the master itself.
func TestTakeover(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	spec := testSpec(t, c)
	a := startHost(t, s.Addr(), "wa", 1, c)
	b := startHost(t, s.Addr(), "wb", 1, c)
	if _, err := a.Submit(testCtx(t), spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "wa's master to start", func() bool { return len(a.masters(t)) == 1 })
	waitFor(t, "wb to stand by", func() bool { return b.standing(jobID) })
	if n := len(b.masters(t)); n != 0 {
		t.Fatalf("the standby started %d masters while wa leads", n)
	}
	first := a.masters(t)[0]

	start := time.Now()
	a.zk.Close() // wa's worker is cut off: its session ends
	waitFor(t, "wb's master to start", func() bool { return len(b.masters(t)) == 1 })
	t.Logf("takeover took %v", time.Since(start).Round(time.Millisecond))
	waitFor(t, "wa's master to be killed", func() bool { return !alive(first) })
	rec := waitRecord(t, b.zk, jobID, "wb in the record", func(r registry.JobRecord) bool { return r.MasterID == "wb" })
	if rec.Takeovers != 1 || rec.Master != "wb:7070" || rec.State.Ended() {
		t.Errorf("after the takeover: %+v", rec)
	}
	if got := b.args(t, b.masters(t)[0]); !slices.Contains(got, filepath.Join(b.cfg.Dir, jobID, "app", "wordcount")) {
		t.Errorf("wb's master does not run wb's pinned app: %q", got)
	}
}

// TestMasterExitFailsJob: a master that exits leaving its job open fails
// the job with the last line it logged.
func TestMasterExitFailsJob(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	h := startHost(t, s.Addr(), "w1", 1, c, helperExit+"=job failed: no such bucket")
	if _, err := h.Submit(testCtx(t), testSpec(t, c)); err != nil {
		t.Fatal(err)
	}
	rec := waitRecord(t, h.zk, jobID, "the job to fail", func(r registry.JobRecord) bool { return r.State.Ended() })
	if rec.State != registry.JobFailed || rec.Error != "the job master exited: job failed: no such bucket" || rec.Ended.IsZero() {
		t.Errorf("record = state %s, error %q, ended %v", rec.State, rec.Error, rec.Ended)
	}
}

// TestSubmitRefusals: flags a detached job may not carry, a full host
// (retryable busy, so the client tries another), programs the cache does
// not hold, an id used before, and a Kill of a job the host does not run.
func TestSubmitRefusals(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	h := startHost(t, s.Addr(), "w1", 1, c)
	ctx := testCtx(t)
	spec := testSpec(t, c)

	bad := spec
	bad.Args = append(slices.Clone(spec.Args), "--zk=elsewhere:2181")
	_, err := h.Submit(ctx, bad)
	if !proto.IsCode(err, proto.CodeBadRequest) || !strings.Contains(err.Error(), "flag --zk cannot be passed to a detached job") {
		t.Errorf("Submit with --zk = %v", err)
	}
	for _, arg := range []string{"--input=/etc/passwd", "--output=/tmp/out"} {
		local := spec
		local.Args = append(slices.Clone(spec.Args), arg)
		if _, err := h.Submit(ctx, local); !proto.IsCode(err, proto.CodeBadRequest) || !strings.Contains(err.Error(), "own disk") {
			t.Errorf("Submit with %s = %v", arg, err)
		}
	}
	missing := spec
	missing.Programs = append(slices.Clone(spec.Programs), proto.JobFile{Flag: "file", Name: "gone", SHA: strings.Repeat("ab", 32)})
	if _, err := h.Submit(ctx, missing); !proto.IsCode(err, proto.CodeNotFound) {
		t.Errorf("Submit of an uncached file = %v, want not_found", err)
	}
	if _, err := h.zk.Job(ctx, jobID); !errors.Is(err, registry.ErrNoJob) {
		t.Errorf("a refused job was recorded: %v", err)
	}

	if _, err := h.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Submit(ctx, spec); !proto.IsCode(err, proto.CodeBadRequest) {
		t.Errorf("a second Submit of the job = %v, want bad_request", err)
	}
	other := spec
	other.ID = "j20260101-120000-99999999"
	_, err = h.Submit(ctx, other)
	var perr *proto.Error
	if !errors.As(err, &perr) || perr.Code != proto.CodeBusy || !perr.Retryable {
		t.Errorf("Submit to a full host = %v, want a retryable busy", err)
	}
	if err := h.Kill(ctx, other.ID); !proto.IsCode(err, proto.CodeNotFound) {
		t.Errorf("Kill of a job the host does not run = %v, want not_found", err)
	}
}

// claim counts a takeover whenever a master ran the job before, this
// host's own included (it lost the election while cut off and won it
// back): each master numbers its attempts from the count.
func TestClaimCountsTakeovers(t *testing.T) {
	self := registry.WorkerInfo{ID: "wa", Addr: "wa:7070"}
	for _, tc := range []struct {
		name      string
		rec       registry.JobRecord
		takeovers int
		err       error
	}{
		{"submitted here", registry.JobRecord{State: registry.JobSubmitted, MasterID: "wa"}, 0, nil},
		{"standby, no master yet", registry.JobRecord{State: registry.JobSubmitted}, 0, nil},
		{"submitted elsewhere, its master never began", registry.JobRecord{State: registry.JobSubmitted, MasterID: "wb"}, 1, nil},
		{"another host's master ran it", registry.JobRecord{State: registry.JobRunning, MasterID: "wb", Takeovers: 2}, 3, nil},
		{"this host's own master ran it", registry.JobRecord{State: registry.JobRunning, MasterID: "wa", Takeovers: 1}, 2, nil},
		{"ended", registry.JobRecord{State: registry.JobKilled, MasterID: "wb"}, 0, errEnded},
	} {
		r := tc.rec
		err := claim(&r, self)
		if !errors.Is(err, tc.err) || err == nil && (r.Takeovers != tc.takeovers || r.MasterID != "wa" || r.Master != "wa:7070") {
			t.Errorf("%s: claim = %v, record %+v; want takeovers %d naming wa", tc.name, err, r, tc.takeovers)
		}
	}
}

// TestLeadsAgainAfterCutOff: a host cut off from ZooKeeper loses the
// election of the job whose master it runs, and kills the master. Once it
// is back (its session lived on), it stands by again at once, not at the
// next rescan a minute later: with no other candidate it leads again, and
// its new master counts as a takeover.
func TestLeadsAgainAfterCutOff(t *testing.T) {
	s := zktest.Start(t)
	p := s.Proxy(t)
	c := cache{}
	h := startHost(t, p.Addr(), "w1", 1, c)
	ctx := testCtx(t)
	if _, err := h.Submit(ctx, testSpec(t, c)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the master to start", func() bool { return len(h.masters(t)) == 1 })
	first := h.masters(t)[0]
	if _, err := h.zk.UpdateJob(ctx, jobID, func(r *registry.JobRecord) error {
		r.State = registry.JobRunning // as the master records when it begins
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	waitFor(t, "the cut-off master to be killed", func() bool { return !alive(first) })
	p.Heal()
	waitFor(t, "a new master, well before the next rescan", func() bool { return len(h.masters(t)) == 2 })
	rec := waitRecord(t, h.zk, jobID, "the record", func(registry.JobRecord) bool { return true })
	if rec.MasterID != "w1" || rec.Takeovers != 1 || rec.State.Ended() {
		t.Errorf("after leading again: master %s, takeovers %d, state %s; want w1, 1, not ended", rec.MasterID, rec.Takeovers, rec.State)
	}
}
