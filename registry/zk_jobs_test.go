package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

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
