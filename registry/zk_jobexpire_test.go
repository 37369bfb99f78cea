package registry

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

func TestZKExpireJobs(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	now := t0.Add(30 * 24 * time.Hour)
	week := 7 * 24 * time.Hour
	old, recent := now.Add(-8*24*time.Hour), now.Add(-time.Hour)
	jobs := []struct {
		id      string
		state   JobState
		ended   time.Time
		expires bool
	}{
		{"running-old", JobRunning, time.Time{}, false},
		{"submitted-old", JobSubmitted, time.Time{}, false},
		{"succeeded-old", JobSucceeded, old, true},
		{"failed-recent", JobFailed, recent, false},
		{"killed-unstarted", JobKilled, time.Time{}, true}, // counts from Submitted
	}
	for _, j := range jobs {
		rec := jobRec(j.id, t0)
		rec.State, rec.Ended = j.state, j.ended
		if err := z.CreateJob(ctx, rec, []byte("spec")); err != nil {
			t.Fatal(err)
		}
		if err := z.PutJobPlan(ctx, j.id, randomPlan(6, maxChunk+1)); err != nil {
			t.Fatal(err)
		}
	}
	// A large journal goes in several transactions.
	for i := range 2*deleteBatch + 10 {
		if err := z.JournalTask(ctx, "succeeded-old", fmt.Sprintf("map-%05d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// A candidate still standing for an ended job loses with it.
	c := campaign(t, z, "succeeded-old", "w1")

	if _, err := z.ExpireJobs(ctx, -time.Second, now); err == nil {
		t.Error("ExpireJobs with a negative retention did not fail")
	}
	n, err := z.ExpireJobs(ctx, week, now)
	if err != nil || n != 2 {
		t.Fatalf("ExpireJobs = %d, %v; want 2", n, err)
	}
	waitFor(t, c.Lost(), "the expired job's candidate losing")
	left, err := z.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range left {
		ids = append(ids, j.ID)
	}
	slices.Sort(ids)
	if want := []string{"failed-recent", "running-old", "submitted-old"}; !slices.Equal(ids, want) {
		t.Errorf("jobs left %v, want %v", ids, want)
	}
	raw := rawZK(t, s.Addr())
	for _, j := range jobs {
		ok, _, err := raw.Exists("/dist/jobs/" + j.id)
		if err != nil || ok == j.expires {
			t.Errorf("%s: exists=%v, %v; expired should be %v", j.id, ok, err, j.expires)
		}
	}
	if plan, ok, err := z.JobPlan(ctx, "running-old"); err != nil || !ok || len(plan) != maxChunk+1 {
		t.Errorf("a kept job's plan: %d bytes, ok=%v, %v", len(plan), ok, err)
	}
	if n, err := z.ExpireJobs(ctx, week, now); err != nil || n != 0 {
		t.Errorf("second ExpireJobs = %d, %v; want 0", n, err)
	}
}
