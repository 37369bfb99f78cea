package registry

import (
	"context"
	"errors"
	"testing"
)

func TestStatic(t *testing.T) {
	ctx := testCtx(t)
	s := NewStatic([]string{"h2:1", " h1:1 ", "", "h2:1"})
	ws, err := s.Workers(ctx)
	if err != nil || !hasIDs("h1:1", "h2:1")(ws) {
		t.Fatalf("Workers = %v, %v; want [h1:1 h2:1]", ids(ws), err)
	}
	if ws[0].Addr != "h1:1" {
		t.Errorf("Addr = %q, want h1:1", ws[0].Addr)
	}

	wctx, cancel := context.WithCancel(ctx)
	ch, err := s.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSet(t, ch, "the list", hasIDs("h1:1", "h2:1"), nil)
	select {
	case ws, ok := <-ch:
		t.Fatalf("second receive = %v, %v before ctx ended", ids(ws), ok)
	default:
	}
	cancel()
	waitClosed(t, ch)

	ch2, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	waitSet(t, ch2, "the list", hasIDs("h1:1", "h2:1"), nil)
	waitClosed(t, ch2)
	if _, err := s.Workers(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Workers after Close = %v, want ErrClosed", err)
	}
}
