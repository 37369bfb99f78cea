// Command gate is a word count whose attempts a test can hold, for tests
// that need a task to be running until the test says so (never a sleep):
//
//	gate=REGEXP   attempts whose "<task>/<attempt>" matches stop in Setup:
//	gate_dir=DIR  each creates DIR/<task>-<attempt>.running, then waits
//	              until DIR/<task>.open or DIR/open exists
//	work=DURATION every attempt spends this long in Setup (a task that
//	              takes time, e.g. 1s)
//
// Otherwise it counts words exactly like userapp/wordcount.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/distmr/dist/task"
)

func main() {
	task.Main(task.App{Setup: setup, Map: countWords, Combine: sumCounts, Reduce: sumCounts})
}

func setup(ctx *task.Context) error {
	if s := ctx.Param("work"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return task.Fatal(fmt.Errorf("param work=%q: %v", s, err))
		}
		time.Sleep(d)
	}
	gate, dir := ctx.Param("gate"), ctx.Param("gate_dir")
	if gate == "" || dir == "" {
		return nil
	}
	re, err := regexp.Compile(gate)
	if err != nil {
		return task.Fatal(fmt.Errorf("param gate=%q: %v", gate, err))
	}
	if !re.MatchString(fmt.Sprintf("%s/%d", ctx.TaskID(), ctx.Attempt())) {
		return nil
	}
	running := filepath.Join(dir, fmt.Sprintf("%s-%d.running", ctx.TaskID(), ctx.Attempt()))
	if err := os.WriteFile(running, nil, 0o644); err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, open := range []string{ctx.TaskID() + ".open", "open"} {
			if _, err := os.Stat(filepath.Join(dir, open)); err == nil {
				return nil
			}
		}
		<-tick.C
	}
}

func countWords(_ *task.Context, _, line string, emit task.Emit) error {
	for _, w := range strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		emit(w, "1")
	}
	return nil
}

func sumCounts(_ *task.Context, word string, counts task.Values, emit task.Emit) error {
	var total int64
	for c := range counts {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return fmt.Errorf("count %q of word %q is not a number", c, word)
		}
		total += n
	}
	emit(word, strconv.FormatInt(total, 10))
	return nil
}
