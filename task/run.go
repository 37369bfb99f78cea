package task

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/output"
	"github.com/distmr/dist/task/spec"
)

// spillDir holds a map task's sorted runs (and a reduce task's
// intermediate merges) while it runs; it is removed when the task ends.
const spillDir = "spill"

// Run runs the task whose config is taskDir/task.msgpack with app and
// writes taskDir/result.msgpack. It returns the spec.Result it wrote; when
// the task fails, the Result says so and the error is a *TaskError (with a
// *PanicError inside if the app panicked). Run neither exits nor touches
// process state, so a plugin host may call it for many tasks.
func Run(app App, taskDir string) (*spec.Result, error) {
	res := &spec.Result{Counters: map[string]int64{}}
	cfg, err := spec.ReadConfig(filepath.Join(taskDir, spec.ConfigFile))
	if err != nil {
		return finish(taskDir, "", res, fmt.Errorf("read config: %w", err))
	}
	r := newRunner(app, cfg, taskDir)
	res.Outputs, err = r.run()
	res.Sample = r.sample
	if err != nil {
		err = blameInputs(r.inputs, err)
	}
	res.Counters = r.ctx.snapshot()
	return finish(taskDir, cfg.Task, res, err)
}

// finish records the outcome in res and writes it to result.msgpack;
// failing to write it fails the task.
func finish(dir, taskID string, res *spec.Result, err error) (*spec.Result, error) {
	record := func() {
		if err == nil {
			res.Status = spec.StatusOK
		} else {
			res.Status, res.Error, res.Outputs = spec.StatusFailed, err.Error(), nil
			res.Fatal = isFatal(err)
			var bad *BadInputError
			if errors.As(err, &bad) {
				res.BadInput = &spec.BadInput{Map: bad.Map, Attempt: bad.Attempt, Why: bad.Err.Error()}
			}
		}
	}
	record()
	if werr := spec.WriteFile(filepath.Join(dir, spec.ResultFile), res); werr != nil {
		if err == nil {
			err = fmt.Errorf("write result: %w", werr)
		} else {
			err = fmt.Errorf("%w (and writing the result failed: %v)", err, werr)
		}
		record()
	}
	if err != nil {
		return res, &TaskError{Task: taskID, Err: err}
	}
	return res, nil
}

// runner drives one task attempt.
type runner struct {
	app    App
	cfg    *spec.Config
	dir    string
	ctx    *Context
	inFmt  input.Format
	outFmt output.Format
	nspill int         // spill files made so far
	sample []string    // a sample task's keys
	inputs []*mapInput // a reduce task's inputs

	inRecords, inBytes, outRecords, outBytes, groups *Counter
}

func newRunner(app App, cfg *spec.Config, dir string) *runner {
	r := &runner{app: app, cfg: cfg, dir: dir, ctx: newContext(cfg, dir)}
	r.inputs = r.reduceInputs()
	r.inRecords = r.ctx.Counter(spec.CounterInputRecords)
	r.inBytes = r.ctx.Counter(spec.CounterInputBytes)
	r.outRecords = r.ctx.Counter(spec.CounterOutputRecords)
	r.outBytes = r.ctx.Counter(spec.CounterOutputBytes)
	r.groups = r.ctx.Counter(spec.CounterReduceGroups)
	return r
}

// run runs the task's phase between Setup and Cleanup. A panic anywhere
// below it becomes a *PanicError.
func (r *runner) run() (outputs []spec.OutputFile, err error) {
	defer func() {
		if v := recover(); v != nil {
			outputs, err = nil, &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	// Spill files are scratch: a leftover costs disk until the worker
	// removes the task directory, never output, so a failed removal is
	// not a task failure.
	defer os.RemoveAll(filepath.Join(r.dir, spillDir))

	phase := string(r.cfg.Phase)
	if err := r.resolveFormats(); err != nil {
		return nil, fmt.Errorf("%s: %w", phase, err)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, spec.OutDir), 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", phase, err)
	}
	if r.cfg.Order != nil && r.app.Partition != nil {
		return nil, Fatal(fmt.Errorf("%s: %w: run without --total-order, or drop Partition from the app", phase, ErrOwnPartition))
	}
	if r.app.Setup != nil {
		if err := r.app.Setup(r.ctx); err != nil {
			return nil, fmt.Errorf("%s: setup: %w", phase, err)
		}
	}
	switch r.cfg.Phase {
	case PhaseMap:
		outputs, err = r.runMap()
	case spec.PhaseSample:
		r.sample, err = r.runSample()
	default:
		outputs, err = r.runReduce()
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", phase, err)
	}
	if r.app.Cleanup != nil {
		switch cerr := r.app.Cleanup(r.ctx); {
		case cerr == nil:
		case err == nil:
			err = fmt.Errorf("%s: cleanup: %w", phase, cerr)
		default:
			err = fmt.Errorf("%w; cleanup: %v", err, cerr)
		}
	}
	if err != nil {
		return nil, err
	}
	return outputs, nil
}

func (r *runner) resolveFormats() error {
	var err error
	if r.inFmt, err = r.app.inputFormats().Lookup(r.cfg.InputFormat); err != nil {
		return err
	}
	r.outFmt, err = r.app.outputFormats().Lookup(r.cfg.OutputFormat)
	return err
}

// path resolves a path from the config against the task directory.
func (r *runner) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.dir, p)
}

// outPath is where output file name goes.
func (r *runner) outPath(name string) string {
	return filepath.Join(r.dir, spec.OutDir, name)
}

// newSpillPath names a fresh file in the spill directory.
func (r *runner) newSpillPath() (string, error) {
	dir := filepath.Join(r.dir, spillDir)
	if r.nspill == 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
	}
	r.nspill++
	return filepath.Join(dir, fmt.Sprintf("run-%05d", r.nspill)), nil
}

// clip shortens a key for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
