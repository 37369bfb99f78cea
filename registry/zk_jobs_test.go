package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

func jobRec(id string, submitted time.Time) JobRecord {
	return JobRecord{
		ID:        id,
		User:      "alice",
		App:       "wordcount",
		Inputs:    []string{"s3://in/a", "s3://in/b"},
		Output:    "s3://out/" + id,
		Submitted: submitted,
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestZKJobCreateReadList(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if jobs, err := z.Jobs(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("Jobs before any = %v, %v", jobs, err)
	}
	if err := z.CreateJob(ctx, jobRec("j2", t0.Add(time.Minute)), []byte("spec2")); err != nil {
		t.Fatal(err)
	}
	if err := z.CreateJob(ctx, jobRec("j1", t0), []byte("spec1")); err != nil {
		t.Fatal(err)
	}
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); !errors.Is(err, ErrJobExists) {
		t.Fatalf("second CreateJob = %v, want ErrJobExists", err)
	}
	if err := z.CreateJob(ctx, jobRec("a/b", t0), nil); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("CreateJob(a/b) = %v, want ErrInvalidName", err)
	}

	other := newZK(t, s.Addr())
	got, err := other.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	want := jobRec("j1", t0)
	want.State = JobSubmitted
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Job = %+v\nwant  %+v", got, want)
	}
	if spec, err := other.JobSpec(ctx, "j1"); err != nil || string(spec) != "spec1" {
		t.Errorf("JobSpec = %q, %v", spec, err)
	}
	if _, err := other.Job(ctx, "nope"); !errors.Is(err, ErrNoJob) {
		t.Errorf("Job(nope) = %v, want ErrNoJob", err)
	}
	if _, err := other.JobSpec(ctx, "nope"); !errors.Is(err, ErrNoJob) {
		t.Errorf("JobSpec(nope) = %v, want ErrNoJob", err)
	}
	jobs, err := other.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if !slices.Equal(ids, []string{"j1", "j2"}) {
		t.Errorf("Jobs = %v, want [j1 j2] (by Submitted)", ids)
	}

	// Records live under the root, chroot or not.
	raw := rawZK(t, s.Addr())
	for _, p := range []string{"/dist/jobs/j1", "/dist/jobs/j1/spec", "/dist/jobs/j1/plan", "/dist/jobs/j1/journal", "/dist/jobs/j1/masters"} {
		if ok, _, err := raw.Exists(p); err != nil || !ok {
			t.Errorf("%s: exists=%v, %v", p, ok, err)
		}
	}
}

func TestZKUpdateJobNoLostUpdate(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	a, b := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := a.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	// Two updaters on two sessions each add to a different counter, and
	// both to Takeovers: every increment must be there at the end.
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, z := range []*ZK{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				_, err := z.UpdateJob(ctx, "j1", func(r *JobRecord) error {
					if i == 0 {
						r.Progress.MapsDone++
					} else {
						r.Progress.ReducesDone++
					}
					r.Takeovers++
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := a.Job(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Progress.MapsDone != n || got.Progress.ReducesDone != n || got.Takeovers != 2*n {
		t.Errorf("after 2x%d concurrent updates: maps %d, reduces %d, takeovers %d", n, got.Progress.MapsDone, got.Progress.ReducesDone, got.Takeovers)
	}

	// An error from fn aborts: nothing is written.
	stop := errors.New("no")
	if _, err := a.UpdateJob(ctx, "j1", func(r *JobRecord) error { r.State = JobFailed; return stop }); err != stop {
		t.Errorf("UpdateJob with a failing fn = %v, want its error", err)
	}
	if _, err := a.UpdateJob(ctx, "j1", func(r *JobRecord) error { r.ID = "other"; return nil }); err == nil {
		t.Error("UpdateJob changed the id")
	}
	if got, _ := a.Job(ctx, "j1"); got.State != JobSubmitted {
		t.Errorf("state %q after aborted updates", got.State)
	}
	if _, err := a.UpdateJob(ctx, "nope", func(*JobRecord) error { return nil }); !errors.Is(err, ErrNoJob) {
		t.Errorf("UpdateJob(nope) = %v, want ErrNoJob", err)
	}
}

// nextRecord reads records from ch until one satisfies cond.
func nextRecord(t *testing.T, ch <-chan JobRecord, what string, cond func(JobRecord) bool) JobRecord {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("job watch closed while waiting for %s", what)
			}
			if cond(r) {
				return r
			}
		case <-deadline.C:
			t.Fatalf("no %s after %v", what, waitLimit)
		}
	}
}

func TestZKWatchJob(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z, watcher := newZK(t, s.Addr()), newZK(t, s.Addr())
	if _, err := watcher.WatchJob(ctx, "j1"); !errors.Is(err, ErrNoJob) {
		t.Fatalf("WatchJob before the job = %v, want ErrNoJob", err)
	}
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	ch, err := watcher.WatchJob(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	nextRecord(t, ch, "the record now", func(r JobRecord) bool { return r.State == JobSubmitted })
	// Each change is seen, in order, when the watcher keeps up.
	for i := 1; i <= 5; i++ {
		if _, err := z.UpdateJob(ctx, "j1", func(r *JobRecord) error {
			r.State = JobRunning
			r.Progress.MapsDone = i
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		r := nextRecord(t, ch, fmt.Sprintf("maps done %d", i), func(JobRecord) bool { return true })
		if r.Progress.MapsDone != i {
			t.Fatalf("watch sent maps done %d, want %d", r.Progress.MapsDone, i)
		}
	}
	// A watcher that falls behind gets the newest record.
	for i := 6; i <= 20; i++ {
		if _, err := z.UpdateJob(ctx, "j1", func(r *JobRecord) error { r.Progress.MapsDone = i; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	nextRecord(t, ch, "maps done 20", func(r JobRecord) bool { return r.Progress.MapsDone == 20 })

	// Deleting the job closes the watch.
	raw := rawZK(t, s.Addr())
	if err := rawDeleteTree(raw, "/dist/jobs/j1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline.C:
			t.Fatal("job watch still open after the job was deleted")
		}
	}
}

// rawDeleteTree deletes node p and everything under it.
func rawDeleteTree(c *zk.Conn, p string) error {
	kids, _, err := c.Children(p)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := rawDeleteTree(c, p+"/"+k); err != nil {
			return err
		}
	}
	return c.Delete(p, -1)
}

func TestZKWatchJobs(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z, watcher := newZK(t, s.Addr()), newZK(t, s.Addr())
	ch, err := watcher.WatchJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string, ids ...string) {
		t.Helper()
		deadline := time.NewTimer(waitLimit)
		defer deadline.Stop()
		for {
			select {
			case got, ok := <-ch:
				if !ok {
					t.Fatalf("jobs watch closed while waiting for %s", what)
				}
				if slices.Equal(got, ids) {
					return
				}
			case <-deadline.C:
				t.Fatalf("no %s after %v", what, waitLimit)
			}
		}
	}
	want("no jobs before the jobs node exists")
	if err := z.CreateJob(ctx, jobRec("j2", t0), nil); err != nil {
		t.Fatal(err)
	}
	want("[j2]", "j2")
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	want("[j1 j2]", "j1", "j2")
	if err := rawDeleteTree(rawZK(t, s.Addr()), "/dist/jobs/j2"); err != nil {
		t.Fatal(err)
	}
	want("[j1] after j2 was deleted", "j1")
}

func TestZKWatchJobSurvivesExpiry(t *testing.T) {
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	z, watcher := newZK(t, s.Addr()), newZK(t, p.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	ch, err := watcher.WatchJob(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	nextRecord(t, ch, "the record now", func(JobRecord) bool { return true })
	first := watcher.SessionID()
	if n, err := p.ExpireSessions(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireSessions = %d, %v", n, err)
	}
	eventually(t, "a new session", func() bool { sid := watcher.SessionID(); return sid != 0 && sid != first })
	if _, err := z.UpdateJob(ctx, "j1", func(r *JobRecord) error { r.State = JobRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	nextRecord(t, ch, "the change after the expiry", func(r JobRecord) bool { return r.State == JobRunning })
}

func TestZKJobsACLAndChroot(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	member, err := newZKAuth(t, s.Addr()+"/team", "dist:cluster-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := member.CreateJob(ctx, jobRec("j1", t0), []byte("spec")); err != nil {
		t.Fatal(err)
	}
	if err := member.JournalTask(ctx, "j1", "map-00000", []byte("done")); err != nil {
		t.Fatal(err)
	}
	if err := member.PutJobPlan(ctx, "j1", []byte("plan")); err != nil {
		t.Fatal(err)
	}
	c := campaign(t, member, "j1", "w1")
	waitFor(t, c.Leading(), "w1 leading")

	raw := rawZK(t, s.Addr())
	m, _, err := member.planMarker(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/team/jobs", "/team/jobs/j1", "/team/jobs/j1/spec", "/team/jobs/j1/plan",
		"/team/jobs/j1/plan/" + chunkName(m.Writer, 0), "/team/jobs/j1/journal/map-00000", c.node} {
		acl, _, err := raw.GetACL(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if worldWritable(acl) || len(acl) != 2 || acl[0].Scheme != "digest" {
			t.Errorf("%s ACL %+v: want digest (all) and world (read)", p, acl)
		}
	}
	if ok, _, err := raw.Exists("/dist/jobs"); err != nil || ok {
		t.Errorf("/dist/jobs: exists=%v, %v; a chroot must not touch it", ok, err)
	}

	// Anyone reads; only members write.
	stranger := newZK(t, s.Addr()+"/team")
	if rec, err := stranger.Job(ctx, "j1"); err != nil || rec.ID != "j1" {
		t.Fatalf("Job without credentials = %+v, %v", rec, err)
	}
	if _, err := stranger.UpdateJob(ctx, "j1", func(r *JobRecord) error { r.KillRequested = true; return nil }); !errors.Is(err, ErrZKAuth) {
		t.Errorf("UpdateJob without credentials = %v, want ErrZKAuth", err)
	}
	if err := stranger.JournalTask(ctx, "j1", "map-00001", nil); !errors.Is(err, ErrZKAuth) {
		t.Errorf("JournalTask without credentials = %v, want ErrZKAuth", err)
	}
	if err := stranger.CreateJob(ctx, jobRec("j2", t0), nil); !errors.Is(err, ErrZKAuth) {
		t.Errorf("CreateJob without credentials = %v, want ErrZKAuth", err)
	}
}
