package worker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/proto"
)

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.CacheSize = 2500 })
	s := connect(t, w, nil)
	ctx := testContext(t)
	blob := func(c byte) []byte { return []byte(strings.Repeat(string(c), 1000)) }
	a, b, c := blob('a'), blob('b'), blob('c')
	for _, x := range [][]byte{a, b} {
		if err := putArtifactBytes(ctx, s, x, sha(x)); err != nil {
			t.Fatal(err)
		}
	}
	// Make a the oldest, then use it: b becomes the least recently used.
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(w.cache.path(sha(a)), old, old)
	_ = os.Chtimes(w.cache.path(sha(b)), old.Add(time.Minute), old.Add(time.Minute))
	var has proto.HasArtifactReply
	if err := s.Call(ctx, proto.OpHasArtifact, "", &proto.ArtifactRequest{SHA256: sha(a)}, &has); err != nil || !has.Present {
		t.Fatalf("HasArtifact(a) = %v, %v", has.Present, err)
	}
	if err := putArtifactBytes(ctx, s, c, sha(c)); err != nil {
		t.Fatal(err)
	}
	for x, want := range map[string]bool{"a": true, "b": false, "c": true} {
		blob := map[string][]byte{"a": a, "b": b, "c": c}[x]
		if got := w.cache.has(sha(blob)); got != want {
			t.Errorf("artifact %s cached = %v, want %v (3000 bytes over a 2500-byte bound: b was least recently used)", x, got, want)
		}
	}
}

func TestFailedAttemptLogsOutliveTheirJob(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.KeepFailed = time.Hour })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	putInput(t, s, "job1", "m-00000", 0, "a b\n")
	evs := runToEnd(t, s, mapRequest("job1", 0, 0, 1, art, map[string]string{"mode": "fail"}))
	if evs[len(evs)-1].Error == nil {
		t.Fatal("the failing attempt succeeded")
	}
	var r proto.Reply
	if err := s.Call(testContext(t), proto.OpEndJob, "job1", &proto.EndJobRequest{Job: "job1"}, &r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.jobDir("job1")); !os.IsNotExist(err) {
		t.Fatalf("job directory left after EndJob (err %v)", err)
	}
	b, err := os.ReadFile(filepath.Join(w.cfg.Dir, "failed", "job1", "m-00000-0", "stderr.log"))
	if err != nil || !strings.Contains(string(b), "boom") {
		t.Fatalf("failed attempt's stderr not kept: %q, %v", b, err)
	}
}

func TestShutdownDrainsRunningAttempts(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.DrainTimeout = time.Minute })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	putInput(t, s, "job1", "m-00000", 0, "x y\n")
	ctx := testContext(t)
	st := launch(t, ctx, s, mapRequest("job1", 0, 0, 1, art, map[string]string{"mode": "slow"}))
	for nextEvent(t, st).Kind != proto.EventRunning {
	}
	shut := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		shut <- w.Shutdown(sctx)
	}()
	// New work is refused while draining.
	waitFor(t, "the worker to refuse new tasks", func() bool {
		var r proto.Reply
		err := s.Call(ctx, proto.OpPutInput, "job2", &proto.PutInputRequest{AttemptRef: proto.AttemptRef{Job: "job2", Task: "m-00000"}, Size: 0}, &r)
		return proto.IsCode(err, proto.CodeShuttingDown)
	})
	// Let the slow attempt finish: it waits for a file to appear.
	if err := os.WriteFile(filepath.Join(attemptDirOf(w, "job1", "m-00000", 0), "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	final := nextEvent(t, st)
	for !final.Final {
		final = nextEvent(t, st)
	}
	if final.Error != nil {
		t.Fatalf("the drained attempt did not finish: %v", final.Error)
	}
	// Its output counts: the worker serves it until the job ends.
	select {
	case err := <-shut:
		t.Fatalf("the worker stopped while its job still used it (%v)", err)
	default:
	}
	if _, _, err := fetch(ctx, s, proto.OpFetchPartition, "job1", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "job1", Task: "m-00000"}, Partition: 0}); err != nil {
		t.Fatalf("a draining worker does not serve its map output: %v", err)
	}
	if w.Info().Draining != true {
		t.Fatal("Info does not say the worker drains")
	}
	var r proto.Reply
	if err := s.Call(ctx, proto.OpEndJob, "job1", &proto.EndJobRequest{Job: "job1"}, &r); err != nil {
		t.Fatal(err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}
