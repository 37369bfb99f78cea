package registry

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

// randomPlan is n bytes no compressor or chunking accident could fake.
func randomPlan(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestZKJobPlanRoundTrip(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z, reader := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := reader.JobPlan(ctx, "j1"); ok || err != nil {
		t.Fatalf("JobPlan before PutJobPlan: ok=%v, %v", ok, err)
	}
	plan := randomPlan(1, 5*maxChunk+12345) // 6 chunks, the last one short
	if err := z.PutJobPlan(ctx, "j1", plan); err != nil {
		t.Fatal(err)
	}
	got, ok, err := reader.JobPlan(ctx, "j1")
	if err != nil || !ok || !bytes.Equal(got, plan) {
		t.Fatalf("JobPlan = %d bytes, ok=%v, %v; want the %d bytes put", len(got), ok, err, len(plan))
	}
	raw := rawZK(t, s.Addr())
	names, _, err := raw.Children("/dist/jobs/j1/plan")
	if err != nil || len(names) != 6 {
		t.Errorf("plan chunks %v, %v; want 6", names, err)
	}
	for _, n := range names {
		if data, _, err := raw.Get("/dist/jobs/j1/plan/" + n); err != nil || len(data) > maxChunk || len(data) == 0 {
			t.Errorf("chunk %s: %d bytes, %v", n, len(data), err)
		}
	}

	// The same plan again is a no-op; another one is refused.
	if err := z.PutJobPlan(ctx, "j1", plan); err != nil {
		t.Errorf("putting the same plan again: %v", err)
	}
	if err := reader.PutJobPlan(ctx, "j1", []byte("other")); !errors.Is(err, ErrPlanExists) {
		t.Errorf("putting another plan = %v, want ErrPlanExists", err)
	}
	// A corrupted chunk is detected, not returned.
	m, _, err := z.planMarker(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Set("/dist/jobs/j1/plan/"+chunkName(m.Writer, 2), []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reader.JobPlan(ctx, "j1"); !errors.Is(err, ErrMalformedJob) {
		t.Errorf("JobPlan with a corrupted chunk = %v, want ErrMalformedJob", err)
	}

	// An empty plan is a plan.
	if err := z.CreateJob(ctx, jobRec("j2", t0), nil); err != nil {
		t.Fatal(err)
	}
	if err := z.PutJobPlan(ctx, "j2", nil); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := reader.JobPlan(ctx, "j2"); err != nil || !ok || len(got) != 0 {
		t.Errorf("empty plan: %d bytes, ok=%v, %v", len(got), ok, err)
	}
	if err := z.PutJobPlan(ctx, "nope", plan); !errors.Is(err, ErrNoJob) {
		t.Errorf("PutJobPlan(nope) = %v, want ErrNoJob", err)
	}
	if _, _, err := z.JobPlan(ctx, "nope"); !errors.Is(err, ErrNoJob) {
		t.Errorf("JobPlan(nope) = %v, want ErrNoJob", err)
	}
}

func TestZKJobPlanHalfWrittenIsNoPlan(t *testing.T) {
	// A writer that died after some chunks, before its marker: readers
	// see no plan, and the next writer's plan replaces the leftovers.
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	long := randomPlan(2, 4*maxChunk)
	if err := z.putChunks(ctx, "j1", "dead", long); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := z.JobPlan(ctx, "j1"); ok || err != nil {
		t.Fatalf("JobPlan of a half-written plan: ok=%v, %v; want no plan", ok, err)
	}
	plan := randomPlan(3, 2*maxChunk+1)
	if err := z.PutJobPlan(ctx, "j1", plan); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := z.JobPlan(ctx, "j1"); err != nil || !ok || !bytes.Equal(got, plan) {
		t.Fatalf("JobPlan = %d bytes, ok=%v, %v", len(got), ok, err)
	}
	raw := rawZK(t, s.Addr())
	names, _, err := raw.Children("/dist/jobs/j1/plan")
	if err != nil || len(names) != 3 {
		t.Errorf("chunks after the rewrite: %v, %v; want the 3 of the plan", names, err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "dead-") {
			t.Errorf("the dead writer's chunk %s is still there", n)
		}
	}
}

func TestZKJobPlanRacingWriters(t *testing.T) {
	// Two masters write different plans at once: one wins whole, the
	// other is told ErrPlanExists, and the stored plan is the winner's.
	s := zktest.Start(t)
	ctx := testCtx(t)
	a, b := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := a.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	plans := [][]byte{randomPlan(4, 3*maxChunk), randomPlan(5, 3*maxChunk+7)}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, z := range []*ZK{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = z.PutJobPlan(ctx, "j1", plans[i])
		}()
	}
	wg.Wait()
	got, ok, err := a.JobPlan(ctx, "j1")
	if err != nil || !ok {
		t.Fatalf("JobPlan = ok=%v, %v", ok, err)
	}
	winner := slicesIndex(plans, got)
	if winner < 0 {
		t.Fatalf("the stored plan (%d bytes) is neither writer's", len(got))
	}
	if errs[winner] != nil || !errors.Is(errs[1-winner], ErrPlanExists) {
		t.Errorf("writer %d won; errors %v, want nil and ErrPlanExists", winner, errs)
	}
}

func slicesIndex(plans [][]byte, b []byte) int {
	for i, p := range plans {
		if bytes.Equal(p, b) {
			return i
		}
	}
	return -1
}

func TestZKJobJournal(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z, reader := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	if j, err := reader.JobJournal(ctx, "j1"); err != nil || len(j) != 0 {
		t.Fatalf("empty journal = %v, %v", j, err)
	}
	want := map[string][]byte{}
	for i := range 200 {
		task := fmt.Sprintf("map-%05d", i)
		want[task] = []byte(strings.Repeat(task, 10))
		if err := z.JournalTask(ctx, "j1", task, want[task]); err != nil {
			t.Fatal(err)
		}
	}
	want["reduce-00000"] = []byte("second")
	if err := z.JournalTask(ctx, "j1", "reduce-00000", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := z.JournalTask(ctx, "j1", "reduce-00000", want["reduce-00000"]); err != nil {
		t.Fatal(err)
	}
	got, err := reader.JobJournal(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("journal has %d entries, want %d", len(got), len(want))
	}
	for task, e := range want {
		if !bytes.Equal(got[task], e) {
			t.Errorf("entry %s = %q, want %q", task, got[task], e)
		}
	}
	if err := z.JournalTask(ctx, "j1", "a/b", nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("JournalTask(a/b) = %v, want ErrInvalidName", err)
	}
	if err := z.JournalTask(ctx, "nope", "t", nil); !errors.Is(err, ErrNoJob) {
		t.Errorf("JournalTask on no job = %v, want ErrNoJob", err)
	}
	if _, err := z.JobJournal(ctx, "nope"); !errors.Is(err, ErrNoJob) {
		t.Errorf("JobJournal(nope) = %v, want ErrNoJob", err)
	}
}
