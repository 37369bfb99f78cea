package master

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

// TestMasterLog: while the host runs a job's master, MasterLog names the
// file the master writes to, and after the job ended too (its programs
// gone), until Retention has passed; for a job the host never ran there
// is none.
func TestMasterLog(t *testing.T) {
	s := zktest.Start(t)
	c := cache{}
	h := startHost(t, s.Addr(), "w1", 1, c)
	ctx := testCtx(t)
	if _, err := h.Submit(ctx, testSpec(t, c)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the master to start", func() bool { return len(h.masters(t)) == 1 })
	path, ok := h.MasterLog(jobID)
	if want := filepath.Join(h.cfg.Dir, jobID, "master.log"); !ok || path != want {
		t.Fatalf("MasterLog(%s) = %q, %v; want %q", jobID, path, ok, want)
	}
	if _, ok := h.MasterLog("another-job"); ok {
		t.Error("MasterLog of a job the host never ran")
	}
	if err := h.Kill(ctx, jobID); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, h.zk, jobID, "the job to end", func(r registry.JobRecord) bool { return r.State.Ended() })
	// The host unpins the job's programs, then forgets the job; prune
	// spares a job the host still holds.
	waitFor(t, "the job's programs to go and the host to forget the job", func() bool {
		ents, _ := os.ReadDir(filepath.Join(h.cfg.Dir, jobID))
		return len(ents) == 1 && !h.standing(jobID)
	})
	if got, ok := h.MasterLog(jobID); !ok || got != path {
		t.Fatalf("MasterLog(%s) after the job ended = %q, %v; want %q", jobID, got, ok, path)
	}
	h.prune(time.Now())
	if _, ok := h.MasterLog(jobID); !ok {
		t.Fatal("prune removed a fresh log")
	}
	h.prune(time.Now().Add(h.cfg.Retention + time.Minute))
	if _, err := os.Stat(filepath.Join(h.cfg.Dir, jobID)); !os.IsNotExist(err) {
		t.Fatalf("the job's directory is still there after Retention: %v", err)
	}
}
