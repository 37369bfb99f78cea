package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

func TestGrep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.txt")
	data := "ok start\r\nERROR disk\nok\nerror net\nERROR cpu"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tasktest.Run(t, App, tasktest.Job{
		Inputs: []string{path}, SplitSize: 12,
		Params: map[string]string{"pattern": "(?i)^error"},
	})
	want := []string{
		path + ":10\tERROR disk",
		path + ":24\terror net",
		path + ":34\tERROR cpu",
	}
	if got := out.Lines(); !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGrepPatternErrors(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{nil, "map: setup: no pattern: run with --param pattern=REGEXP"},
		{map[string]string{"pattern": "a("}, `map: setup: bad pattern "a(": error parsing regexp: missing closing ): ` + "`a(`"},
	} {
		root := t.TempDir()
		cfg := spec.Config{Job: "j", Task: "m-00000", Phase: task.PhaseMap, Params: c.params,
			Split: spec.Split{File: spec.SplitFile, Name: "in.txt"}}
		dir := tasktest.TaskDir(t, root, cfg, map[string][]byte{spec.SplitFile: []byte("x\n")})
		res, err := task.Run(App, dir)
		if err == nil || res.Error != c.want {
			t.Errorf("params %v: error %q, want %q", c.params, res.Error, c.want)
		}
	}
}
