package registry

import (
	"errors"
	"testing"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

// draining reports whether the set holds exactly worker id, draining.
func draining(id string) func([]WorkerInfo) bool {
	return func(ws []WorkerInfo) bool { return len(ws) == 1 && ws[0].ID == id && ws[0].Draining }
}

// A worker that says it drains changes its node's data, not the set of
// nodes: watchers see the change (a data watch), and the node keeps what
// Update wrote when the worker registers again after its session expired.
func TestZKUpdateIsWatched(t *testing.T) {
	s := zktest.Start(t)
	p := s.Proxy(t)
	ctx := testCtx(t)
	w, lister := newZK(t, p.Addr()), newZK(t, s.Addr())
	if err := w.Update(ctx, info("w1")); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Update before Register = %v, want ErrNotRegistered", err)
	}
	if err := w.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	ch, err := lister.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)
	d := info("w1")
	d.Draining = true
	if err := w.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "w1 draining", draining("w1"), nil)

	// The same node changing again is seen again (the watch is set anew).
	d.Slots = 9
	if err := w.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	nine := func(ws []WorkerInfo) bool { return draining("w1")(ws) && ws[0].Slots == 9 }
	waitSet(t, ch, "w1 with 9 slots", nine, nil)

	// Registered again after an expiry, the node holds the update.
	first := w.SessionID()
	if n, err := p.ExpireSessions(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireSessions = %d, %v; want 1 session", n, err)
	}
	raw := rawZK(t, s.Addr())
	eventually(t, "w1's node owned by a new session", func() bool {
		_, stat, err := raw.Get("/dist/workers/w1")
		sid := w.SessionID()
		return err == nil && sid != 0 && sid != first && stat.EphemeralOwner == sid
	})
	if ws, err := lister.Workers(ctx); err != nil || !nine(ws) {
		t.Fatalf("Workers after registering again = %+v, %v; want w1 draining with 9 slots", ws, err)
	}
}

func TestMemoryUpdate(t *testing.T) {
	ctx := testCtx(t)
	m := NewMemory()
	t.Cleanup(func() { m.Close() })
	r := m.Registrar()
	if err := r.Update(ctx, info("a")); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Update before Register = %v, want ErrNotRegistered", err)
	}
	if err := r.Register(ctx, info("a")); err != nil {
		t.Fatal(err)
	}
	ch, err := m.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{a}", hasIDs("a"), nil)
	d := info("a")
	d.Draining = true
	if err := r.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "a draining", draining("a"), nil)
}
