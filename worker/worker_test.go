package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no dir", func(c *Config) { c.Dir = "" }, "--dir"},
		{"no listen", func(c *Config) { c.Listen = "" }, "--listen"},
		{"bad id", func(c *Config) { c.ID = "a/b" }, "not a safe name"},
		{"negative slots", func(c *Config) { c.Slots = -1 }, "slots"},
		{"tls without client", func(c *Config) { c.TLS = &tls.Config{} }, "TLSClient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Dir = t.TempDir()
			tc.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want ErrConfig mentioning %q", err, tc.want)
			}
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Fatalf("New accepted a bad config: %v", err)
			}
		})
	}
	c := DefaultConfig()
	c.Dir = t.TempDir()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config with a dir: %v", err)
	}
}

func TestHandshakeAndInfo(t *testing.T) {
	secret := []byte("cluster secret")
	w := newTestWorker(t, func(c *Config) { c.Secret = secret; c.Slots = 3 })

	if !spec.ValidName(w.ID()) {
		t.Fatalf("generated id %q is not a safe name", w.ID())
	}
	_, port, _ := net.SplitHostPort(w.Addr())
	if port == "0" || !strings.Contains(w.ID(), "-"+port+"-") {
		t.Fatalf("id %q / addr %q: want the real port in both", w.ID(), w.Addr())
	}

	// A client without the secret is refused; the worker keeps serving.
	_, err := proto.Dial(testContext(t), w.Addr(), proto.Options{Secret: []byte("wrong")})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("dial with a wrong secret: %v", err)
	}
	_, err = proto.Dial(testContext(t), w.Addr(), proto.Options{})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("dial without a secret: %v", err)
	}

	s := connect(t, w, secret)
	if s.WorkerID != w.ID() {
		t.Fatalf("handshake says worker %q, want %q", s.WorkerID, w.ID())
	}
	var rep proto.InfoReply
	if err := s.Call(testContext(t), proto.OpInfo, "", &proto.InfoRequest{}, &rep); err != nil {
		t.Fatal(err)
	}
	info := rep.Info
	if info.ID != w.ID() || info.Addr != w.Addr() || info.Slots != 3 || info.Version != proto.Version ||
		info.GoVersion != runtime.Version() || info.OS != runtime.GOOS || info.Arch != runtime.GOARCH ||
		info.Started.IsZero() || rep.Running != 0 {
		t.Fatalf("Info = %+v running %d", info, rep.Running)
	}
	if slices.Contains(info.Flags, "insecure") {
		t.Fatalf("worker with a secret flagged insecure: %v", info.Flags)
	}
}

func TestArtifactCache(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	ctx := testContext(t)
	body := []byte("#!/bin/sh\necho hi\n")
	sum := sha(body)

	has := func() bool {
		var rep proto.HasArtifactReply
		if err := s.Call(ctx, proto.OpHasArtifact, "", &proto.ArtifactRequest{SHA256: sum}, &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Present
	}
	if has() {
		t.Fatal("empty cache has the artifact")
	}
	// Concurrent uploads of one artifact are safe.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = putArtifactBytes(ctx, s, body, sum)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Fatal("artifact missing after PutArtifact")
	}
	fi, err := os.Stat(filepath.Join(w.cfg.Dir, "cache", sum))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Fatalf("cached artifact mode %v, want 0755", fi.Mode())
	}
	assertCacheHolds(t, w, sum)

	err = s.Call(ctx, proto.OpHasArtifact, "", &proto.ArtifactRequest{SHA256: "ABC"}, &proto.HasArtifactReply{})
	wireCode(t, err, proto.CodeBadRequest, "64 lowercase hex")
}

// assertCacheHolds checks the cache directory holds exactly names.
func assertCacheHolds(t *testing.T, w *Worker, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(w.cfg.Dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("cache holds %v, want %v", got, names)
	}
}

func TestArtifactChecksumMismatch(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	body := []byte("some program")
	wrong := sha([]byte("another program"))
	err := putArtifactBytes(testContext(t), s, body, wrong)
	wireCode(t, err, proto.CodeChecksum, wrong)
	wireCode(t, err, proto.CodeChecksum, sha(body))
	assertCacheHolds(t, w)
}

func TestArtifactTooLarge(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.MaxArtifact = 1024 })
	s := connect(t, w, nil)
	body := make([]byte, 20<<20) // more than a stream window: the refused body is drained
	err := putArtifactBytes(testContext(t), s, body, sha(body))
	wireCode(t, err, proto.CodeTooLarge, "at most 1024")
	assertCacheHolds(t, w)
	// The session still serves.
	small := []byte("ok")
	if err := putArtifactBytes(testContext(t), s, small, sha(small)); err != nil {
		t.Fatal(err)
	}
	assertCacheHolds(t, w, sha(small))
}

func TestBadInputRefused(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.MaxInput = 100 })
	s := connect(t, w, nil)
	ctx := testContext(t)

	ref := proto.AttemptRef{Job: "../x", Task: "m-00000"}
	err := upload(ctx, s, proto.OpPutInput, "", &proto.PutInputRequest{AttemptRef: ref, Size: 3}, []byte("abc"))
	wireCode(t, err, proto.CodeBadRequest, `job id "../x" is not a safe name`)

	ref = proto.AttemptRef{Job: "j", Task: "m-00000"}
	err = upload(ctx, s, proto.OpPutInput, "", &proto.PutInputRequest{AttemptRef: ref, Size: 1000}, make([]byte, 1000))
	wireCode(t, err, proto.CodeTooLarge, "at most 100")

	_, _, err = fetch(ctx, s, proto.OpFetchOutput, "j",
		&proto.FetchOutputRequest{AttemptRef: ref, Name: "../../etc/passwd"})
	wireCode(t, err, proto.CodeBadRequest, `"../../etc/passwd" is not a safe name`)

	_, _, err = fetch(ctx, s, proto.OpFetchPartition, "j",
		&proto.FetchPartitionRequest{AttemptRef: proto.AttemptRef{Job: "j", Task: ".."}})
	wireCode(t, err, proto.CodeBadRequest, `task id ".." is not a safe name`)

	_, _, err = fetch(ctx, s, proto.OpFetchPartition, "j", &proto.FetchPartitionRequest{AttemptRef: ref})
	wireCode(t, err, proto.CodeNotFound, "no finished output")

	err = s.Call(ctx, "Frobnicate", "", &proto.InfoRequest{}, &proto.Reply{})
	wireCode(t, err, proto.CodeBadRequest, `unknown op "Frobnicate"`)

	err = s.Call(ctx, proto.OpKill, "other", &proto.KillRequest{AttemptRef: ref}, &proto.Reply{})
	wireCode(t, err, proto.CodeBadRequest, `names job "other"`)

	err = s.Call(ctx, proto.OpKill, "j", &proto.KillRequest{AttemptRef: ref}, &proto.Reply{})
	wireCode(t, err, proto.CodeNotFound, "not on worker")

	// A malformed request frame.
	st, err := s.Open(ctx, proto.OpInfo, "", []byte{0xc1}) // 0xc1 is never valid msgpack
	if err != nil {
		t.Fatal(err)
	}
	err = s.ReadReply(ctx, st, proto.OpInfo, &proto.InfoReply{})
	st.Close()
	wireCode(t, err, proto.CodeBadRequest, "bad request")

	// Launch refusals arrive as a final event.
	art := sha([]byte("not uploaded"))
	for _, tc := range []struct {
		req  *proto.LaunchRequest
		code string
		want string
	}{
		{mapRequest("j", 0, 0, 1, art, nil), proto.CodeNotFound, "PutArtifact it first"},
		{mapRequest("j/k", 0, 0, 1, art, nil), proto.CodeBadRequest, `job id "j/k" is not a safe name`},
		{func() *proto.LaunchRequest {
			r := mapRequest("j", 0, 0, 1, art, nil)
			r.Artifact.Kind = "python"
			return r
		}(), proto.CodeBadRequest, `unknown artifact kind "python"`},
		{func() *proto.LaunchRequest {
			r := mapRequest("j", 0, 0, 1, art, nil)
			r.Config.Phase = "shuffle"
			return r
		}(),
			proto.CodeBadRequest, "unknown phase"},
	} {
		evs := runToEnd(t, s, tc.req)
		if len(evs) != 1 {
			t.Fatalf("refused launch sent %d events", len(evs))
		}
		wireCode(t, evs[0].Error, tc.code, tc.want)
	}

	// After all that, the worker still serves.
	if err := s.Call(ctx, proto.OpInfo, "", &proto.InfoRequest{}, &proto.InfoReply{}); err != nil {
		t.Fatal(err)
	}
}

func TestMapAttemptAndFetchPartition(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)

	// A map needs its input staged first.
	evs := runToEnd(t, s, mapRequest("job1", 0, 0, 2, art, nil))
	wireCode(t, evs[len(evs)-1].Error, proto.CodeNotFound, "PutInput it first")

	putInput(t, s, "job1", "m-00000", 0, "the cat saw the dog\nthe end\n")
	evs = runToEnd(t, s, mapRequest("job1", 0, 0, 2, art, nil))
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	final := evs[len(evs)-1]
	if final.Error != nil {
		t.Fatalf("map failed: %v\n%s", final.Error, final.StderrTail)
	}
	if !slices.Equal(kinds, []string{proto.EventStaging, proto.EventRunning, proto.EventDone}) || !final.Final {
		t.Fatalf("events %v", kinds)
	}
	res := final.Result
	if res == nil || res.Status != spec.StatusOK || len(res.Outputs) != 2 {
		t.Fatalf("result %+v", res)
	}

	if n := res.Counters[spec.CounterInputRecords]; n != 2 {
		t.Fatalf("map read %d records, want 2", n)
	}
	var total int64
	for _, o := range res.Outputs {
		body, rep, err := fetch(testContext(t), s, proto.OpFetchPartition, "job1", &proto.FetchPartitionRequest{
			AttemptRef: proto.AttemptRef{Job: "job1", Task: "m-00000"}, Partition: o.Partition,
		})
		if err != nil {
			t.Fatal(err)
		}
		if o.Name != spec.MapPartName(o.Partition) || rep.Size != o.Size || rep.CRC32C != o.CRC32C ||
			crc(body) != o.CRC32C || int64(len(body)) != o.Size {
			t.Fatalf("partition %d: reply %+v, body crc %08x len %d, result %+v", o.Partition, rep, crc(body), len(body), o)
		}
		if b := fetchOutput(t, s, "job1", "m-00000", 0, o.Name); string(b) != string(body) {
			t.Fatalf("FetchOutput and FetchPartition of %s differ", o.Name)
		}
		total += o.Size
	}
	if total == 0 {
		t.Fatal("map wrote nothing")
	}

	// The task saw the scrubbed environment and its own directory.
	dir := attemptDirOf(w, "job1", "m-00000", 0)
	for _, f := range []string{spec.ConfigFile, spec.ResultFile, "stdout.log", "stderr.log", spec.SplitFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// The same attempt cannot be launched twice.
	evs = runToEnd(t, s, mapRequest("job1", 0, 0, 2, art, nil))
	wireCode(t, evs[0].Error, proto.CodeBadRequest, "already launched")

	_, _, err := fetch(testContext(t), s, proto.OpFetchPartition, "job1", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "job1", Task: "m-00000"}, Partition: 7,
	})
	wireCode(t, err, proto.CodeNotFound, "map-00007")
}

func TestTaskEnvironment(t *testing.T) {
	env := taskEnv("/w/tasks/j/m-0")
	for _, kv := range env {
		if strings.Contains(strings.ToLower(kv), "secret") {
			t.Fatalf("environment leaks %q", kv)
		}
	}
	want := []string{"HOME=/w/tasks/j/m-0", "TMPDIR=/w/tasks/j/m-0/tmp", "LANG=C.UTF-8", "DIST_TASK_DIR=/w/tasks/j/m-0"}
	for _, kv := range want {
		if !slices.Contains(env, kv) {
			t.Errorf("environment %v lacks %s", env, kv)
		}
	}
}

func TestFailingAttempt(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	putInput(t, s, "j", "m-00002", 0, "x\n")
	evs := runToEnd(t, s, mapRequest("j", 2, 0, 1, art, map[string]string{"mode": "fail"}))
	final := evs[len(evs)-1]
	e := wireCode(t, final.Error, proto.CodeTaskFailed, "task m-00002 attempt 0 exited with status 3: boom")
	if !e.Retryable {
		t.Error("task failure not retryable")
	}
	if final.ExitCode != 3 || !strings.Contains(final.StderrTail, "warming up\nboom") {
		t.Fatalf("exit %d, stderr tail %q", final.ExitCode, final.StderrTail)
	}
	if strings.Contains(e.Message, "\n") {
		t.Fatalf("multi-line message %q", e.Message)
	}

	putInput(t, s, "j", "m-00003", 0, "x\n")
	evs = runToEnd(t, s, mapRequest("j", 3, 0, 1, art, map[string]string{"mode": "noresult"}))
	wireCode(t, evs[len(evs)-1].Error, proto.CodeTaskFailed, "wrote no result.msgpack")

	putInput(t, s, "j", "m-00004", 0, "x\n")
	evs = runToEnd(t, s, mapRequest("j", 4, 0, 1, art, map[string]string{"mode": "badresult"}))
	wireCode(t, evs[len(evs)-1].Error, proto.CodeTaskFailed, "unreadable result.msgpack: malformed msgpack")

	// An artifact that is no program for this machine.
	junk := []byte("this is not a program\n")
	if err := putArtifactBytes(testContext(t), s, junk, sha(junk)); err != nil {
		t.Fatal(err)
	}
	putInput(t, s, "j", "m-00005", 0, "x\n")
	evs = runToEnd(t, s, mapRequest("j", 5, 0, 1, sha(junk), nil))
	e = wireCode(t, evs[len(evs)-1].Error, proto.CodeBadRequest, "is not an ELF file")
	if e.Retryable {
		t.Error("an artifact that is not a program is retryable")
	}

	// A failed attempt's outputs are not served.
	_, _, err := fetch(testContext(t), s, proto.OpFetchPartition, "j", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "j", Task: "m-00002"},
	})
	wireCode(t, err, proto.CodeNotFound, "no finished output")
}

// startHanging launches a hanging map and waits until its processes run.
func startHanging(t *testing.T, w *Worker, s *proto.Session, ctx context.Context, job string, index int, art, mode string) (*proto.Stream, []int) {
	t.Helper()
	taskID := spec.TaskID(spec.PhaseMap, index)
	putInput(t, s, job, taskID, 0, "x\n")
	st := launch(t, ctx, s, mapRequest(job, index, 0, 1, art, map[string]string{"mode": mode}))
	for _, want := range []string{proto.EventStaging, proto.EventRunning} {
		if ev := nextEvent(t, st); ev.Kind != want || ev.Error != nil {
			t.Fatalf("event %+v, want %s", ev, want)
		}
	}
	var pids []int
	waitFor(t, "the hanging task's pids", func() bool {
		var ok bool
		pids, ok = pidsOf(attemptDirOf(w, job, taskID, 0))
		return ok
	})
	return st, pids
}

func running(t *testing.T, s *proto.Session) int {
	t.Helper()
	var rep proto.InfoReply
	if err := s.Call(testContext(t), proto.OpInfo, "", &proto.InfoRequest{}, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Running
}

func TestBusy(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.Slots = 1 })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	st, _ := startHanging(t, w, s, testContext(t), "j", 0, art, "hang")

	putInput(t, s, "j", "m-00001", 0, "x\n")
	evs := runToEnd(t, s, mapRequest("j", 1, 0, 1, art, nil))
	e := wireCode(t, evs[0].Error, proto.CodeBusy, "all 1 slots")
	if !e.Retryable {
		t.Error("busy is not retryable")
	}

	// Kill frees the slot; the launch stream gets the final event.
	ref := proto.AttemptRef{Job: "j", Task: "m-00000"}
	if err := s.Call(testContext(t), proto.OpKill, "j", &proto.KillRequest{AttemptRef: ref}, &proto.Reply{}); err != nil {
		t.Fatal(err)
	}
	final := nextEvent(t, st)
	wireCode(t, final.Error, proto.CodeTaskFailed, "killed: a Kill call named it")
	if n := running(t, s); n != 0 {
		t.Fatalf("%d running after the final event, want 0", n)
	}
	evs = runToEnd(t, s, mapRequest("j", 1, 0, 1, art, nil))
	if err := evs[len(evs)-1].Error; err != nil {
		t.Fatal(err)
	}
}

func TestClosingLaunchStreamKillsProcessGroup(t *testing.T) {
	for _, mode := range []string{"hang", "stubborn"} {
		t.Run(mode, func(t *testing.T) {
			w := newTestWorker(t, func(c *Config) { c.KillGrace = 300 * time.Millisecond })
			s := connect(t, w, nil)
			art := putTestApp(t, s)
			ctx, cancel := context.WithCancel(testContext(t))
			_, pids := startHanging(t, w, s, ctx, "j", 0, art, mode)
			if n := running(t, s); n != 1 {
				t.Fatalf("running %d, want 1", n)
			}
			cancel() // closes the launch stream
			waitFor(t, "the task's process group to die", func() bool {
				return gone(pids[0]) && gone(pids[1])
			})
			waitFor(t, "the slot to be freed", func() bool { return running(t, s) == 0 })
		})
	}
}

func TestReduceAcrossWorkers(t *testing.T) {
	secret := []byte("s3cret")
	a := newTestWorker(t, func(c *Config) { c.Secret = secret; c.ID = "worker-a" })
	b := newTestWorker(t, func(c *Config) { c.Secret = secret; c.ID = "worker-b"; c.FetchParallel = 1 })
	sa, sb := connect(t, a, secret), connect(t, b, secret)
	art := putTestApp(t, sa)
	putTestApp(t, sb)

	inputs := []string{"apple banana apple\ncherry\n", "banana date\napple\n", "elder fig\n"}
	const reduces = 2
	var fetchs [reduces][]proto.MapOutput
	for i, in := range inputs {
		w, s := a, sa
		if i == 1 {
			w, s = b, sb // one map output is local to the reduce's worker
		}
		res := runMap(t, s, "wc", i, reduces, art, in)
		for _, o := range res.Outputs {
			fetchs[o.Partition] = append(fetchs[o.Partition], proto.MapOutput{
				WorkerID: w.ID(), Addr: w.Addr(), Task: spec.TaskID(spec.PhaseMap, i),
				Partition: o.Partition, Size: o.Size, CRC32C: o.CRC32C,
			})
		}
	}
	var all []string
	for r := range reduces {
		evs := runToEnd(t, sb, reduceRequest("wc", r, reduces, art, fetchs[r]))
		final := evs[len(evs)-1]
		if final.Error != nil {
			t.Fatalf("reduce %d: %v\n%s", r, final.Error, final.StderrTail)
		}
		out := string(fetchOutput(t, sb, "wc", spec.TaskID(spec.PhaseReduce, r), 0, spec.PartName(r)))
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" {
				all = append(all, l)
			}
		}
		// The local map output was linked, the remote ones fetched.
		for _, mo := range fetchs[r] {
			if _, err := os.Stat(filepath.Join(attemptDirOf(b, "wc", spec.TaskID(spec.PhaseReduce, r), 0), inName(mo))); err != nil {
				t.Error(err)
			}
		}
	}
	slices.Sort(all)
	want := []string{"apple\t3", "banana\t2", "cherry\t1", "date\t1", "elder\t1", "fig\t1"}
	if !slices.Equal(all, want) {
		t.Fatalf("reduce outputs %q, want %q", all, want)
	}

	// A map output that does not match what the map reported fails the
	// fetch as damaged, naming the map task and the worker.
	bad := slices.Clone(fetchs[0])
	for i := range bad {
		if bad[i].WorkerID == a.ID() {
			bad[i].CRC32C++
			req := reduceRequest("wc", 0, reduces, art, bad)
			req.Config.Attempt = 1
			evs := runToEnd(t, sb, req)
			e := wireCode(t, evs[len(evs)-1].Error, proto.CodeChecksum, "map task "+bad[i].Task)
			if !strings.Contains(e.Message, "worker-a") || !strings.Contains(e.Message, "CRC-32C mismatch") {
				t.Fatalf("fetch error %q does not name the worker and the cause", e.Message)
			}
			break
		}
	}
	// A map output on a worker that is gone.
	lost := []proto.MapOutput{{WorkerID: "worker-c", Addr: "127.0.0.1:1", Task: "m-00009", Partition: 1}}
	req := reduceRequest("wc", 1, reduces, art, lost)
	req.Config.Attempt = 1
	evs := runToEnd(t, sb, req)
	wireCode(t, evs[len(evs)-1].Error, proto.CodeFetchFailed, "map task m-00009 attempt 0 (partition 1) from worker worker-c")
	if n := running(t, sb); n != 0 {
		t.Fatalf("%d running after failed fetches", n)
	}
}

func TestJobEndsWithItsOwner(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.KillGrace = 300 * time.Millisecond })
	owner := connect(t, w, nil)
	peer := connect(t, w, nil)
	art := putTestApp(t, owner)
	runMap(t, owner, "j1", 0, 1, art, "a b\n")
	putInput(t, owner, "j2", "m-00000", 0, "c\n")
	jobDir := func(job string) string { return filepath.Join(w.cfg.Dir, "tasks", job) }

	// A peer fetching outputs does not own the job.
	if _, _, err := fetch(testContext(t), peer, proto.OpFetchPartition, "j1", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "j1", Task: "m-00000"},
	}); err != nil {
		t.Fatal(err)
	}
	peer.Close()

	// EndJob removes one job.
	if err := owner.Call(testContext(t), proto.OpEndJob, "j2", &proto.EndJobRequest{Job: "j2"}, &proto.Reply{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(jobDir("j2")); !os.IsNotExist(err) {
		t.Fatalf("j2 after EndJob: %v", err)
	}
	if _, err := os.Stat(jobDir("j1")); err != nil {
		t.Fatalf("j1 gone with j2: %v", err)
	}
	// A hanging attempt of j1 dies with its owner's session.
	_, pids := startHanging(t, w, owner, testContext(t), "j1", 1, art, "stubborn")
	owner.Close()
	waitFor(t, "the job directory to be removed", func() bool {
		_, err := os.Stat(jobDir("j1"))
		return os.IsNotExist(err)
	})
	waitFor(t, "the attempt's processes to die", func() bool { return gone(pids[0]) && gone(pids[1]) })
	s := connect(t, w, nil)
	_, _, err := fetch(testContext(t), s, proto.OpFetchPartition, "j1", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "j1", Task: "m-00000"},
	})
	wireCode(t, err, proto.CodeNotFound, "job ended")
}

// fakeRegistrar records calls and checks the worker is listening when it
// registers and still listening when it deregisters.
type fakeRegistrar struct {
	t          *testing.T
	mu         sync.Mutex
	info       registry.WorkerInfo
	calls      []string
	listening  []bool
	registered context.Context
}

func (f *fakeRegistrar) Register(ctx context.Context, info registry.WorkerInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info, f.registered = info, ctx
	f.calls = append(f.calls, "register")
	f.listening = append(f.listening, dialable(info.Addr))
	return nil
}

func (f *fakeRegistrar) Update(ctx context.Context, info registry.WorkerInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info = info
	f.calls = append(f.calls, "update")
	return nil
}

func (f *fakeRegistrar) Deregister(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "deregister")
	f.listening = append(f.listening, dialable(f.info.Addr))
	return nil
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestShutdown(t *testing.T) {
	before := len(children(t))
	reg := &fakeRegistrar{t: t}
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Registrar = reg
	cfg.KillGrace = 300 * time.Millisecond
	cfg.DrainTimeout = 0 // kill at once; TestShutdownDrainsRunningAttempts covers draining
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancelStart := context.WithCancel(context.Background())
	if err := w.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	cancelStart() // Start's context bounds only the start
	if reg.info.ID != w.ID() || reg.info.Addr != w.Addr() || reg.registered.Err() != nil {
		t.Fatalf("registered %+v (ctx err %v)", reg.info, reg.registered.Err())
	}
	if err := w.Start(testContext(t)); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}

	s, err := proto.Dial(testContext(t), w.Addr(), proto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	art := putTestApp(t, s)
	st, pids := startHanging(t, w, s, testContext(t), "j", 0, art, "stubborn")

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := w.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if !slices.Equal(reg.calls, []string{"register", "deregister"}) || !slices.Equal(reg.listening, []bool{true, true}) {
		t.Fatalf("registrar saw %v, listening %v", reg.calls, reg.listening)
	}
	if reg.registered.Err() == nil {
		t.Fatal("registration context still live after Shutdown")
	}
	if dialable(w.Addr()) {
		t.Fatal("still listening after Shutdown")
	}
	// The attempt was killed with its whole group, and said why.
	waitFor(t, "the attempt's processes to die", func() bool { return gone(pids[0]) && gone(pids[1]) })
	final := nextEvent(t, st)
	wireCode(t, final.Error, proto.CodeShuttingDown, "shutting down")
	if _, err := os.Stat(filepath.Join(cfg.Dir, "tasks", "j")); !os.IsNotExist(err) {
		t.Fatalf("job directory after Shutdown: %v", err)
	}
	if err := w.Start(testContext(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}

	s.Close()
	if n := len(children(t)); n > before {
		t.Fatalf("%d child processes left, had %d", n, before)
	}
	waitFor(t, "worker goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "dist/worker.(*") && !strings.Contains(stacks, "hashicorp/yamux")
	})
}
