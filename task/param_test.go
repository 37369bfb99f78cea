package task_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// TestNumericParams reads int and float parameters: a missing one is the
// default, a malformed one a fatal error naming it and the fix.
func TestNumericParams(t *testing.T) {
	params := map[string]string{"n": "42", "p": "0.25", "bad": "abc", "empty": ""}
	var ctx *task.Context
	app := task.App{Setup: func(c *task.Context) error { ctx = c; return nil }}
	dir := mapTask(t, spec.Config{Reduces: 1, Params: params}, "a line\n")
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	if n, err := ctx.IntParam("n", 7); n != 42 || err != nil {
		t.Errorf("IntParam(n) = %d, %v", n, err)
	}
	if n, err := ctx.IntParam("missing", 7); n != 7 || err != nil {
		t.Errorf("IntParam(missing) = %d, %v", n, err)
	}
	if f, err := ctx.FloatParam("p", 1); f != 0.25 || err != nil {
		t.Errorf("FloatParam(p) = %v, %v", f, err)
	}
	if f, err := ctx.FloatParam("missing", 1.5); f != 1.5 || err != nil {
		t.Errorf("FloatParam(missing) = %v, %v", f, err)
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"int abc", second(ctx.IntParam("bad", 0)), `param bad="abc" is not an integer: run with --param bad=N`},
		{"int 0.25", second(ctx.IntParam("p", 0)), `param p="0.25" is not an integer: run with --param p=N`},
		{"int empty", second(ctx.IntParam("empty", 0)), `param empty="" is not an integer`},
		{"float abc", second(ctx.FloatParam("bad", 0)), `param bad="abc" is not a number: run with --param bad=NUMBER`},
	} {
		if c.err == nil || !errors.Is(c.err, task.ErrFatal) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want a fatal error saying %q", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
