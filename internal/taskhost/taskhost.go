package taskhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"plugin"
	"strings"

	"github.com/distmr/dist/internal/streaming"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// Symbol is the name a plugin exports its App under.
const Symbol = "App"

// ErrBadPlugin marks a plugin that cannot be loaded or exports no usable
// App.
var ErrBadPlugin = errors.New("bad plugin")

// LoadPlugin opens the Go plugin at path and returns the App it exports
// as `var App = task.App{...}`. name names the plugin in errors; ""
// means the base name of path.
func LoadPlugin(path, name string) (task.App, error) {
	if name == "" {
		name = filepath.Base(path)
	}
	p, err := plugin.Open(path)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("plugin.Open(%q): ", strings.TrimSuffix(path, ".so")))
		fix := "rebuild it with dist build --plugin against this worker's dist, or ship a binary"
		if strings.Contains(msg, "not implemented") {
			fix = "this dist was built without cgo and cannot load plugins: ship a binary"
		}
		return task.App{}, fmt.Errorf("%w: load %s: %s: %s", ErrBadPlugin, name, msg, fix)
	}
	sym, err := p.Lookup(Symbol)
	if err != nil {
		return task.App{}, fmt.Errorf("%w: %s exports no %s: declare `var App = task.App{...}` in its main package", ErrBadPlugin, name, Symbol)
	}
	app, ok := sym.(*task.App)
	if !ok {
		return task.App{}, fmt.Errorf("%w: %s exports %s of type %T, want a variable of type task.App: declare `var App = task.App{...}`",
			ErrBadPlugin, name, Symbol, sym)
	}
	return *app, nil
}

// Plugin runs the task in $DIST_TASK_DIR with the App of the plugin at
// path (called name in messages), as task.Main would. It exits the
// process unless the task succeeded.
func Plugin(path, name string) {
	app, err := LoadPlugin(path, name)
	if err != nil {
		os.Exit(Fail(err))
	}
	task.Main(app)
}

// Exec runs the task in $DIST_TASK_DIR through the streaming commands, as
// task.Main would. It exits the process unless the task succeeded.
func Exec(c streaming.Commands) {
	// The config says which input format feeds the mapper and what the
	// job's parameters are; task.Main reads it again, and reports it if it
	// is unusable.
	if dir := os.Getenv(spec.EnvTaskDir); dir != "" {
		if cfg, err := spec.ReadConfig(filepath.Join(dir, spec.ConfigFile)); err == nil {
			c.KeyValueInput = cfg.InputFormat == "kv"
			c.Params = cfg.Params
		}
	}
	task.Main(streaming.App(c))
}

// Fail records that the task could not start, for good: it writes a
// failed, fatal result.msgpack into $DIST_TASK_DIR (when set), prints err
// on stderr, and returns the exit status to use (1).
func Fail(err error) int {
	fmt.Fprintln(os.Stderr, "dist task-host:", err)
	dir := os.Getenv(spec.EnvTaskDir)
	if dir == "" {
		return 1
	}
	res := &spec.Result{Status: spec.StatusFailed, Error: err.Error(), Fatal: true, Counters: map[string]int64{}}
	if werr := spec.WriteFile(filepath.Join(dir, spec.ResultFile), res); werr != nil {
		fmt.Fprintln(os.Stderr, "dist task-host: write result:", werr)
	}
	return 1
}
