package task_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// sampleTask writes a sample task directory over data and returns it.
func sampleTask(tb testing.TB, data string) string {
	tb.Helper()
	cfg := spec.Config{Job: "job", Task: spec.TaskID(spec.PhaseSample, 0), Phase: spec.PhaseSample, Reduces: 3,
		Order: &spec.Order{}, Split: spec.Split{File: spec.SplitFile, Name: "input.txt", Length: int64(len(data))}}
	return tasktest.TaskDir(tb, tb.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte(data)})
}

func TestSampleReportsMapKeys(t *testing.T) {
	dir := sampleTask(t, "the cat\nsat on the mat\n")
	res, err := task.Run(wordCount(true), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(res.Sample))
	want := []string{"cat", "mat", "on", "sat", "the", "the"}
	if !slices.Equal(got, want) {
		t.Errorf("sample %q, want Map's keys %q", got, want)
	}
	if len(res.Outputs) != 0 {
		t.Errorf("a sample task wrote %d outputs", len(res.Outputs))
	}
}

func TestMapPartitionsByCutPoints(t *testing.T) {
	dir := mapTask(t, spec.Config{Reduces: 3, Order: &spec.Order{Cuts: []string{"dog", "dog"}}}, "ant bee dog dog eel cat zebra\n")
	res, err := task.Run(wordCount(false), dir)
	if err != nil {
		t.Fatal(err)
	}
	records := map[int]int64{}
	for _, o := range res.Outputs {
		records[o.Partition] = o.Records
	}
	// ant bee cat < dog; the partition between the equal cuts is empty;
	// dog dog eel zebra >= dog.
	if records[0] != 3 || records[1] != 0 || records[2] != 4 {
		t.Errorf("records per partition %v, want 0:3 1:0 2:4", records)
	}
}

func TestOwnPartitionConflictsWithTotalOrder(t *testing.T) {
	app := wordCount(false)
	app.Partition = func(string, int) int { return 0 }
	for _, dir := range []string{
		sampleTask(t, "a b\n"),
		mapTask(t, spec.Config{Reduces: 2, Order: &spec.Order{Cuts: []string{"m"}}}, "a b\n"),
	} {
		err := mustFail(t, app, dir)
		if !errors.Is(err, task.ErrOwnPartition) || !errors.Is(err, task.ErrFatal) || !strings.Contains(err.Error(), "--total-order") {
			t.Errorf("error %v, want a fatal ErrOwnPartition naming --total-order", err)
		}
	}
}

func TestConfigRefusesBadCuts(t *testing.T) {
	for name, c := range map[string]spec.Config{
		"count":    {Reduces: 3, Order: &spec.Order{Cuts: []string{"a"}}},
		"order":    {Reduces: 3, Order: &spec.Order{Cuts: []string{"b", "a"}}},
		"no order": {Reduces: 3, Phase: spec.PhaseSample},
	} {
		c.Job, c.Task, c.Split = "j", "m-00000", spec.Split{File: spec.SplitFile}
		if c.Phase == "" {
			c.Phase = spec.PhaseMap
		}
		if err := c.Validate(); !errors.Is(err, spec.ErrBadConfig) {
			t.Errorf("%s: Validate = %v, want ErrBadConfig", name, err)
		}
	}
}

// A sample task over a large split of lines reads only pieces of it, spread
// through all of it: an input sorted already is sampled from end to end,
// staged or read in place alike.
func TestSampleReadsSpreadPieces(t *testing.T) {
	const lines = 200000
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "%08d %s\n", i, strings.Repeat("x", 50))
	}
	data := b.String()
	lineKey := task.App{Map: func(_ *task.Context, _, line string, emit task.Emit) error {
		emit(line[:8], "")
		return nil
	}}
	for _, inPlace := range []bool{false, true} {
		dir := sampleTask(t, data)
		if inPlace {
			dir = inPlaceSampleTask(t, data)
		}
		res, err := task.Run(lineKey, dir)
		if err != nil {
			t.Fatal(err)
		}
		read := res.Counters[spec.CounterInputRecords]
		if read <= 0 || read > lines/2 {
			t.Errorf("in place %v: read %d of %d records, want a few pieces' worth", inPlace, read, lines)
		}
		regions := map[int]bool{}
		for _, k := range res.Sample {
			n, err := strconv.Atoi(k)
			if err != nil {
				t.Fatalf("sampled key %q", k)
			}
			regions[n*32/lines] = true
		}
		if len(regions) != 32 || !slices.Contains(res.Sample, "00000000") {
			t.Errorf("in place %v: %d keys from %d of the split's 32 thirty-seconds, want all (and its first line)",
				inPlace, len(res.Sample), len(regions))
		}
	}
}

// inPlaceSampleTask writes a sample task directory whose split is data,
// read in place after a line before it in the same file.
func inPlaceSampleTask(tb testing.TB, data string) string {
	tb.Helper()
	const before = "before\n"
	path := filepath.Join(tb.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(before+data+"after\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd())) // the task closes the descriptor it is given
	if err != nil {
		tb.Fatal(err)
	}
	cfg := spec.Config{Job: "job", Task: spec.TaskID(spec.PhaseSample, 0), Phase: spec.PhaseSample, Reduces: 3,
		Order: &spec.Order{}, Split: spec.Split{FD: fd, Name: "input.txt", Offset: int64(len(before)), Length: int64(len(data))}}
	return tasktest.TaskDir(tb, tb.TempDir(), cfg, nil)
}
