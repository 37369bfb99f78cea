package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// How an attempt ended, decided here, from what its process left: the exit
// status, the result file (read without trusting the task, taskfs.go),
// the started mark and the stderr tail. The final event carries the
// verdict: ok, or an error code that says whether another attempt may
// help, and for a reduce that found a map output damaged, which map.

// outcome turns how the process ended into the final event.
func (a *attempt) outcome(state *os.ProcessState, runErr error) (ev proto.Event, res *spec.Result, ok bool) {
	ev = proto.Event{Kind: proto.EventDone, Final: true, ExitCode: -1}
	tf := a.files()
	var tailErr error
	if state != nil {
		ev.ExitCode = state.ExitCode()
		ev.StderrTail, tailErr = stderrTail(tf)
		r, err := readResult(tf)
		switch {
		case err == nil:
			res = r
			ev.Result = r
		case errors.Is(err, errUnsafeTaskFile):
			runErr = errors.Join(runErr, err)
		case !errors.Is(err, os.ErrNotExist):
			runErr = errors.Join(runErr, fmt.Errorf("unreadable %s: %v", spec.ResultFile, err))
		}
	}
	if a.ctx.Err() != nil {
		cause := context.Cause(a.ctx)
		ev.Error = proto.Retryablef(proto.CodeTaskFailed, "%s was killed: %v", a.key, cause)
		if errors.Is(cause, errShuttingDown) {
			ev.Error.Code = proto.CodeShuttingDown
		}
		return ev, res, false
	}
	if state == nil {
		ev.Error = startError(a.key, runErr)
		return ev, nil, false
	}
	last := lastLine(ev.StderrTail)
	var unsafe *taskFileError
	switch {
	case errors.As(tailErr, &unsafe):
		last = " and " + unsafe.left()
	case last != "":
		last = ": " + last
	}
	var msg string
	switch {
	case !state.Exited():
		msg = fmt.Sprintf("%s was killed by signal %v%s", a.key, state.Sys().(syscall.WaitStatus).Signal(), last)
	case a.app != "" && res == nil && !started(a.dir):
		// No retry makes a program call task.Main: fail the job now.
		stderr := ""
		if last != "" {
			stderr = " (stderr" + last + ")"
		}
		ev.Error = proto.Errorf(proto.CodeUnsupported, "%s: %s exited with status %d without calling task.Main%s: %s",
			a.key, a.app, state.ExitCode(), stderr, callTaskMain)
		return ev, nil, false
	case state.ExitCode() != 0:
		msg = fmt.Sprintf("%s exited with status %d%s", a.key, state.ExitCode(), last)
	case res == nil && runErr != nil:
		msg = fmt.Sprintf("%s exited with status 0 but left no usable result: %v", a.key, runErr)
	case res == nil:
		msg = fmt.Sprintf("%s exited with status 0 but wrote no %s: does the app exit (os.Exit) before task.Main returns?", a.key, spec.ResultFile)
	case res.Status != spec.StatusOK:
		msg = fmt.Sprintf("%s failed: %s", a.key, oneLine(res.Error))
	default:
		if bad := badOutput(res); bad != "" {
			msg = fmt.Sprintf("%s reported output %q, which is not a safe file name", a.key, bad)
			break
		}
		if err := tf.outputsSafe(); err != nil {
			msg = fmt.Sprintf("%s reported success but its output is unusable: %v", a.key, err)
			if errors.As(err, &unsafe) {
				msg = fmt.Sprintf("%s reported success but %s", a.key, unsafe.left())
			}
			break
		}
		return ev, res, true
	}
	// A failure the program marks fatal (bad config, unknown format) fails
	// the same way anywhere: not worth another attempt.
	ev.Error = &proto.Error{Code: proto.CodeTaskFailed, Message: msg, Retryable: res == nil || !res.Fatal}
	return ev, res, false
}

// blameMap makes a reduce that found one of its inputs damaged (see
// spec.BadInput) report that map's output as unusable, like a failed
// fetch: the map runs again and the reduce is not charged. The program is
// not trusted to name any map: only one of the outputs staged for it.
func blameMap(ev *proto.Event, res *spec.Result, inputs []spec.Input) {
	if ev.Error == nil || res == nil || res.BadInput == nil {
		return
	}
	for _, in := range inputs {
		if in.Map == res.BadInput.Map && in.Attempt == res.BadInput.Attempt {
			ev.MissingMap, ev.MissingAttempt = in.Map, in.Attempt
			ev.Error.Code, ev.Error.Retryable = proto.CodeChecksum, true
			return
		}
	}
}

// callTaskMain says how to fix a program that does not call task.Main.
const callTaskMain = `build it from a main package that calls task.Main(task.App{...}) (see README "Writing an app")`

// started reports whether the program in dir called task.Main, which
// creates spec.StartedFile first. Lstat: the file is the task's, so it is
// only looked at, never followed or read.
func started(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, spec.StartedFile))
	return err == nil
}

// readResult reads a task's result.msgpack. The task program is not
// trusted with the worker's memory: the file is size-limited and checked
// by proto.Unmarshal before it is decoded.
func readResult(tf taskFiles) (*spec.Result, error) {
	f, err := tf.open(spec.ResultFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, spec.MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > spec.MaxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", spec.MaxConfigSize)
	}
	var r spec.Result
	if err := proto.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// startError explains a program that could not be started.
func startError(key attemptKey, err error) *proto.Error {
	if errors.Is(err, syscall.ENOEXEC) {
		return proto.Errorf(proto.CodeTaskFailed,
			"%s could not start: the artifact is not a program for this worker's OS and architecture: rebuild it for the worker (see dist workers)", key)
	}
	return proto.Retryablef(proto.CodeTaskFailed, "%s could not start: %v", key, err)
}

func badOutput(res *spec.Result) string {
	for _, o := range res.Outputs {
		if !spec.ValidName(o.Name) {
			return o.Name
		}
	}
	return ""
}

// Bounds of the stderr tail sent with a final event.
const (
	tailBytes = 4 << 10
	tailLines = 20
)

// stderrTail returns the last lines of a task's stderr.log; the error
// says why there are none (the task may have replaced the file).
func stderrTail(tf taskFiles) (string, error) {
	f, err := tf.open("stderr.log")
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	off := max(fi.Size()-tailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, tailBytes))
	if err != nil {
		return "", err
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.ToValidUTF8(strings.Join(lines, "\n"), "\uFFFD"), nil
}

// lastLine returns the last non-blank line of s, shortened.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return oneLine(l)
		}
	}
	return ""
}

// oneLine keeps the first line of s, at most 300 bytes of it.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}
