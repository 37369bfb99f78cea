// Command crashy is a word count that misbehaves on purpose, for testing
// how dist survives failing tasks. Each attempt (map or reduce) draws from
// a deterministic random source seeded by the job id, task id, attempt
// number and the seed parameter, so a test run is reproducible:
//
//	exit=P        with probability P the attempt writes
//	              "crashy: injected crash (task T attempt A)" to stderr and
//	              exits at once with status 3 (exit=1 always fails)
//	stall=P       with probability P the attempt sleeps before starting,
//	              between half and all of stall_secs
//	stall_secs=S  the longest stall in seconds (default 10)
//	seed=S        any string; changes every draw
//	hold=PATH     the attempt waits until the file PATH exists before
//	              starting, so that a test can act while it is held
//	only=REGEXP   misbehave only in attempts whose "<task>/<attempt>"
//	              matches, e.g. only=^m-0000[0-2]/0$ (default: all)
//
// A bad parameter ends the job at once (task.Fatal): every attempt would
// fail alike. Otherwise it behaves exactly like wordcount. It exits the
// process, so run it as a binary, not as a plugin.
package main

import (
	"fmt"
	"hash/fnv"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/distmr/dist/task"
)

// App is the crashing word count.
var App = task.App{
	Setup:   misbehave,
	Map:     countWords,
	Combine: sumCounts,
	Reduce:  sumCounts,
}

func main() { task.Main(App) }

// plan is what the parameters ask of one attempt.
type plan struct {
	crash bool
	stall time.Duration
	hold  string // a file to wait for
}

func misbehave(ctx *task.Context) error {
	p, err := planFor(ctx)
	if err != nil {
		return err
	}
	if p.crash {
		fmt.Fprintf(os.Stderr, "crashy: injected crash (task %s attempt %d)\n", ctx.TaskID(), ctx.Attempt())
		os.Exit(3)
	}
	if p.stall > 0 {
		fmt.Fprintf(os.Stderr, "crashy: injected stall of %v (task %s attempt %d)\n", p.stall, ctx.TaskID(), ctx.Attempt())
		time.Sleep(p.stall)
	}
	if p.hold != "" {
		fmt.Fprintf(os.Stderr, "crashy: held until %s exists (task %s attempt %d)\n", p.hold, ctx.TaskID(), ctx.Attempt())
		waitFile(p.hold)
	}
	return nil
}

// waitFile returns once path exists. The task's own timeout ends a wait
// that never does.
func waitFile(path string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		<-tick.C
	}
}

// planFor reads the parameters and makes this attempt's draws. A bad
// parameter fails every attempt alike, so it is checked in every attempt,
// also those that only= spares.
func planFor(ctx *task.Context) (plan, error) {
	var only *regexp.Regexp
	if s := ctx.Param("only"); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			return plan{}, task.Fatal(fmt.Errorf("param only=%q: %v", s, err))
		}
		only = re
	}
	exitP, err := probability(ctx, "exit")
	if err != nil {
		return plan{}, err
	}
	stallP, err := probability(ctx, "stall")
	if err != nil {
		return plan{}, err
	}
	maxStall, err := ctx.FloatParam("stall_secs", 10)
	if err != nil {
		return plan{}, err
	}
	if maxStall < 0 {
		return plan{}, task.Fatal(fmt.Errorf("param stall_secs=%v: want a number of seconds, 0 or more", maxStall))
	}
	var p plan
	if only != nil && !only.MatchString(fmt.Sprintf("%s/%d", ctx.TaskID(), ctx.Attempt())) {
		return p, nil
	}
	p.hold = ctx.Param("hold")
	p.crash = draw(ctx, "exit") < exitP
	if draw(ctx, "stall") < stallP {
		secs := maxStall * (0.5 + 0.5*draw(ctx, "stall_secs"))
		p.stall = time.Duration(secs * float64(time.Second))
	}
	return p, nil
}

// probability reads a parameter that must be a probability. A bad one
// ends the job at once (task.Fatal): every attempt would fail alike.
func probability(ctx *task.Context, name string) (float64, error) {
	p, err := ctx.FloatParam(name, 0)
	if err != nil {
		return 0, err
	}
	if p < 0 || p > 1 {
		return 0, task.Fatal(fmt.Errorf("param %s=%v: want a probability from 0 to 1", name, p))
	}
	return p, nil
}

// draw returns a number in [0, 1) fixed by the job, task, attempt, seed
// parameter and what the draw is for.
func draw(ctx *task.Context, what string) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s\x00%s", ctx.JobID(), ctx.TaskID(), ctx.Attempt(), ctx.Param("seed"), what)
	return float64(h.Sum64()>>11) / (1 << 53)
}

// words splits a line into lower-cased runs of letters and digits.
func words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

func countWords(_ *task.Context, _, line string, emit task.Emit) error {
	for _, w := range words(line) {
		emit(w, "1")
	}
	return nil
}

// sumCounts adds up a word's counts; it is both Combine and Reduce.
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
