package registry

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

func TestZKRegisterCreatesEphemeralNode(t *testing.T) {
	s := zktest.Start(t)
	z := newZK(t, s.Addr())
	want := info("w1")
	if err := z.Register(testCtx(t), want); err != nil {
		t.Fatal(err)
	}

	raw := rawZK(t, s.Addr())
	data, stat, err := raw.Get("/dist/workers/w1")
	if err != nil {
		t.Fatalf("reading the node: %v", err)
	}
	if stat.EphemeralOwner != z.SessionID() {
		t.Errorf("node owner 0x%x, want the registrar's session 0x%x", stat.EphemeralOwner, z.SessionID())
	}
	got, err := DecodeWorkerInfo("w1", data)
	if err != nil {
		t.Fatal(err)
	}
	if !sameWorker(got, want) {
		t.Errorf("node holds %+v, want %+v", got, want)
	}
	for _, p := range []string{"/dist", "/dist/workers"} {
		_, st, err := raw.Get(p)
		if err != nil || st.EphemeralOwner != 0 {
			t.Errorf("%s: %v, owner 0x%x; want a persistent node", p, err, st.EphemeralOwner)
		}
	}
}

func TestZKWorkersWatchDeregister(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	w1, w2, lister := newZK(t, s.Addr()), newZK(t, s.Addr()), newZK(t, s.Addr())

	if err := w1.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	ws, err := lister.Workers(ctx)
	if err != nil || !hasIDs("w1")(ws) || !sameWorker(ws[0], info("w1")) {
		t.Fatalf("Workers = %+v, %v; want w1", ws, err)
	}

	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "the first set {w1}", hasIDs("w1"), nil)
	if err := w2.Register(ctx, info("w2")); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1 w2}", hasIDs("w1", "w2"), nil)

	if err := w1.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w2} after w1 deregistered", hasIDs("w2"), nil)
	if ws, err := lister.Workers(ctx); err != nil || !hasIDs("w2")(ws) {
		t.Fatalf("Workers = %v, %v; want [w2]", ids(ws), err)
	}
	if err := w1.Deregister(ctx); err != nil {
		t.Fatalf("second Deregister: %v", err)
	}

	// Registering again after Deregister works.
	if err := w1.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1 w2} again", hasIDs("w1", "w2"), nil)
}

func TestZKCloseEndsSession(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	worker, lister := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := worker.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)

	worker.Close()
	waitSet(t, ch, "an empty set after the worker's Close", hasIDs(), nil)

	if err := worker.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := worker.Register(ctx, info("w1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Register after Close = %v, want ErrClosed", err)
	}
	if _, err := worker.Workers(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Workers after Close = %v, want ErrClosed", err)
	}
	if err := worker.Deregister(ctx); err != nil {
		t.Fatalf("Deregister after Close = %v, want nil", err)
	}

	lister.Close()
	waitClosed(t, ch)
}

func TestZKChroot(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr()+"/myjobs")
	if z.Root() != "/myjobs" {
		t.Fatalf("Root() = %q, want /myjobs", z.Root())
	}
	if err := z.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	raw := rawZK(t, s.Addr())
	if ok, _, err := raw.Exists("/myjobs/workers/w1"); err != nil || !ok {
		t.Fatalf("/myjobs/workers/w1: exists=%v, %v", ok, err)
	}
	if ok, _, err := raw.Exists("/dist"); err != nil || ok {
		t.Fatalf("/dist: exists=%v, %v; a chroot must not touch it", ok, err)
	}
	if ws, err := newZK(t, s.Addr()).Workers(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("default root lists %v, %v; want none", ids(ws), err)
	}
	if ws, err := newZK(t, s.Addr()+"/myjobs").Workers(ctx); err != nil || !hasIDs("w1")(ws) {
		t.Fatalf("chroot lists %v, %v; want [w1]", ids(ws), err)
	}
}

func TestZKUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now

	began := time.Now()
	_, err = NewZK(context.Background(), addr, ZKOptions{ConnectTimeout: time.Second})
	elapsed := time.Since(began)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("NewZK = %v, want ErrUnreachable", err)
	}
	want := "cannot reach ZooKeeper at " + addr + " within 1s: connection refused"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if elapsed > 5*time.Second {
		t.Errorf("NewZK took %v with a 1s connect timeout", elapsed)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewZK(ctx, addr, ZKOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("NewZK with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestZKReregistersAfterExpiry(t *testing.T) {
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	worker, lister := newZK(t, p.Addr()), newZK(t, s.Addr())
	if err := worker.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	first := worker.SessionID()
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)

	if n, err := p.ExpireSessions(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireSessions = %d, %v; want 1 session", n, err)
	}
	raw := rawZK(t, s.Addr())
	eventually(t, "w1's node owned by a new session", func() bool {
		_, stat, err := raw.Get("/dist/workers/w1")
		sid := worker.SessionID()
		return err == nil && sid != 0 && sid != first && stat.EphemeralOwner == sid
	})
	ws, err := lister.Workers(ctx)
	if err != nil || !hasIDs("w1")(ws) || !sameWorker(ws[0], info("w1")) {
		t.Fatalf("Workers after re-registration = %+v, %v", ws, err)
	}
	// Deregister still finds and deletes the new node.
	if err := worker.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "an empty set after Deregister", hasIDs(), nil)
}

func TestZKServerRestartKeepsRegistration(t *testing.T) {
	skipUnderRace(t)
	s := zktest.Start(t)
	ctx := testCtx(t)
	w1, lister := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := w1.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)

	s.Stop()
	s.Start()

	w2 := newZK(t, s.Addr())
	if err := w2.Register(ctx, info("w2")); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1 w2} after the restart", hasIDs("w1", "w2"), func(ws []WorkerInfo) {
		if len(ws) == 0 || ws[0].ID != "w1" {
			t.Errorf("watch sent %v during the restart: w1 went missing", ids(ws))
		}
	})
	raw := rawZK(t, s.Addr())
	eventually(t, "w1's node owned by its registrar's session", func() bool {
		_, stat, err := raw.Get("/dist/workers/w1")
		return err == nil && stat.EphemeralOwner == w1.SessionID()
	})
}

func TestZKWatchSurvivesConnectionLoss(t *testing.T) {
	skipUnderRace(t)
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	w1, w2, lister := newZK(t, s.Addr()), newZK(t, s.Addr()), newZK(t, p.Addr())
	if err := w1.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)

	p.Cut()
	eventually(t, "the lister to notice the cut", func() bool {
		state, _, _ := lister.sess.get()
		return state != zk.StateHasSession
	})
	if err := w2.Register(ctx, info("w2")); err != nil {
		t.Fatal(err)
	}
	p.Heal()
	waitSet(t, ch, "{w1 w2} after reconnecting", hasIDs("w1", "w2"), func(ws []WorkerInfo) {
		if len(ws) == 0 {
			t.Error("watch sent an empty set during the connection loss")
		}
	})
}

func TestZKStaleNodeReplaced(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	old, restarted := newZK(t, s.Addr()), newZK(t, s.Addr())
	if err := old.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	// The same worker, restarted before its old session timed out.
	fresh := info("w1")
	fresh.Slots = 8
	if err := restarted.Register(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	raw := rawZK(t, s.Addr())
	data, stat, err := raw.Get("/dist/workers/w1")
	if err != nil {
		t.Fatal(err)
	}
	if stat.EphemeralOwner != restarted.SessionID() {
		t.Fatalf("owner 0x%x, want the new session 0x%x", stat.EphemeralOwner, restarted.SessionID())
	}
	if got, err := DecodeWorkerInfo("w1", data); err != nil || got.Slots != 8 {
		t.Fatalf("node holds %+v, %v; want the new info", got, err)
	}
	// The old registrar must not delete a node it no longer owns.
	if err := old.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := raw.Exists("/dist/workers/w1"); err != nil || !ok {
		t.Fatalf("the old registrar's Deregister removed the new node (exists=%v, %v)", ok, err)
	}
}

func TestZKPublishKeepsOwnNode(t *testing.T) {
	// A create retried after a connection loss finds the node it made.
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	p := z.spec.NodePath("w1")
	data, _ := EncodeWorkerInfo(info("w1"))
	first, err := z.publish(ctx, p, data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := z.publish(ctx, p, data)
	if err != nil || again != first {
		t.Fatalf("second publish = 0x%x, %v; want 0x%x, nil", again, err, first)
	}
	changed := info("w1")
	changed.Slots = 1
	data2, _ := EncodeWorkerInfo(changed)
	if _, err := z.publish(ctx, p, data2); err != nil {
		t.Fatal(err)
	}
	ws, err := z.Workers(ctx)
	if err != nil || len(ws) != 1 || ws[0].Slots != 1 {
		t.Fatalf("Workers = %+v, %v; want w1 with 1 slot", ws, err)
	}
}

func TestZKSkipsMalformedNodes(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if err := z.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	raw := rawZK(t, s.Addr())
	wrongID, _ := EncodeWorkerInfo(info("someone-else"))
	for name, data := range map[string][]byte{
		"garbage":  []byte("not msgpack \xc1"),
		"empty":    nil,
		"wrong-id": wrongID,
	} {
		if _, err := raw.Create("/dist/workers/"+name, data, 0, worldACL()); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := z.Workers(ctx)
	if err != nil || !hasIDs("w1")(ws) {
		t.Fatalf("Workers = %v, %v; want only w1", ids(ws), err)
	}
}

func TestZKRegisterErrors(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	z := newZK(t, s.Addr())
	if err := z.Register(ctx, info("a/b")); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Register(a/b) = %v, want ErrInvalidID", err)
	}
	if err := z.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	if err := z.Register(ctx, info("w2")); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("second Register = %v, want ErrAlreadyRegistered", err)
	}
}

func TestZKWatchBeforeAnyWorker(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	lister, worker := newZK(t, s.Addr()), newZK(t, s.Addr())
	if ws, err := lister.Workers(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("Workers on an empty ZooKeeper = %v, %v", ids(ws), err)
	}
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "the first, empty set", hasIDs(), nil)
	if err := worker.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1} once /dist/workers exists", hasIDs("w1"), nil)
}

func TestZKWatchEndsWithContext(t *testing.T) {
	s := zktest.Start(t)
	z := newZK(t, s.Addr())
	ctx, cancel := context.WithCancel(testCtx(t))
	ch, err := z.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "the first set", hasIDs(), nil)
	cancel()
	waitClosed(t, ch)
}

func TestZKRegisterStopsWithContext(t *testing.T) {
	// With the session gone and Register's context over, nothing
	// registers the worker again.
	s := zktest.Start(t)
	p := s.Proxy(t)
	z := newZK(t, p.Addr())
	ctx, cancel := context.WithCancel(testCtx(t))
	if err := z.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	cancel()
	eventually(t, "the keeper to stop", func() bool {
		select {
		case <-z.reg.exited:
			return true
		default:
			return false
		}
	})
	first := z.SessionID()
	if _, err := p.ExpireSessions(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new session", func() bool { sid := z.SessionID(); return sid != 0 && sid != first })
	if ws, err := z.Workers(testCtx(t)); err != nil || len(ws) != 0 {
		t.Fatalf("Workers = %v, %v; want none", ids(ws), err)
	}
}

func TestNewZKRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := NewZK(ctx, "", ZKOptions{}); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("empty spec: %v", err)
	}
	_, err := NewZK(ctx, "127.0.0.1:1", ZKOptions{SessionTimeout: -1})
	if err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative session timeout: %v", err)
	}
}

// A server that accepts a connection and never answers the connect
// request (as one may while it starts) is left after a session timeout
// and dialed again: go-zookeeper alone would wait 6.7 session timeouts
// for the answer (27 s for a 4 s session), during which the session
// expires.
func TestZKHandshakeBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan time.Time, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent to the end of the test
			accepted <- time.Now()
		}
	}()
	const session = 4 * time.Second
	c, events, err := zk.Connect([]string{ln.Addr().String()}, session, zk.WithLogger(zkLogger{testLogger(t)}),
		zk.WithDialer(BoundedDialer(session)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Close()
		for range events {
		}
	}()
	first := <-accepted
	select {
	case second := <-accepted:
		if d := second.Sub(first); d > 2*session {
			t.Errorf("dialed again %v after a silent server accepted, want within about %v", d, session)
		}
	case <-time.After(5 * session):
		t.Fatalf("not dialed again %v after a silent server accepted", 5*session)
	}
}
