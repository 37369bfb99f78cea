package task_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// inMapperCombine counts words in the Context's state and emits the
// totals from Flush: the in-mapper combining pattern.
func inMapperCombine() task.App {
	return task.App{
		Setup: func(ctx *task.Context) error {
			ctx.SetState(map[string]int64{})
			return nil
		},
		Map: func(ctx *task.Context, _, line string, _ task.Emit) error {
			counts := ctx.State().(map[string]int64)
			for _, w := range words(line) {
				counts[w]++
			}
			return nil
		},
		Flush: func(ctx *task.Context, emit task.Emit) error {
			for w, n := range ctx.State().(map[string]int64) {
				emit(w, strconv.FormatInt(n, 10))
			}
			return nil
		},
		Reduce: sum,
	}
}

func TestFlushInMapperCombine(t *testing.T) {
	books := corpus(t)[:2]
	out := tasktest.Run(t, inMapperCombine(), tasktest.Job{Inputs: books, Reduces: 3, SortBuffer: 64 << 10})
	sameCounts(t, parseCounts(t, out), countDirectly(t, books))
}

func TestFlushReduce(t *testing.T) {
	// Reduce counts keys; Flush adds a trailer record after the last key.
	app := task.App{
		Setup: func(ctx *task.Context) error { ctx.SetState(new(int)); return nil },
		Reduce: func(ctx *task.Context, key string, values task.Values, emit task.Emit) error {
			*ctx.State().(*int)++
			return nil
		},
		Flush: func(ctx *task.Context, emit task.Emit) error {
			if ctx.Phase() != task.PhaseReduce {
				return nil // Flush runs in map tasks too
			}
			emit("keys", strconv.Itoa(*ctx.State().(*int)))
			return nil
		},
	}
	out := tasktest.Run(t, app, tasktest.Job{Inputs: corpus(t)[:1], Reduces: 1})
	want := strconv.Itoa(len(countLines(t, corpus(t)[:1])))
	if got := strings.TrimSpace(out.Parts[0]); got != "keys\t"+want {
		t.Fatalf("reduce output %q, want one trailer with %s distinct offsets", got, want)
	}
}

func TestFlushMapOnly(t *testing.T) {
	app := task.App{
		Map:   func(*task.Context, string, string, task.Emit) error { return nil },
		Flush: func(ctx *task.Context, emit task.Emit) error { emit("done", ctx.TaskID()); return nil },
	}
	out := tasktest.Run(t, app, tasktest.Job{Inputs: corpus(t)[:2], Reduces: 0})
	if len(out.Parts) != 2 || out.Parts[0] != "done\tm-00000\n" || out.Parts[1] != "done\tm-00001\n" {
		t.Fatalf("map-only output %q", out.Parts)
	}
	if n := out.Counter(spec.CounterOutputRecords); n != 2 {
		t.Fatalf("output.records = %d, want 2", n)
	}
}

func TestFlushError(t *testing.T) {
	boom := errors.New("boom")
	app := task.App{Flush: func(*task.Context, task.Emit) error { return boom }}
	dir := mapTask(t, spec.Config{Reduces: 1}, "a\nb\n")
	err := mustFail(t, app, dir)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "map: flush: boom") {
		t.Fatalf("error %v", err)
	}
}

// countLines returns the distinct text-input keys (line offsets) of files.
func countLines(tb testing.TB, files []string) map[string]bool {
	tb.Helper()
	keys := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var off int
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line != "" {
				keys[strconv.Itoa(off)] = true
			}
			off += len(line)
		}
	}
	return keys
}
