package worker

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/distmr/dist/proto"
)

// recordingHost is a JobHost that records what reaches it.
type recordingHost struct {
	mu     sync.Mutex
	specs  []proto.JobSpec
	killed []string
}

func (h *recordingHost) Submit(_ context.Context, spec proto.JobSpec) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.specs = append(h.specs, spec)
	return "here:1", nil
}

func (h *recordingHost) Kill(_ context.Context, job string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.killed = append(h.killed, job)
	return nil
}

func (h *recordingHost) Slots() int    { return 3 }
func (h *recordingHost) Cached(string) {}

// TestJobHostCalls: SubmitJob and KillJob reach the worker's JobHost,
// whose slots the worker publishes; a worker without one refuses both,
// saying how to start one that takes them; CachedArtifact finds what
// PutArtifact stored.
func TestJobHostCalls(t *testing.T) {
	ctx := testContext(t)
	host := &recordingHost{}
	w := newTestWorker(t, func(c *Config) { c.JobHost = host })
	s := connect(t, w, nil)
	if got := w.Info().Masters; got != 3 {
		t.Errorf("Info().Masters = %d, want 3", got)
	}
	spec := proto.JobSpec{ID: "j1", User: "ada", Args: []string{"--reduces=2"}}
	var r proto.SubmitJobReply
	if err := s.Call(ctx, proto.OpSubmitJob, "j1", &proto.SubmitJobRequest{Spec: spec}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Job != "j1" || r.Master != "here:1" || len(host.specs) != 1 || host.specs[0].User != "ada" {
		t.Errorf("SubmitJob = %+v; the host got %+v", r, host.specs)
	}
	var kr proto.Reply
	if err := s.Call(ctx, proto.OpKillJob, "j1", &proto.KillJobRequest{Job: "j1"}, &kr); err != nil {
		t.Fatal(err)
	}
	if len(host.killed) != 1 || host.killed[0] != "j1" {
		t.Errorf("the host killed %v", host.killed)
	}

	sum := putTestApp(t, s)
	path, ok := w.CachedArtifact(sum)
	if !ok {
		t.Fatal("CachedArtifact misses an artifact PutArtifact stored")
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("CachedArtifact path %s: %v", path, err)
	}
	if _, ok := w.CachedArtifact("../etc"); ok {
		t.Error("CachedArtifact accepted a name that is no sha256")
	}

	plain := connect(t, newTestWorker(t, nil), nil)
	err := plain.Call(ctx, proto.OpSubmitJob, "j1", &proto.SubmitJobRequest{Spec: spec}, &r)
	wireCode(t, err, proto.CodeUnsupported, "this worker hosts no job masters: start it with --masters N and --zk")
	err = plain.Call(ctx, proto.OpKillJob, "j1", &proto.KillJobRequest{Job: "j1"}, &kr)
	wireCode(t, err, proto.CodeUnsupported, "--masters N")
}
