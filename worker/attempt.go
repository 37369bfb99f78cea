package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task"
)

// attemptKey names one attempt of one task of one job.
type attemptKey struct {
	job, task string
	attempt   int
}

func (k attemptKey) String() string { return fmt.Sprintf("task %s attempt %d", k.task, k.attempt) }

// dirName is the attempt's directory under its job: "<task>-<attempt>".
func (k attemptKey) dirName() string { return fmt.Sprintf("%s-%d", k.task, k.attempt) }

func (w *Worker) attemptDir(k attemptKey) string {
	return filepath.Join(w.jobDir(k.job), k.dirName())
}

// attempt is one launched task attempt, from staging until its job ends.
type attempt struct {
	key attemptKey
	dir string
	log *slog.Logger
	// ctx ends when the attempt must be killed; its cause says why. This
	// is a separate signal from the worker's shutdown.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// done is closed once the process (if it started) has been waited for
	// and the outcome recorded; reported once the final event was sent
	// (or could not be).
	done     chan struct{}
	reported chan struct{}
	// app names a binary app in messages ("app wordcount"); it is empty
	// for plugins and exec jobs, whose task host calls task.Main itself.
	app string

	// Guarded by Worker.mu.
	finished bool
	ok       bool // exited 0 with a result saying ok
	result   *task.Result
}

// kill asks the attempt to stop: its process group gets SIGTERM, then
// SIGKILL after KillGrace. Killing a finished attempt does nothing.
func (a *attempt) kill(cause error) { a.cancel(cause) }

// admit reserves a slot for the attempt and makes s an owner of its job.
func (w *Worker) admit(s *session, key attemptKey) (*attempt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stoppingLocked() {
		return nil, shuttingDown(w.id)
	}
	if _, dup := w.attempts[key]; dup {
		return nil, proto.Errorf(proto.CodeBadRequest,
			"%s of job %s was already launched on worker %s: launch a new attempt number", key, key.job, w.id)
	}
	if err := w.takeSlotLocked(key.job); err != nil { // slots.go
		return nil, err
	}
	w.running++
	ctx, cancel := context.WithCancelCause(context.Background())
	a := &attempt{
		key:      key,
		dir:      w.attemptDir(key),
		log:      w.log.With("job", key.job, "task", key.task, "attempt", key.attempt),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		reported: make(chan struct{}),
	}
	w.attempts[key] = a
	w.ownLocked(s, key.job)
	return a, nil
}

// finish records the outcome and frees the attempt's slot.
func (w *Worker) finish(a *attempt, res *task.Result, ok bool) {
	w.mu.Lock()
	w.running--
	a.finished, a.ok, a.result = true, ok, res
	w.grantLocked() // the slot goes to the job waiting longest
	w.changedLocked()
	w.mu.Unlock()
	a.cancel(nil) // release the context; the process is gone
	close(a.done)
}

// finishedOK returns the attempt if it ended successfully on this worker.
func (w *Worker) finishedOK(key attemptKey) (*attempt, *task.Result, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.attempts[key]
	if a == nil || !a.finished || !a.ok {
		return nil, nil, false
	}
	return a, a.result, true
}

// prepareAttemptDir creates the attempt's directory with in/, out/, tmp/.
func prepareAttemptDir(dir string) error {
	for _, d := range []string{task.InDir, task.OutDir, "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// handlePutInput stages a map attempt's input split as in/split.
func (w *Worker) handlePutInput(s *session, st *yamux.Stream, h proto.Header) (bodyUnread bool, err error) {
	var req proto.PutInputRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return true, err
	}
	if err := checkRef(h, req.AttemptRef); err != nil {
		return true, err
	}
	key := attemptKey{req.Job, req.Task, req.Attempt}
	switch {
	case req.Size < 0:
		return true, proto.Errorf(proto.CodeBadRequest, "input split size %d is negative", req.Size)
	case req.Size > w.cfg.MaxInput:
		return true, proto.Errorf(proto.CodeTooLarge,
			"input split of %s is %d bytes, this worker accepts at most %d: use smaller splits or raise the worker's --max-input",
			key, req.Size, w.cfg.MaxInput)
	}
	w.mu.Lock()
	switch _, launched := w.attempts[key]; {
	case w.stoppingLocked():
		w.mu.Unlock()
		return true, shuttingDown(w.id)
	case launched:
		w.mu.Unlock()
		return true, proto.Errorf(proto.CodeBadRequest, "%s of job %s is already launched: stage its input before Launch", key, key.job)
	}
	w.ownLocked(s, key.job)
	w.renewLocked(key.job) // a slot held for the job waits for its upload
	w.mu.Unlock()

	in := filepath.Join(w.attemptDir(key), task.InDir)
	if err := os.MkdirAll(in, 0o755); err != nil {
		return true, internalError("stage input: %v", err)
	}
	// The upload goes to the job directory, which no task ever owns: a
	// Launch may start the attempt meanwhile and hand its directory to
	// the task (see taskfs.go).
	f, err := os.CreateTemp(w.jobDir(key.job), ".split-"+key.dirName()+"-*")
	if err != nil {
		return true, internalError("stage input: %v", err)
	}
	err = proto.ReadBody(f, w.idle(st), req.Size, w.cfg.MaxInput)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.placeSplit(key, f.Name())
	}
	if err != nil {
		os.Remove(f.Name())
		return false, proto.Errorf(proto.CodeBadRequest, "input upload for %s broke off: %v", key, err)
	}
	w.mu.Lock()
	w.renewLocked(key.job)
	w.mu.Unlock()
	return false, proto.WriteFrame(st, &proto.Reply{})
}

// placeSplit renames an uploaded split into the attempt's in/, unless the
// attempt was launched meanwhile: its directory is then the task's, and a
// rename into it could land wherever the task's symlinks point.
func (w *Worker) placeSplit(key attemptKey, tmp string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, launched := w.attempts[key]; launched {
		return fmt.Errorf("%s was launched while its input was uploading: stage its input before Launch", key)
	}
	return os.Rename(tmp, filepath.Join(w.attemptDir(key), task.SplitFile))
}

// program returns what runs for a launch. Binaries run as they are;
// plugins and the commands of exec jobs run under the task host (see
// host.go), which checks them first.
func (w *Worker) program(req *proto.LaunchRequest) (path string, args []string, err error) {
	ref := req.Artifact
	switch ref.Kind {
	case proto.KindBinary:
		return w.cache.path(ref.SHA256), nil, nil
	case proto.KindPlugin:
		return w.pluginProgram(ref)
	case proto.KindExec:
		return w.execProgram(req)
	}
	return "", nil, proto.Errorf(proto.CodeBadRequest, "unknown artifact kind %q: use binary, plugin or exec", ref.Kind)
}

// taskEnv is the whole environment of a task process: nothing of the
// worker's own (in particular never the secret) but PATH.
func taskEnv(dir string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return []string{
		"PATH=" + path,
		"HOME=" + dir,
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"LANG=C.UTF-8",
		task.EnvTaskDir + "=" + dir,
	}
}

// startRetries bounds retries of a start that failed with ETXTBSY.
const startRetries = 8

// runProcess runs the program in the attempt directory in its own process
// group and waits for it. started is called once it runs. The attempt's
// ctx kills the group: SIGTERM, then SIGKILL after KillGrace. Whatever the
// program left behind in its group is SIGKILLed when it exits. The group
// is recorded under <Dir>/run while it runs, for a worker that restarts
// after this one died (workdir.go).
func (w *Worker) runProcess(a *attempt, path string, args []string, started func()) (*os.ProcessState, error) {
	stdout, err := createLog(filepath.Join(a.dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := createLog(filepath.Join(a.dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	if err := w.sandbox.prepare(a.dir); err != nil {
		return nil, err
	}

	var cmd *exec.Cmd
	for try := 0; ; try++ {
		cmd = w.command(a, path, args, stdout, stderr)
		err = cmd.Start()
		if err == nil {
			break
		}
		// A just-written executable can be briefly "busy" while another
		// goroutine's fork still holds its write descriptor
		// (golang/go#22315): wait and try again.
		if !errors.Is(err, syscall.ETXTBSY) || try == startRetries {
			return nil, err
		}
		t := time.NewTimer(time.Duration(10<<try) * time.Millisecond)
		select {
		case <-t.C:
		case <-a.ctx.Done():
			t.Stop()
			return nil, context.Cause(a.ctx)
		}
	}
	forget := w.recordGroup(a, cmd.Process.Pid)
	defer forget() // after the group is killed below
	if err := w.sandbox.start(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, err
	}
	a.log.Debug("task started", "pid", cmd.Process.Pid)
	started()
	err = cmd.Wait()
	if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr == nil {
		a.log.Debug("killed leftover processes of the task's group")
	}
	return cmd.ProcessState, err
}

// createLog creates a fresh log file for the task, never through a
// symlink (see taskfs.go).
func createLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
}

func (w *Worker) command(a *attempt, path string, args []string, stdout, stderr *os.File) *exec.Cmd {
	cmd := exec.CommandContext(a.ctx, path, args...)
	cmd.Dir = a.dir
	cmd.Env = taskEnv(a.dir)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = taskProcAttr()
	w.sandbox.apply(cmd)
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	// After the grace os/exec SIGKILLs the leader; runProcess then
	// SIGKILLs the rest of the group.
	cmd.WaitDelay = w.cfg.KillGrace
	return cmd
}

// outcome turns how the process ended into the final event.
func (w *Worker) outcome(a *attempt, state *os.ProcessState, runErr error) (ev proto.Event, res *task.Result, ok bool) {
	ev = proto.Event{Kind: proto.EventDone, Final: true, ExitCode: -1}
	tf := w.taskFiles(a)
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
			runErr = errors.Join(runErr, fmt.Errorf("unreadable %s: %v", task.ResultFile, err))
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
		msg = fmt.Sprintf("%s exited with status 0 but wrote no %s: does the app exit (os.Exit) before task.Main returns?", a.key, task.ResultFile)
	case res.Status != task.StatusOK:
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

// callTaskMain says how to fix a program that does not call task.Main.
const callTaskMain = `build it from a main package that calls task.Main(task.App{...}) (see README "Writing an app")`

// started reports whether the program in dir called task.Main, which
// creates task.StartedFile first. Lstat: the file is the task's, so it is
// only looked at, never followed or read.
func started(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, task.StartedFile))
	return err == nil
}

// readResult reads a task's result.msgpack. The task program is not
// trusted with the worker's memory: the file is size-limited and checked
// by proto.Unmarshal before it is decoded.
func readResult(tf taskFiles) (*task.Result, error) {
	f, err := tf.open(task.ResultFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, task.MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > task.MaxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", task.MaxConfigSize)
	}
	var r task.Result
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

func badOutput(res *task.Result) string {
	for _, o := range res.Outputs {
		if !task.ValidName(o.Name) {
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
