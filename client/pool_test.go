package client

import (
	"context"
	"errors"
	"testing"
)

// An attempt stopped while it dials or uploads (a lost race, an early
// reduce giving its slot to a map) must not leave its "context canceled"
// as the verdict every later attempt on that worker gets.
func TestSharedStepForgetsACancelledCaller(t *testing.T) {
	var s sharedStep
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runs := 0
	err := s.do(ctx, func() error { runs++; return ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller got %v, want its own cancellation", err)
	}
	if err := s.do(context.Background(), func() error { runs++; return nil }); err != nil {
		t.Fatalf("second caller got %v, want the step run again and succeed", err)
	}
	if err := s.do(context.Background(), func() error { runs++; return errors.New("ran again") }); err != nil || runs != 2 {
		t.Fatalf("a settled step ran again (runs %d, err %v)", runs, err)
	}
}

// A real failure (not the caller's own cancellation) is the step's
// verdict for everyone, and settle fixes one only while none is there.
func TestSharedStepKeepsARealFailure(t *testing.T) {
	var s sharedStep
	boom := errors.New("upload refused")
	if err := s.do(context.Background(), func() error { return boom }); err != boom {
		t.Fatalf("got %v", err)
	}
	s.settle(nil)
	if err := s.do(context.Background(), func() error { return nil }); err != boom {
		t.Fatalf("got %v, want the first verdict kept", err)
	}
}
