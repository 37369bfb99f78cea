package main

import (
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// line is one record as the doc comment draws it.
var line = regexp.MustCompile("^[!-~]{10}\t[0-9A-F]{32}  [0-9A-F]{54}\n$")

func TestTeragen(t *testing.T) {
	const rows = 1000
	one := strings.Join(tasktest.Run(t, App, tasktest.Job{Tasks: 1, Params: map[string]string{"rows": "1000"}}).Parts, "")
	out := tasktest.Run(t, App, tasktest.Job{Tasks: 3, Params: map[string]string{"rows": "1000"}})
	three := strings.Join(out.Parts, "")
	if one != three {
		t.Fatal("3 tasks wrote other bytes than 1 task")
	}
	if len(three) != rows*RecordSize {
		t.Fatalf("%d bytes, want %d rows of %d", len(three), rows, RecordSize)
	}
	var sum uint64
	keys := map[string]bool{}
	for i := range rows {
		rec := three[i*RecordSize : (i+1)*RecordSize]
		if !line.MatchString(rec) {
			t.Fatalf("row %d is not a record: %q", i, rec)
		}
		if id, err := strconv.ParseUint(rec[11:43], 16, 64); err != nil || id != uint64(i) {
			t.Fatalf("row %d has row id %s", i, rec[11:43])
		}
		keys[rec[:KeySize]] = true
		sum += uint64(crc32.ChecksumIEEE([]byte(rec)))
	}
	if len(keys) != rows {
		t.Errorf("%d distinct keys in %d rows", len(keys), rows)
	}
	if n := out.Counter(CounterRows); n != rows {
		t.Errorf("counter %s = %d, want %d", CounterRows, n, rows)
	}
	if c := uint64(out.Counter(CounterChecksum)); c != sum {
		t.Errorf("counter %s = %d, want the sum of the lines' CRC-32s, %d", CounterChecksum, c, sum)
	}
	// Map i of 3 makes rows [i*1000/3, (i+1)*1000/3).
	for i, want := range []int{333, 333, 334} {
		if got := len(out.Parts[i]) / RecordSize; got != want {
			t.Errorf("part %d holds %d rows, want %d", i, got, want)
		}
	}
}

func TestTeragenErrors(t *testing.T) {
	for _, c := range []struct {
		split  spec.Split
		params map[string]string
		want   string
	}{
		{spec.Split{Tasks: 2}, nil, "no row count: run with --param rows=N"},
		{spec.Split{Tasks: 2}, map[string]string{"rows": "many"}, `param rows="many" is not an integer`},
		{spec.Split{File: spec.SplitFile, Name: "in.txt"}, map[string]string{"rows": "10"}, "run it with --tasks N instead of --input"},
	} {
		cfg := spec.Config{Job: "j", Task: "m-00000", Phase: task.PhaseMap, Params: c.params, Split: c.split}
		dir := tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte("x\n")})
		res, err := task.Run(App, dir)
		if err == nil || !res.Fatal || !strings.Contains(res.Error, c.want) {
			t.Errorf("%+v: result %+v, want a fatal error saying %q", c, res, c.want)
		}
	}
}
