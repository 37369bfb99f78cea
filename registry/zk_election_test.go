package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitFor waits for ch to close.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("no %s after %v", what, waitLimit)
	}
}

func campaign(t *testing.T, z *ZK, job, candidate string) *Candidacy {
	t.Helper()
	c, err := z.Campaign(testCtx(t), job, candidate)
	if err != nil {
		t.Fatal(err)
	}
	if c.Candidate() != candidate {
		t.Fatalf("Candidate() = %q, want %q", c.Candidate(), candidate)
	}
	return c
}

func TestZKElection(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	zs := []*ZK{newZK(t, s.Addr()), newZK(t, s.Addr()), newZK(t, s.Addr())}
	if err := zs[0].CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := zs[0].Campaign(ctx, "nope", "w0"); !errors.Is(err, ErrNoJob) {
		t.Fatalf("Campaign on no job = %v, want ErrNoJob", err)
	}
	var cs []*Candidacy
	for i, name := range []string{"w-a", "w-b", "w-c"} {
		cs = append(cs, campaign(t, zs[i], "j1", name))
		if i == 0 {
			waitFor(t, cs[0].Leading(), "leader after the first campaign")
		}
	}

	// Whenever a candidate starts leading, no other candidate leads.
	check := func(leader int) {
		t.Helper()
		waitFor(t, cs[leader].Leading(), "new leader "+cs[leader].Candidate())
		for i, c := range cs {
			if i != leader && isClosed(c.Leading()) && !isClosed(c.Lost()) {
				t.Fatalf("%s leads while %s still does", cs[leader].Candidate(), c.Candidate())
			}
		}
		if isClosed(cs[leader].Lost()) {
			t.Fatalf("leader %s has lost", cs[leader].Candidate())
		}
	}
	check(0)
	if isClosed(cs[1].Leading()) || isClosed(cs[2].Leading()) {
		t.Fatal("a second candidate leads")
	}

	// The leader's session ends: the next one leads, the third waits.
	zs[0].Close()
	waitFor(t, cs[0].Lost(), "lost after Close")
	check(1)
	if isClosed(cs[2].Leading()) {
		t.Fatal("the third candidate leads with the second alive")
	}

	// The second resigns: the third leads.
	if err := cs[1].Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if !isClosed(cs[1].Lost()) {
		t.Error("Lost is open after Resign")
	}
	check(2)
	if err := cs[1].Resign(ctx); err != nil {
		t.Errorf("second Resign: %v", err)
	}
	raw := rawZK(t, s.Addr())
	names, _, err := raw.Children("/dist/jobs/j1/masters")
	if err != nil || len(names) != 1 {
		t.Errorf("candidate nodes %v, %v; want only the leader's", names, err)
	}
}

func TestZKElectionNoHerd(t *testing.T) {
	// A candidate in the middle leaving changes nothing for the leader,
	// and the last one now waits for the first.
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	a := campaign(t, z, "j1", "a")
	waitFor(t, a.Leading(), "a leading")
	b, c := campaign(t, z, "j1", "b"), campaign(t, z, "j1", "c")
	if err := b.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if isClosed(c.Leading()) || isClosed(a.Lost()) {
		t.Fatal("b's leaving made c lead or a lose")
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c.Leading(), "c leading after a resigned")
}

func TestZKElectionLostOnExpiry(t *testing.T) {
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	leader, other := newZK(t, p.Addr()), newZK(t, s.Addr())
	if err := other.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	c1 := campaign(t, leader, "j1", "w1")
	waitFor(t, c1.Leading(), "w1 leading")
	c2 := campaign(t, other, "j1", "w2")
	if n, err := p.ExpireSessions(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireSessions = %d, %v", n, err)
	}
	waitFor(t, c1.Lost(), "w1 lost after its session expired")
	waitFor(t, c2.Leading(), "w2 leading after w1's session expired")
	if err := c1.Resign(ctx); err != nil {
		t.Errorf("Resign after the loss: %v", err)
	}
	// A new candidacy on the new session queues behind w2.
	c3 := campaign(t, leader, "j1", "w1")
	if isClosed(c3.Leading()) {
		t.Error("w1 leads again while w2 does")
	}
}

func TestZKElectionLostWhenNodeDeleted(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	a := campaign(t, z, "j1", "a")
	waitFor(t, a.Leading(), "a leading")
	if err := rawZK(t, s.Addr()).Delete(a.node, -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.Lost(), "a lost after its node was deleted")
}

func TestZKElectionLostWhenCutOff(t *testing.T) {
	// Cut off for a third of the session timeout, a leader gives up: the
	// server may expire its session soon after.
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	z := newZK(t, p.Addr())
	if err := z.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	a := campaign(t, z, "j1", "a")
	waitFor(t, a.Leading(), "a leading")
	began := time.Now() // before the cut: the client may notice it before Cut returns
	p.Cut()
	waitFor(t, a.Lost(), "a lost after the cut")
	if d := time.Since(began); d < z.sessionTimeout/3 {
		t.Errorf("lost %v after the cut, before a third of the %v session timeout", d, z.sessionTimeout)
	}
}

func TestZKElectionEndsWithContext(t *testing.T) {
	s := zktest.Start(t)
	z := newZK(t, s.Addr())
	if err := z.CreateJob(testCtx(t), jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	a, err := z.Campaign(ctx, "j1", "a")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.Leading(), "a leading")
	b := campaign(t, z, "j1", "b")
	cancel()
	waitFor(t, a.Lost(), "a lost after its context ended")
	waitFor(t, b.Leading(), "b leading after a's context ended")
}

func TestZKElectionAfterServerRestart(t *testing.T) {
	skipUnderRace(t)
	// ZooKeeper restarts: every candidate is cut off and loses, but the
	// sessions survive the restart (the server restores them and their
	// timeouts start afresh). The nodes of the candidacies that lost must
	// go all the same, or a new candidate never leads: it found a's old
	// node, under a's live session, below its own for good.
	s := zktest.Start(t)
	ctx := testCtx(t)
	opts := ZKOptions{Logger: testLogger(t), SessionTimeout: 4 * time.Second}
	za, err := NewZK(ctx, s.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer za.Close()
	zb, err := NewZK(ctx, s.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	if err := za.CreateJob(ctx, jobRec("j1", t0), nil); err != nil {
		t.Fatal(err)
	}
	a := campaign(t, za, "j1", "a")
	waitFor(t, a.Leading(), "a leading")
	owner := za.conn.SessionID()
	b := campaign(t, zb, "j1", "b")

	s.Stop()
	waitFor(t, a.Lost(), "a lost while ZooKeeper is down")
	waitFor(t, b.Lost(), "b lost while ZooKeeper is down")
	// Down longer than a session timeout: a resigning gives up on
	// deleting its node, or keeps trying (the outage ends either way).
	resigned := make(chan struct{})
	go func() {
		defer close(resigned)
		_ = a.Resign(context.Background())
	}()
	select {
	case <-resigned:
	case <-time.After(2 * opts.SessionTimeout):
	}
	s.Start()

	c := campaign(t, zb, "j1", "b")
	waitFor(t, c.Leading(), "a new candidate leading after the restart")
	if za.conn.SessionID() != owner {
		t.Logf("a's session did not survive the restart (%x, was %x): the test proved less", za.conn.SessionID(), owner)
	}
}
