package s3store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// lockHolder reads who the lock object of output names.
func lockHolder(t *testing.T, s *Store, output string) (lockRecord, bool) {
	t.Helper()
	data, err := s.Get(testCtx(t), output+"/"+LockName)
	if errors.Is(err, ErrNotExist) {
		return lockRecord{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var rec lockRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("lock object %s: %v", data, err)
	}
	return rec, true
}

func testLock(t *testing.T, f *fixture) {
	f.bucket(t, "locks")
	s := newStore(t)
	ctx := testCtx(t)
	const out = "s3://locks/out"
	started := time.Date(2026, 11, 9, 15, 4, 5, 0, time.Local)
	a, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-a", PID: os.Getpid(), Started: started})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := lockHolder(t, s, out)
	if !ok || rec.Job != "job-a" || rec.PID != os.Getpid() || rec.Host != "host-a" || !rec.Started.Equal(started) || rec.Renewed.IsZero() {
		t.Fatalf("lock object = %+v, %v", rec, ok)
	}

	// Held by a live job: refused, naming it, from this host or another.
	for _, host := range []string{"host-a", "host-b"} {
		_, err = s.Lock(ctx, out+"/", Holder{Job: "job-b", Host: host, PID: 1})
		want := fmt.Sprintf("output %s is in use by job job-a (pid %d on host host-a, started 15:04:05): wait for it or choose another --output", out, os.Getpid())
		if !errors.Is(err, ErrLocked) || err.Error() != want || Retryable(err) {
			t.Fatalf("second Lock from %s: %v\nwant ErrLocked saying %s", host, err, want)
		}
	}

	// Renewing keeps it; the lock object says when.
	before := a.rec.Renewed
	if err := a.renew(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _ := lockHolder(t, s, out); !rec.Renewed.After(before) {
		t.Fatalf("renewed at %v, was %v", rec.Renewed, before)
	}

	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if _, ok := lockHolder(t, s, out); ok {
		t.Fatal("the lock object outlived Release")
	}
	select {
	case <-a.Lost():
		t.Fatal("a released lock says it was lost")
	default:
	}

	b, err := s.Lock(ctx, out, Holder{Job: "job-b", Host: "host-b", PID: 1})
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}

	// Outputs are their prefixes: out2 is not out.
	c, err := s.Lock(ctx, "s3://locks/out2", Holder{Job: "job-c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A lock whose holder stopped renewing it is taken over; the old holder
// learns it at its next renewal, and its Release leaves the new lock.
func testLockStaleByClock(t *testing.T, f *fixture) {
	f.bucket(t, "stale")
	const out = "s3://stale/out"
	ctx := testCtx(t)
	old := newStore(t)
	a, err := old.Lock(ctx, out, Holder{Job: "job-a", Host: "host-a", PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}

	// Within the lease: held.
	later := newStore(t)
	now := time.Now()
	later.now = func() time.Time { return now.Add(later.lease() - time.Second) }
	if _, err := later.Lock(ctx, out, Holder{Job: "job-b", Host: "host-b", PID: 1}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock within the lease: %v, want ErrLocked", err)
	}
	// A lease later: stale.
	later.now = func() time.Time { return now.Add(later.lease() + time.Second) }
	b, err := later.Lock(ctx, out, Holder{Job: "job-b", Host: "host-b", PID: 1})
	if err != nil {
		t.Fatalf("Lock of a stale lock: %v", err)
	}
	if rec, _ := lockHolder(t, old, out); rec.Job != "job-b" {
		t.Fatalf("the lock names %q, want job-b", rec.Job)
	}

	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check by the new holder: %v", err)
	}
	if err := a.Check(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("Check by the holder whose lock was taken over: %v, want ErrLocked", err)
	}
	select {
	case <-a.Lost():
	default:
		t.Fatal("Lost() not closed after Check found the lock taken")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, ok := lockHolder(t, old, out); !ok || rec.Job != "job-b" {
		t.Fatalf("after the old holder's Release the lock is %+v, %v; want job-b's", rec, ok)
	}

	// The conditional DELETE itself: a Release racing a takeover (its
	// ETag no longer current, not yet seen as lost) leaves the new lock.
	stale := &Lock{s: later, output: out, bucket: b.bucket, key: b.key, etag: a.etag,
		stop: func() {}, done: closedChan(), lost: make(chan struct{})}
	if err := stale.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lockHolder(t, old, out); !ok {
		t.Fatal("a Release with an old ETag deleted the current lock")
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lockHolder(t, old, out); ok {
		t.Fatal("the lock outlived its holder's Release")
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// A lock of a process that died on this host is stale at once.
func testLockStaleByDeadPID(t *testing.T, f *fixture) {
	f.bucket(t, "dead")
	const out = "s3://dead/out"
	ctx := testCtx(t)
	s := newStore(t)

	child := exec.Command(os.Args[0], "-test.run=^$")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	dead := child.Process.Pid
	a, err := s.Lock(ctx, out, Holder{Job: "crashed", Host: "this-host", PID: dead})
	if err != nil {
		t.Fatal(err)
	}
	a.stop() // it crashed: no more renewals, no Release
	<-a.done

	// From another host the pid cannot be checked: the lease counts.
	if _, err := s.Lock(ctx, out, Holder{Job: "job-b", Host: "other-host", PID: os.Getpid()}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock from another host: %v, want ErrLocked", err)
	}
	b, err := s.Lock(ctx, out, Holder{Job: "job-b", Host: "this-host", PID: os.Getpid()})
	if err != nil {
		t.Fatalf("Lock of a dead process's lock on the same host: %v", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// Of jobs that take a free output at once, exactly one gets it. (The
// store serializes conditional writes to one key, answering the losers a
// second apart: a few jobs make the point.)
func testLockRace(t *testing.T, f *fixture) {
	f.bucket(t, "race")
	const jobs = 3
	ctx := testCtx(t)
	var wg sync.WaitGroup
	locks := make([]*Lock, jobs)
	errs := make([]error, jobs)
	for i := range jobs {
		s := newStore(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			locks[i], errs[i] = s.Lock(ctx, "s3://race/out", Holder{Job: fmt.Sprint("job-", i), Host: "h", PID: os.Getpid()})
		}()
	}
	wg.Wait()
	won := 0
	for i := range jobs {
		switch {
		case errs[i] == nil:
			won++
			defer locks[i].Release(ctx)
		case !errors.Is(errs[i], ErrLocked):
			t.Errorf("job %d: %v, want ErrLocked", i, errs[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d jobs took the lock, want 1", won)
	}
}

// The holder renews its lock by itself, every LockLease/3.
func testLockRenews(t *testing.T, f *fixture) {
	f.bucket(t, "renew")
	const out = "s3://renew/out"
	ctx := testCtx(t)
	s := newStore(t)
	s.LockLease = 300 * time.Millisecond
	l, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-a", PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := lockHolder(t, s, out)
	deadline := time.After(10 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for renewals := 0; renewals < 2; {
		select {
		case <-deadline:
			t.Fatalf("the lock was renewed %d times in 10s, want 2 (every %v)", renewals, s.LockLease/3)
		case <-l.Lost():
			t.Fatal("the lock was lost")
		case <-poll.C:
		}
		if rec, _ := lockHolder(t, s, out); rec.Renewed.After(first.Renewed) {
			renewals++
			first = rec
		}
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lockHolder(t, s, out); ok {
		t.Fatal("the lock outlived Release")
	}
}

// A renewal whose answer was lost but which landed leaves the holder with
// an old ETag: neither the next renewal nor Release may take the lock for
// another job's (the holder would fail, or leave its lock behind).
func testLockLostReply(t *testing.T, f *fixture) {
	f.bucket(t, "lostreply")
	const out = "s3://lostreply/out"
	ctx := testCtx(t)
	s := newStore(t)
	s.LockLease = time.Hour // no renewal of its own during the test
	l, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-a", PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	landed := func() {
		t.Helper()
		rec := l.rec
		rec.Renewed = rec.Renewed.Add(time.Second)
		data, _ := json.Marshal(rec)
		if err := s.Put(ctx, out+"/"+LockName, data); err != nil {
			t.Fatal(err)
		}
	}
	landed()
	if err := l.renew(ctx); err != nil {
		t.Fatalf("renewal after a landed one: %v", err)
	}
	select {
	case <-l.Lost():
		t.Fatal("the holder thinks it lost its own lock")
	default:
	}
	landed()
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := lockHolder(t, s, out); ok {
		t.Fatal("the lock outlived Release")
	}
}

// A job master taking its job over takes the job's lock at once, while it
// is fresh; another job, or one not asking to take over, may not.
func testLockTakeoverSameJob(t *testing.T, f *fixture) {
	f.bucket(t, "takeover")
	const out = "s3://takeover/out"
	ctx := testCtx(t)
	s := newStore(t)
	a, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-a", PID: 1, Takeover: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, out, Holder{Job: "job-b", Host: "host-b", PID: 2, Takeover: true}); !errors.Is(err, ErrLocked) {
		t.Fatalf("another job taking over: %v, want ErrLocked", err)
	}
	if _, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-b", PID: 2}); !errors.Is(err, ErrLocked) {
		t.Fatalf("the same job without Takeover: %v, want ErrLocked", err)
	}
	b, err := s.Lock(ctx, out, Holder{Job: "job-a", Host: "host-b", PID: 2, Takeover: true})
	if err != nil {
		t.Fatalf("the job's next master: %v", err)
	}
	if err := a.Check(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("the old master's Check: %v, want ErrLocked", err)
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	_ = a.Release(ctx)
}
