package registry

import (
	"context"
	"errors"
	"testing"
)

func TestMemoryAddRemoveWatch(t *testing.T) {
	ctx := testCtx(t)
	m := NewMemory()
	t.Cleanup(func() { m.Close() })
	ch, err := m.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "the first, empty set", hasIDs(), nil)

	if err := m.Add(info("w2")); err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "{w2}", hasIDs("w2"), nil)
	if err := m.Add(info("w1")); err != nil {
		t.Fatal(err)
	}
	got := waitSet(t, ch, "{w1 w2}", hasIDs("w1", "w2"), nil)
	if !sameWorker(got[0], info("w1")) {
		t.Errorf("watch sent %+v, want %+v", got[0], info("w1"))
	}
	got[0].Flags[0] = "changed by the receiver"

	m.Remove("w2")
	m.Remove("w2") // idempotent
	waitSet(t, ch, "{w1}", hasIDs("w1"), nil)
	ws, err := m.Workers(ctx)
	if err != nil || !hasIDs("w1")(ws) || !sameWorker(ws[0], info("w1")) {
		t.Fatalf("Workers = %+v, %v", ws, err)
	}
	if err := m.Add(info("")); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Add with an empty ID = %v, want ErrInvalidID", err)
	}
}

func TestMemoryRegistrar(t *testing.T) {
	ctx := testCtx(t)
	m := NewMemory()
	t.Cleanup(func() { m.Close() })
	a, b := m.Registrar(), m.Registrar()
	if err := a.Register(ctx, info("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ctx, info("b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(ctx, info("a2")); !errors.Is(err, ErrAlreadyRegistered) {
		t.Errorf("second Register = %v, want ErrAlreadyRegistered", err)
	}
	if ws, _ := m.Workers(ctx); !hasIDs("a", "b")(ws) {
		t.Fatalf("Workers = %v, want [a b]", ids(ws))
	}
	if err := a.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if ws, _ := m.Workers(ctx); !hasIDs("b")(ws) {
		t.Fatalf("Workers = %v, want [b]", ids(ws))
	}
}

func TestMemoryWatchEnds(t *testing.T) {
	m := NewMemory()
	ctx, cancel := context.WithCancel(testCtx(t))
	byCtx, err := m.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byClose, err := m.Watch(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitClosed(t, byCtx)
	m.Close()
	waitClosed(t, byClose)
	m.Close()
	if _, err := m.Watch(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
	if err := m.Add(info("w1")); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
}
