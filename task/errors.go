package task

import (
	"errors"
	"fmt"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/output"
	"github.com/distmr/dist/task/spec"
)

var (
	// ErrBadPartition marks an App.Partition result outside [0, reduces).
	ErrBadPartition = errors.New("partition out of range")
	// ErrOwnPartition marks an app with its own App.Partition run with
	// --total-order, whose cut points decide the partitions; it is fatal.
	ErrOwnPartition = errors.New("the app's Partition conflicts with --total-order")
	// ErrCombineKey marks a Combine that emitted a key other than the one
	// it was given, which would break the sort order of map output.
	ErrCombineKey = errors.New("combine changed the key")
	// ErrRecordTooLarge marks an emitted key and value over the
	// intermediate record limit (recordio.DefaultMaxRecord).
	ErrRecordTooLarge = errors.New("emitted record too large")
	// ErrUnsorted marks a reduce input that is not sorted by key.
	ErrUnsorted = errors.New("map output not sorted")
	// ErrChecksum marks a reduce input whose size or CRC-32C is not what
	// its map reported.
	ErrChecksum = errors.New("map output does not match its checksum")
)

// BadInputError is why a reduce failed when one of its inputs is not what
// its map wrote: Err is ErrChecksum, ErrUnsorted or a recordio decode
// error. Run records it as spec.Result.BadInput so that the map runs
// again and the reduce is not charged for it.
type BadInputError struct {
	Map     string // the map task that wrote the input
	Attempt int    // its attempt
	Path    string // the input file
	Err     error
}

func (e *BadInputError) Error() string {
	return fmt.Sprintf("the output of map %s attempt %d (%s) is damaged: %v: that map must run again",
		e.Map, e.Attempt, e.Path, e.Err)
}

func (e *BadInputError) Unwrap() error { return e.Err }

// TaskError is the error Run returns when a task fails. Its text is the
// one line Main prints: "dist task m-00003: map: open input: ...".
type TaskError struct {
	Task string // task id; empty when the config could not be read
	Err  error  // the cause; the task's spec.Result.Error holds its text
}

func (e *TaskError) Error() string {
	if e.Task == "" {
		return "dist task: " + e.Err.Error()
	}
	return "dist task " + e.Task + ": " + e.Err.Error()
}

func (e *TaskError) Unwrap() error { return e.Err }

// PanicError is the cause of a task failure when the app (or the runtime)
// panicked; Run recovers the panic so a plugin host survives it.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// ErrFatal marks a failure that no retry can fix: a bad parameter, an
// unknown format name, a malformed config. The job fails at once instead of
// spending its attempts. Wrap an error with Fatal to mark it.
var ErrFatal = errors.New("fatal")

type fatalError struct{ err error }

func (e fatalError) Error() string   { return e.err.Error() }
func (e fatalError) Unwrap() []error { return []error{e.err, ErrFatal} }

// Fatal marks err as one no retry can fix (for example a missing
// parameter found in Setup); the job fails without further attempts.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// isFatal reports whether err is marked fatal or is a config or format
// error, which no other attempt could get past either. A corrupt .gz or
// .zst input is one: the split was staged at its announced size, so
// another attempt would decode the same bytes.
func isFatal(err error) bool {
	return errors.Is(err, ErrFatal) || errors.Is(err, spec.ErrBadConfig) || errors.Is(err, input.ErrCorrupt) ||
		errors.Is(err, input.ErrUnknownFormat) || errors.Is(err, output.ErrUnknownFormat)
}
