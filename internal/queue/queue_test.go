package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestNextWaitsAndKeepsOrder(t *testing.T) {
	q := New[int]()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := range 100 {
			q.Push(i)
		}
	}()
	var got []int
	for len(got) < 100 {
		items, err := q.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, items...)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("got %v, want 0..99 in order", got)
		}
	}
	cancel()
	if _, err := q.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
}

func TestReadyAndTake(t *testing.T) {
	q := New[string]()
	if got := q.Take(); got != nil {
		t.Fatalf("Take on an empty queue: %v", got)
	}
	q.Push("a")
	q.Push("b")
	<-q.Ready()
	if got := q.Take(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Take = %v, want [a b]", got)
	}
	q.Close()
	q.Push("c")
	if got := q.Take(); got != nil {
		t.Fatalf("Take after Close = %v, want nothing", got)
	}
}
