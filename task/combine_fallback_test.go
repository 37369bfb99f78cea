package task_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/tasktest"
)

// An app with a Combine whose keys are nearly all distinct: the map
// switches from combining to sorting at its first spill, and the runs of
// both kinds merge into the right output.
func TestCombineFallsBackToSorting(t *testing.T) {
	var in strings.Builder
	var want []string
	for i := range 3000 {
		fmt.Fprintf(&in, "key%05d\n", (i*7919)%3000) // every key once, in no order
		want = append(want, fmt.Sprintf("key%05d\t1", i))
	}
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	app := task.App{
		Map: func(_ *task.Context, _, line string, emit task.Emit) error {
			emit(line, "1")
			return nil
		},
		Combine: sum,
		Reduce:  sum,
	}
	out := tasktest.Run(t, app, tasktest.Job{Inputs: []string{path}, Reduces: 2, SortBuffer: 8 << 10})
	got := out.Lines()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines (first %q), want %d", len(got), got[:min(3, len(got))], len(want))
	}
	checkMapOutputs(t, out)
}
