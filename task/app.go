package task

import (
	"iter"
	"maps"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/output"
)

// Emit hands one output record to the runtime. It does not fail: an error
// on the way (a full disk, a bad partition) fails the task once the
// calling Map, Reduce or Combine returns, and later emits are dropped.
type Emit func(key, value string)

// Values streams the values of one reduce key, in the order the shuffle
// merged them (map by map). Values are read from disk as the range asks
// for them, so memory does not grow with their number; each is handed out
// once, and a second range continues where the first stopped. Values
// that Reduce leaves unread are skipped. It is valid only during the call
// it was passed to: ranging over it later yields nothing.
type Values = iter.Seq[string]

// App is a dist program: what runs inside each map and reduce task. Every
// field may be nil; the zero App copies input to output.
type App struct {
	// Map is called once per input record. In a job with no input (dist
	// run --tasks N) it is called once per map task, with the task's index
	// as key ("0", "1", ...) and an empty value. Nil means identity: the
	// record is emitted unchanged.
	Map func(ctx *Context, key, value string, emit Emit) error

	// Reduce is called once per distinct key, in sorted byte order, with
	// the key's values. Nil means identity: every value is emitted with
	// its key.
	Reduce func(ctx *Context, key string, values Values, emit Emit) error

	// Combine, if set, pre-reduces map output on the map side: as records
	// are buffered (once 64 runs of equal values of a key have gathered),
	// at every spill and at every merge. So it may see a key's values in several batches and must emit
	// only that key (its output is fed to Combine again or to Reduce).
	// Nil means no combining.
	Combine func(ctx *Context, key string, values Values, emit Emit) error

	// Partition picks the reduce partition, in [0, n), of a map output
	// key. It must be deterministic across processes and machines. Nil
	// means HashPartition.
	Partition func(key string, n int) int

	// Flush, if set, runs once after the last Map or Reduce call of a task
	// that succeeded so far, and may emit more records before the output
	// is written: the end of an in-mapper combine, or what a long-lived
	// helper process still holds (dist run --exec). Nil means nothing to
	// flush.
	Flush func(ctx *Context, emit Emit) error

	// Setup runs before the first record. If it succeeds, Cleanup runs
	// after the last, even when Map or Reduce failed (not after a panic).
	// Nil means nothing to do. Either returning an error fails the task.
	Setup   func(ctx *Context) error
	Cleanup func(ctx *Context) error

	// InputFormats and OutputFormats add formats by name; they are merged
	// over input.Defaults() and output.Defaults(), so an entry may replace
	// a standard format. Nil adds nothing.
	InputFormats  input.Formats
	OutputFormats output.Formats
}

// inputFormats returns the standard input formats with the app's merged in.
func (a *App) inputFormats() input.Formats {
	fs := input.Defaults()
	maps.Copy(fs, a.InputFormats)
	return fs
}

// outputFormats returns the standard output formats with the app's merged in.
func (a *App) outputFormats() output.Formats {
	fs := output.Defaults()
	maps.Copy(fs, a.OutputFormats)
	return fs
}

func identityMap(_ *Context, key, value string, emit Emit) error {
	emit(key, value)
	return nil
}

func identityReduce(_ *Context, key string, values Values, emit Emit) error {
	for v := range values {
		emit(key, v)
	}
	return nil
}
