package task_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// A map with no input (dist run --tasks N) calls Map once, with its task
// index as key and an empty value, and InputFile is "".
func TestMapNoInput(t *testing.T) {
	app := task.App{Map: func(ctx *task.Context, key, value string, emit task.Emit) error {
		emit("k"+key, fmt.Sprintf("%s|%s|%s|%d", ctx.TaskID(), value, ctx.InputFile(), ctx.Tasks()))
		return nil
	}}
	out := tasktest.Run(t, app, tasktest.Job{Tasks: 3, Reduces: 1})
	want := []string{"k0\tm-00000|||3", "k1\tm-00001|||3", "k2\tm-00002|||3"}
	if got := out.Lines(); !slices.Equal(got, want) {
		t.Fatalf("output %q, want %q", got, want)
	}
	for i, res := range out.Maps {
		if res.Counters[spec.CounterInputRecords] != 1 || res.Counters[spec.CounterInputBytes] != 0 {
			t.Fatalf("map %d counters %v, want 1 input record of 0 bytes", i, res.Counters)
		}
	}
}

// A Map error in a map with no input names the task index.
func TestMapNoInputError(t *testing.T) {
	dir := tasktest.TaskDir(t, t.TempDir(), spec.Config{Job: "job", Task: "m-00004", Phase: task.PhaseMap, Index: 4,
		Split: spec.Split{Tasks: 5}}, nil)
	boom := errors.New("boom")
	err := mustFail(t, task.App{Map: func(*task.Context, string, string, task.Emit) error { return boom }}, dir)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "map 4 (no input)") {
		t.Fatalf("error %v, want boom naming map 4", err)
	}
}
