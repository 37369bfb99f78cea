package task

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/distmr/dist/task/spec"
)

// Context is what a running task knows about itself. Map, Reduce,
// Combine, Setup and Cleanup receive the same Context for the whole task.
type Context struct {
	cfg *spec.Config
	dir string // the task directory

	mu       sync.Mutex
	counters map[string]*Counter
	state    any
	// input is the file the records come from: the split's Name, or in a
	// packed split the piece being read.
	input atomic.Pointer[string]
}

func newContext(cfg *spec.Config, dir string) *Context {
	c := &Context{cfg: cfg, dir: dir, counters: make(map[string]*Counter)}
	name := cfg.Split.Name
	if len(cfg.Split.Pieces) > 0 {
		name = cfg.Split.Pieces[0].Name
	}
	c.setInputFile(name)
	return c
}

func (c *Context) setInputFile(name string) { c.input.Store(&name) }

// Param returns the value of a job parameter (`dist run --param k=v`), or
// "" if the job has none by that name.
func (c *Context) Param(name string) string { return c.cfg.Params[name] }

// IntParam returns the job parameter name as an int, or def if the job
// has none by that name. A value that is not an integer is an error,
// marked Fatal, that names the parameter: returned from Setup, Map or
// Reduce it ends the job at once, since every attempt would fail alike.
func (c *Context) IntParam(name string, def int) (int, error) {
	s, ok := c.cfg.Params[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def, badParam(name, s, "an integer", "N")
	}
	return n, nil
}

// FloatParam is IntParam for a number such as 0.25 or 1e6.
func (c *Context) FloatParam(name string, def float64) (float64, error) {
	s, ok := c.cfg.Params[name]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return def, badParam(name, s, "a number", "NUMBER")
	}
	return f, nil
}

// badParam is the fatal error of a parameter that does not parse.
func badParam(name, value, want, placeholder string) error {
	return Fatal(fmt.Errorf("param %s=%q is not %s: run with --param %s=%s", name, value, want, name, placeholder))
}

// InputFile returns the input path the current map task reads, exactly as
// `dist run` named it after glob expansion; "" in a reduce task and in a
// map with no input (dist run --tasks). A map over many small files
// packed into one split reads them in turn: in Map it names the file of
// the record at hand, in Setup the first.
func (c *Context) InputFile() string { return *c.input.Load() }

// Tasks returns N in a map of a job run with `dist run --tasks N` (maps
// with no input; this is map Index of N), and 0 in a reduce and in a job
// that reads input: a generator splits its work by Index and Tasks.
func (c *Context) Tasks() int { return c.cfg.Split.Tasks }

// File opens the job's side file name (`dist run --file PATH` ships it;
// name is PATH's base name) for reading. It is the same file in every
// task of the job. A name the job did not ship is an error, marked
// Fatal, that says so.
func (c *Context) File(name string) (*os.File, error) {
	if !spec.ValidName(name) {
		return nil, Fatal(fmt.Errorf("side file %q: a side file is opened by its base name", name))
	}
	f, err := os.Open(filepath.Join(c.dir, spec.FilesDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Fatal(fmt.Errorf("no side file %s: run with --file PATH/%s", name, name))
	}
	return f, err
}

// JobID returns the job's id.
func (c *Context) JobID() string { return c.cfg.Job }

// TaskID returns the task's id, such as "m-00003" or "r-00000".
func (c *Context) TaskID() string { return c.cfg.Task }

// Attempt returns the attempt number: 0 for the first try, 1 for the
// first retry, and so on.
func (c *Context) Attempt() int { return c.cfg.Attempt }

// Phase returns PhaseMap or PhaseReduce.
func (c *Context) Phase() Phase { return c.cfg.Phase }

// Phase says which half of the job a task belongs to.
type Phase = spec.Phase

// The two phases, as Context.Phase returns them.
const (
	PhaseMap    = spec.PhaseMap
	PhaseReduce = spec.PhaseReduce
)

// Index returns the map number of a map task, or the partition number of
// a reduce task.
func (c *Context) Index() int { return c.cfg.Index }

// Reduces returns the number of reduce partitions; 0 in a map-only job.
func (c *Context) Reduces() int { return c.cfg.Reduces }

// Counter returns the counter called name, creating it at zero. Counters
// land in the task's result and are summed over the job. It is safe to
// use from several goroutines.
func (c *Context) Counter(name string) *Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctr := c.counters[name]
	if ctr == nil {
		ctr = new(Counter)
		c.counters[name] = ctr
	}
	return ctr
}

// SetState keeps a value for the rest of the task, such as a compiled
// pattern Setup prepared for Map. Use it instead of package variables: a
// plugin host runs many tasks in one process.
func (c *Context) SetState(v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = v
}

// State returns the value given to SetState, or nil.
func (c *Context) State() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// snapshot returns the current value of every counter.
func (c *Context) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counters))
	for name, ctr := range c.counters {
		out[name] = ctr.Value()
	}
	return out
}

// Counter is a named count that a task reports in its result.
type Counter struct{ n atomic.Int64 }

// Add adds n (which may be negative) to the counter.
func (c *Counter) Add(n int64) { c.n.Add(n) }

// Value returns the counter's current value.
func (c *Counter) Value() int64 { return c.n.Load() }
