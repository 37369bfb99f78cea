package streaming

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// Command is one external program of a streaming job.
type Command struct {
	// Path is the file to run.
	Path string
	// Name names it in messages and in the task directory (bin/<Name>);
	// "" means the base name of Path.
	Name string
}

// Commands configures a streaming App. Zero values are documented per
// field.
type Commands struct {
	// Mapper runs in map tasks; a zero Mapper fails them.
	Mapper Command
	// Reducer runs in reduce tasks; a zero Reducer fails them.
	Reducer Command
	// Combiner, if set, runs over sorted batches of map output.
	Combiner Command
	// KeyValueInput makes the mapper read "key<TAB>value" lines rather
	// than values alone (for the kv input format).
	KeyValueInput bool
	// Params are the job parameters, passed as DIST_PARAM_<name>.
	Params map[string]string
	// CombineBatch bounds the bytes of map output one combiner process
	// sees; 0 means 16 MiB.
	CombineBatch int
	// Stderr receives the commands' stderr; nil means os.Stderr (the
	// task's stderr.log).
	Stderr io.Writer
}

// DefaultCombineBatch is the combiner batch size when CombineBatch is 0.
const DefaultCombineBatch = 16 << 20

// App returns the task.App that runs the commands.
func App(c Commands) task.App {
	return task.App{
		Setup:   c.setup,
		Map:     mapRecord,
		Reduce:  reduceKey,
		Flush:   flush,
		Cleanup: cleanup,
	}
}

// state is one task's running command, kept in the task Context.
type state struct {
	proc    *proc
	keyed   bool      // write key<TAB>value to the mapper
	combine *combiner // nil without a combiner or in a reduce
	line    []byte    // scratch for one input line
}

func (c Commands) setup(ctx *task.Context) error {
	role, cmd := "mapper", c.Mapper
	if ctx.Phase() == task.PhaseReduce {
		role, cmd = "reducer", c.Reducer
	}
	if cmd.Path == "" {
		return fmt.Errorf("no %s command for %s", role, ctx.TaskID())
	}
	env := append(os.Environ(), c.env(ctx)...)
	stderr := c.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	st := &state{keyed: c.KeyValueInput}
	if ctx.Phase() == task.PhaseMap && c.Combiner.Path != "" && ctx.Reduces() > 0 {
		comb := c.Combiner
		comb.Path = link(comb)
		batch := c.CombineBatch
		if batch <= 0 {
			batch = DefaultCombineBatch
		}
		st.combine = &combiner{cmd: comb, env: env, stderr: stderr, limit: batch}
	}
	cmd.Path = link(cmd)
	p, err := start(role, cmd, env, stderr)
	if err != nil {
		return err
	}
	st.proc = p
	ctx.SetState(st)
	return nil
}

var paramName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// env is what a command learns of its task from the environment.
func (c Commands) env(ctx *task.Context) []string {
	env := []string{
		"DIST_TASK_ID=" + ctx.TaskID(),
		"DIST_ATTEMPT=" + strconv.Itoa(ctx.Attempt()),
		"DIST_REDUCES=" + strconv.Itoa(ctx.Reduces()),
	}
	if f := ctx.InputFile(); f != "" {
		env = append(env, "DIST_INPUT_FILE="+f)
	}
	names := make([]string, 0, len(c.Params))
	for k := range c.Params {
		if paramName.MatchString(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		env = append(env, "DIST_PARAM_"+k+"="+c.Params[k])
	}
	return env
}

// link makes bin/<name> in the task directory point at the command, so
// that the command's own messages ($0) carry the name the user gave it.
// It returns the path to run: the link, or the original path when no
// link could be made.
func link(c Command) string {
	name := c.Name
	if name == "" {
		name = filepath.Base(c.Path)
	}
	dir := os.Getenv(spec.EnvTaskDir)
	if dir == "" || !spec.ValidName(name) {
		return c.Path
	}
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return c.Path
	}
	bin := filepath.Join(dir, "bin")
	l := filepath.Join(bin, name)
	if os.MkdirAll(bin, 0o755) != nil {
		return c.Path
	}
	if os.Symlink(abs, l) != nil {
		if t, err := os.Readlink(l); err != nil || t != abs {
			return c.Path
		}
	}
	return l
}

func stateOf(ctx *task.Context) *state { return ctx.State().(*state) }

// output returns what receives the command's lines: the combiner, or
// emit itself.
func (st *state) output(emit task.Emit) func(key, value string) error {
	if st.combine != nil {
		return func(k, v string) error { return st.combine.add(k, v, emit) }
	}
	return func(k, v string) error { emit(k, v); return nil }
}

func mapRecord(ctx *task.Context, key, value string, emit task.Emit) error {
	st := stateOf(ctx)
	st.line = st.line[:0]
	if st.keyed {
		st.line = append(append(st.line, key...), '\t')
	}
	st.line = append(append(st.line, value...), '\n')
	return st.proc.write(st.line, st.output(emit))
}

func reduceKey(ctx *task.Context, key string, values task.Values, emit task.Emit) error {
	st := stateOf(ctx)
	out := st.output(emit)
	for v := range values {
		st.line = append(append(append(append(st.line[:0], key...), '\t'), v...), '\n')
		if err := st.proc.write(st.line, out); err != nil {
			return err
		}
	}
	return nil
}

func flush(ctx *task.Context, emit task.Emit) error {
	st := stateOf(ctx)
	if err := st.proc.finish(st.output(emit)); err != nil {
		return err
	}
	if st.combine != nil {
		return st.combine.flush(emit)
	}
	return nil
}

// cleanup stops a command the task left running because it failed.
func cleanup(ctx *task.Context) error {
	st, ok := ctx.State().(*state)
	if !ok {
		return nil
	}
	st.proc.kill()
	if st.combine != nil && st.combine.proc != nil {
		st.combine.proc.kill()
	}
	return nil
}
