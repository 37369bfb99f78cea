// Package tasktest runs a task.App over local files in-process, the way
// a dist job would run it on workers: one map task per split, the
// shuffle, one reduce task per partition. App tests use it to check an
// app end to end without a cluster.
package tasktest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// Job describes a job to run.
type Job struct {
	// Inputs are the input files; each is named in its splits (and in
	// Context.InputFile) exactly as given here.
	Inputs []string
	// Tasks, when not 0, runs that many maps with no input (dist run
	// --tasks) instead of reading Inputs: map i gets one record, key "i"
	// and an empty value.
	Tasks int
	// Reduces is the number of reduce partitions; 0 makes a map-only job.
	Reduces int
	// SplitSize cuts inputs into splits of about this many bytes, at line
	// ends; 0 means one split per input file.
	SplitSize int64
	// SortBuffer is each map task's spec.Config.SortBuffer; 0 means the default.
	SortBuffer int64
	// InputFormat and OutputFormat name the formats; "" means "text".
	InputFormat  string
	OutputFormat string
	// Params are the job parameters.
	Params map[string]string
	// Files are the job's side files by base name (Context.File).
	Files map[string][]byte
}

// Output is what a job produced.
type Output struct {
	// Parts holds the contents of part-00000, part-00001, ... in order:
	// one per reduce, or one per map in a map-only job.
	Parts []string
	// Maps and Reduces are the results of the tasks, in task order.
	Maps    []*spec.Result
	Reduces []*spec.Result
	// MapDirs and ReduceDirs are the task directories, in task order.
	MapDirs    []string
	ReduceDirs []string
}

// Lines returns the lines of all parts, in part order.
func (o *Output) Lines() []string {
	var lines []string
	for _, p := range o.Parts {
		lines = append(lines, strings.Split(strings.TrimSuffix(p, "\n"), "\n")...)
		if p == "" {
			lines = lines[:len(lines)-1]
		}
	}
	return lines
}

// Counter sums a counter over every task of the job.
func (o *Output) Counter(name string) int64 {
	var n int64
	for _, r := range append(append([]*spec.Result{}, o.Maps...), o.Reduces...) {
		n += r.Counters[name]
	}
	return n
}

// Run runs job with app in task directories under tb.TempDir and fails
// the test if a task fails.
func Run(tb testing.TB, app task.App, job Job) *Output {
	tb.Helper()
	if job.Tasks > 0 && len(job.Inputs) > 0 {
		tb.Fatal("tasktest: Job.Tasks and Job.Inputs exclude each other, as dist run --tasks and --input do")
	}
	root := tb.TempDir()
	out := &Output{}
	var mapDirs []string
	for _, in := range job.Inputs {
		splits, err := cut(in, job.SplitSize)
		if err != nil {
			tb.Fatal(err)
		}
		for _, sp := range splits {
			i := len(mapDirs)
			cfg := spec.Config{
				Job: "test", Task: spec.TaskID(task.PhaseMap, i), Phase: task.PhaseMap, Index: i,
				Reduces: job.Reduces, InputFormat: job.InputFormat, OutputFormat: job.OutputFormat,
				Params: job.Params, SortBuffer: job.SortBuffer,
				Split: spec.Split{File: spec.SplitFile, Name: in, Offset: sp.offset, Length: int64(len(sp.data))},
			}
			mapDirs = append(mapDirs, TaskDir(tb, root, cfg, job.withFiles(map[string][]byte{spec.SplitFile: sp.data})))
		}
	}
	for i := range job.Tasks {
		cfg := spec.Config{
			Job: "test", Task: spec.TaskID(task.PhaseMap, i), Phase: task.PhaseMap, Index: i,
			Reduces: job.Reduces, OutputFormat: job.OutputFormat,
			Params: job.Params, SortBuffer: job.SortBuffer, Split: spec.Split{Tasks: job.Tasks},
		}
		mapDirs = append(mapDirs, TaskDir(tb, root, cfg, job.withFiles(nil)))
	}
	out.MapDirs = mapDirs
	out.Maps = runTasks(tb, app, mapDirs)
	if job.Reduces == 0 {
		for i, dir := range out.MapDirs {
			out.Parts = append(out.Parts, readFile(tb, filepath.Join(dir, spec.OutDir, spec.PartName(i))))
		}
		return out
	}
	for p := range job.Reduces {
		cfg := spec.Config{
			Job: "test", Task: spec.TaskID(task.PhaseReduce, p), Phase: task.PhaseReduce, Index: p,
			Reduces: job.Reduces, OutputFormat: job.OutputFormat, Params: job.Params,
		}
		for _, m := range out.MapDirs {
			cfg.Inputs = append(cfg.Inputs, MapInput(tb, m, p))
		}
		out.ReduceDirs = append(out.ReduceDirs, TaskDir(tb, root, cfg, job.withFiles(nil)))
	}
	out.Reduces = runTasks(tb, app, out.ReduceDirs)
	for p, dir := range out.ReduceDirs {
		out.Parts = append(out.Parts, readFile(tb, filepath.Join(dir, spec.OutDir, spec.PartName(p))))
	}
	return out
}

// MapInput describes partition p of the finished map task in dir as a
// reduce input, with the size and checksum its result reports, as a
// worker stages it.
func MapInput(tb testing.TB, dir string, p int) spec.Input {
	tb.Helper()
	cfg, err := spec.ReadConfig(filepath.Join(dir, spec.ConfigFile))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if err != nil {
		tb.Fatal(err)
	}
	name := spec.MapPartName(p)
	for _, o := range res.Outputs {
		if o.Name == name {
			return spec.Input{File: filepath.Join(dir, spec.OutDir, name), Map: cfg.Task, Attempt: cfg.Attempt,
				Size: o.Size, CRC32C: o.CRC32C}
		}
	}
	tb.Fatalf("map task in %s has no output %s", dir, name)
	return spec.Input{}
}

// TaskDir makes the task directory root/<cfg.Task> holding task.msgpack
// and files (paths relative to the task directory), as a worker would.
func TaskDir(tb testing.TB, root string, cfg spec.Config, files map[string][]byte) string {
	tb.Helper()
	dir := filepath.Join(root, cfg.Task)
	for _, d := range []string{spec.InDir, spec.FilesDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := spec.WriteFile(filepath.Join(dir, spec.ConfigFile), &cfg); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// withFiles adds the job's side files to a task directory's files.
func (j Job) withFiles(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	maps.Copy(out, files)
	for name, data := range j.Files {
		out[spec.FilesDir+"/"+name] = data
	}
	return out
}

// runTasks runs the tasks in dirs, several at a time as workers would,
// and fails the test if any fails.
func runTasks(tb testing.TB, app task.App, dirs []string) []*spec.Result {
	tb.Helper()
	results := make([]*spec.Result, len(dirs))
	errs := make([]error, len(dirs))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			results[i], errs[i] = runTask(app, dir)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return results
}

// runTask runs one task and checks that result.msgpack agrees with Run.
func runTask(app task.App, dir string) (*spec.Result, error) {
	res, err := task.Run(app, dir)
	if err != nil {
		return nil, fmt.Errorf("task in %s failed: %w", dir, err)
	}
	onDisk, err := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if err != nil {
		return nil, err
	}
	if onDisk.Status != spec.StatusOK || len(onDisk.Outputs) != len(res.Outputs) {
		return nil, fmt.Errorf("result.msgpack in %s disagrees with Run: %+v vs %+v", dir, onDisk, res)
	}
	return res, nil
}

type split struct {
	offset int64
	data   []byte
}

// cut reads a file and cuts it into splits of at least size bytes, each
// ending at a line end (or the end of the file), as a client would.
func cut(path string, size int64) ([]split, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return []split{{0, data}}, nil
	}
	var splits []split
	for off := 0; off < len(data); {
		end := len(data)
		if off+int(size) < len(data) {
			if nl := bytes.IndexByte(data[off+int(size)-1:], '\n'); nl >= 0 {
				end = off + int(size) + nl
			}
		}
		splits = append(splits, split{int64(off), data[off:end]})
		off = end
	}
	if len(splits) == 0 {
		splits = []split{{0, data}} // an empty file is one empty split
	}
	return splits, nil
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}
