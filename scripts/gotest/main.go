// Command gotest runs `go test -json` with the given arguments and prints
// what plain `go test` prints, but as it happens: a package's "ok" or
// "FAIL" line (and a failing package's test output) as soon as that
// package is done, rather than in package order, where one slow package
// holds back every line after it. While nothing finishes it says every
// so often which tests are still running. It exits with go test's status.
//
//	go run ./scripts/gotest -race -count=1 ./...
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// quiet is how long gotest stays silent before saying what still runs.
const quiet = 30 * time.Second

func main() {
	cmd := exec.Command("go", append([]string{"test", "-json"}, os.Args[1:]...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
	follow(scan(stdout), os.Stdout, time.NewTicker(quiet/6).C) // checked often, so quiet spells are not doubled
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
}

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output events
	Test       string
	Output     string
}

// pkg is what a package under test has printed so far.
type pkg struct {
	lines   []line          // in order; a passing test's lines are dropped at the end
	passed  map[string]bool // tests that passed or were skipped
	running map[string]bool // top-level tests running now
}

type line struct{ test, text string }

// scan sends the lines of r until it ends, then closes the channel.
func scan(r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// follow reads go test's output lines until the channel closes and writes
// the report to w. tick, when it fires after a quiet spell, makes it say
// what still runs.
func follow(lines <-chan string, w io.Writer, tick <-chan time.Time) {
	f := &formatter{w: w, pkgs: map[string]*pkg{}, start: time.Now(), last: time.Now()}
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				if f.failed {
					f.print("FAIL\n") // as go test ends when a package failed
				}
				return
			}
			f.line(l)
		case now := <-tick:
			if now.Sub(f.last) >= quiet {
				f.stillRunning(now)
			}
		}
	}
}

type formatter struct {
	w      io.Writer
	pkgs   map[string]*pkg // packages being tested
	failed bool            // a package failed
	start  time.Time
	last   time.Time // when something was last printed
}

func (f *formatter) print(s string) {
	fmt.Fprint(f.w, s)
	f.last = time.Now()
}

// line handles one line of go test's output: an event, or text the go
// command wrote itself, passed through.
func (f *formatter) line(l string) {
	var ev event
	if !strings.HasPrefix(l, "{") || json.Unmarshal([]byte(l), &ev) != nil {
		f.print(l + "\n")
		return
	}
	if ev.Action == "build-output" {
		f.print(ev.Output) // compiler errors, as go test prints them
		return
	}
	if ev.Package == "" {
		return
	}
	p := f.pkgs[ev.Package]
	if p == nil {
		p = &pkg{passed: map[string]bool{}, running: map[string]bool{}}
		f.pkgs[ev.Package] = p
	}
	topLevel := ev.Test != "" && !strings.Contains(ev.Test, "/")
	switch ev.Action {
	case "run":
		if topLevel {
			p.running[ev.Test] = true
		}
	case "output":
		p.lines = append(p.lines, line{ev.Test, ev.Output})
	case "pass", "skip", "fail":
		if ev.Test != "" {
			delete(p.running, ev.Test)
			if ev.Action != "fail" {
				p.passed[ev.Test] = true
			}
			return
		}
		f.failed = f.failed || ev.Action == "fail"
		f.print(p.report(ev.Action == "fail"))
		delete(f.pkgs, ev.Package)
	}
}

// report is what plain go test prints for a finished package: its
// closing lines ("ok ...", "FAIL ...", "? ... [no test files]") and, when
// it failed, the output of every test that did not pass, without -v's
// "=== RUN" lines.
func (p *pkg) report(failed bool) string {
	var b strings.Builder
	for _, l := range p.lines {
		switch {
		case l.test == "" && l.text == "PASS\n":
		case l.test == "":
			b.WriteString(l.text)
		case failed && !p.passed[l.test] && !strings.HasPrefix(l.text, "=== "):
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// stillRunning says which packages are being tested and, of each, which
// top-level tests are running.
func (f *formatter) stillRunning(now time.Time) {
	var parts []string
	for name, p := range f.pkgs {
		tests := make([]string, 0, len(p.running))
		for t := range p.running {
			tests = append(tests, t)
		}
		sort.Strings(tests)
		if len(tests) > 4 {
			tests = append(tests[:4], fmt.Sprintf("%d more", len(tests)-4))
		}
		if len(tests) > 0 {
			name += " (" + strings.Join(tests, ", ") + ")"
		}
		parts = append(parts, name)
	}
	what := "building"
	if len(parts) > 0 {
		sort.Strings(parts)
		what = "still testing " + strings.Join(parts, "; ")
	}
	f.print(fmt.Sprintf("... %ds: %s\n", int(now.Sub(f.start).Round(time.Second).Seconds()), what))
}
