package worker

import (
	"errors"
	"fmt"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Sentinel errors returned by the Worker API.
var (
	ErrConfig  = errors.New("bad worker config")
	ErrStarted = errors.New("worker already started")
	ErrClosed  = errors.New("worker is shut down")
)

// Why an attempt was killed; the cause picks the final event's error code.
var (
	errShuttingDown = errors.New("the worker is shutting down")
	errStreamClosed = errors.New("the client closed the launch stream")
	errKillCall     = errors.New("a Kill call named it")
	errJobEnded     = errors.New("its job ended")
)

// errDamaged marks a map output whose bytes are not what its map
// reported; the reduce's final event then says checksum, not fetch_failed.
var errDamaged = errors.New("map output damaged")

// badName is the reply to a name from the wire that is not spec.ValidName.
func badName(what, name string) *proto.Error {
	return proto.Errorf(proto.CodeBadRequest,
		"%s %q is not a safe name: use 1-128 characters of [A-Za-z0-9._-], not \".\" or \"..\"", what, name)
}

// checkName returns badName unless name is safe.
func checkName(what, name string) error {
	if !spec.ValidName(name) {
		return badName(what, name)
	}
	return nil
}

// checkRef checks an attempt reference from the wire and that it agrees
// with the call header's job.
func checkRef(h proto.Header, r proto.AttemptRef) error {
	if err := checkName("job id", r.Job); err != nil {
		return err
	}
	if err := checkName("task id", r.Task); err != nil {
		return err
	}
	if r.Attempt < 0 {
		return proto.Errorf(proto.CodeBadRequest, "attempt number %d of task %s is negative", r.Attempt, r.Task)
	}
	return checkHeaderJob(h, r.Job)
}

// checkHeaderJob refuses a call whose header names another job than its
// request; an empty header job is accepted.
func checkHeaderJob(h proto.Header, job string) error {
	if h.Job != "" && h.Job != job {
		return proto.Errorf(proto.CodeBadRequest, "%s call header names job %q but its request names job %q", h.Op, h.Job, job)
	}
	return nil
}

// shuttingDown is the reply to calls that arrive during Shutdown.
func shuttingDown(id string) *proto.Error {
	return proto.Retryablef(proto.CodeShuttingDown, "worker %s is shutting down: use another worker", id)
}

// notFound is the reply to a call naming something this worker does not
// hold.
func notFound(format string, args ...any) *proto.Error {
	return proto.Errorf(proto.CodeNotFound, format, args...)
}

// internalError is the reply when the worker itself failed (its disk,
// its task host): retryable, since another worker may well succeed.
func internalError(format string, args ...any) *proto.Error {
	return proto.Retryablef(proto.CodeInternal, format, args...)
}

// ErrDirInUse is returned by Start when another worker holds --dir.
var ErrDirInUse = errors.New("work directory in use")

// dirInUseError names the worker that holds a work directory.
type dirInUseError struct {
	dir string
	pid string // "" when the holder has not written it yet
}

func (e *dirInUseError) Error() string {
	holder := "another dist worker"
	if e.pid != "" {
		holder = "dist worker pid " + e.pid
	}
	return fmt.Sprintf("--dir %s is in use by %s: stop it or choose another --dir", e.dir, holder)
}

func (e *dirInUseError) Is(target error) bool { return target == ErrDirInUse }

// errUnsafeTaskFile marks a file a task left that the worker refuses to
// read: a symlink on its path, not a regular file, or not the task's own.
var errUnsafeTaskFile = errors.New("unsafe task file")

// taskFileError says which file of which attempt was refused and why.
type taskFileError struct {
	who  string // "task m-00001 attempt 0"
	name string // relative to the attempt directory
	deed string // "as a symlink: refusing to follow it"
}

func (e *taskFileError) Error() string { return fmt.Sprintf("%s left %s %s", e.who, e.name, e.deed) }

// left is the message without who: "left NAME ...".
func (e *taskFileError) left() string { return fmt.Sprintf("left %s %s", e.name, e.deed) }

func (e *taskFileError) Is(target error) bool { return target == errUnsafeTaskFile }
