// Command grep prints the input lines that match a regular expression, as
// <file>:<byte offset><TAB><line>. It is a map-only job:
//
//	dist run --app grep --param pattern='(?i)whale' --reduces 0 \
//	    --input 'books/*.txt' --output matches --local 2
//
// The pattern is Go regexp syntax (https://pkg.go.dev/regexp/syntax).
package main

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/distmr/dist/task"
)

// App is the grep; a plugin host looks it up by this name.
var App = task.App{
	Setup: compile,
	Map:   match,
}

func main() { task.Main(App) }

// compile turns the pattern parameter into the task's regexp.
func compile(ctx *task.Context) error {
	pattern := ctx.Param("pattern")
	if pattern == "" {
		return task.Fatal(errors.New("no pattern: run with --param pattern=REGEXP"))
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return task.Fatal(fmt.Errorf("bad pattern %q: %w", pattern, err))
	}
	ctx.SetState(re)
	return nil
}

// match emits a line that matches; with text input the key is the line's
// byte offset in its file.
func match(ctx *task.Context, offset, line string, emit task.Emit) error {
	if ctx.State().(*regexp.Regexp).MatchString(line) {
		emit(ctx.InputFile()+":"+offset, line)
	}
	return nil
}
