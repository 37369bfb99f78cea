package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

func TestPi(t *testing.T) {
	out := tasktest.Run(t, App, tasktest.Job{Tasks: 4, Reduces: 2, Params: map[string]string{"samples": "50000"}})
	if out.Parts[1] != "" {
		t.Fatalf("part-00001 holds %q: every key goes to partition 0", out.Parts[1])
	}
	lines := out.Lines()
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "inside\t") || lines[1] != "total\t200000" || !strings.HasPrefix(lines[2], "pi\t") {
		t.Fatalf("output %q, want inside, total 200000 and pi", lines)
	}
	inside, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "inside\t"))
	pi, err := strconv.ParseFloat(strings.TrimPrefix(lines[2], "pi\t"), 64)
	if err != nil || math.Abs(pi-4*float64(inside)/200000) > 1e-9 || math.Abs(pi-math.Pi) > 0.02 {
		t.Fatalf("pi %s (inside %d of 200000), want 4·inside/total, near π", lines[2], inside)
	}
	// The same job gives the same answer.
	again := tasktest.Run(t, App, tasktest.Job{Tasks: 4, Reduces: 1, Params: map[string]string{"samples": "50000"}})
	if !slices.Equal(again.Lines(), lines) {
		t.Fatalf("second run %q, first %q", again.Lines(), lines)
	}
}

func TestPiErrors(t *testing.T) {
	for _, c := range []struct {
		split  spec.Split
		params map[string]string
		want   string
	}{
		{spec.Split{Tasks: 2}, nil, "no sample count: run with --param samples=N"},
		{spec.Split{Tasks: 2}, map[string]string{"samples": "0"}, "no sample count"},
		{spec.Split{File: spec.SplitFile, Name: "in.txt"}, map[string]string{"samples": "10"}, "run it with --tasks N instead of --input"},
	} {
		cfg := spec.Config{Job: "j", Task: "m-00000", Phase: task.PhaseMap, Reduces: 1, Params: c.params, Split: c.split}
		dir := tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte("x\n")})
		res, err := task.Run(App, dir)
		if err == nil || !res.Fatal || !strings.Contains(res.Error, c.want) {
			t.Errorf("%+v: result %+v, want a fatal error saying %q", c, res, c.want)
		}
	}
}
