package task

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distmr/dist/task/spec"
)

// Main is the main function of a dist program: it runs the task in
// $DIST_TASK_DIR with app and exits with status 0 if the task succeeded,
// 1 if it failed (after one line on stderr naming the task and cause), or
// 2 if the app panicked (after the panic and its stack) or the program was
// started by hand rather than by a dist worker. It first creates
// spec.StartedFile in the task directory: a program that exits without it
// never called Main, and the worker fails its job at once. Unless GOGC or
// GOMEMLIMIT is set, Main lets the garbage collector keep up to 16 MB of
// garbage while the live heap is small (see tuneGC).
func Main(app App) {
	if code := mainStatus(app, os.Getenv, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

func mainStatus(app App, getenv func(string) string, stderr io.Writer) int {
	dir := getenv(spec.EnvTaskDir)
	if dir == "" {
		prog := filepath.Base(os.Args[0])
		fmt.Fprintf(stderr, "%s is a dist task and must be run with `dist run --app PATH ...` (%s is not set)\n", prog, spec.EnvTaskDir)
		return 2
	}
	if err := os.WriteFile(filepath.Join(dir, spec.StartedFile), nil, 0o644); err != nil {
		fmt.Fprintf(stderr, "dist task: mark the task started: %v\n", err)
		return 1
	}
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		tuneGC()
	}
	_, err := Run(app, dir)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, err)
	var p *PanicError
	if errors.As(err, &p) {
		fmt.Fprintf(stderr, "\n%s", p.Stack)
		return 2
	}
	return 1
}
