package client

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// Config describes one job run. Zero values are documented per field.
type Config struct {
	// App is the path of the program to ship: a binary, or a Go plugin
	// with Kind proto.KindPlugin. Required unless Kind is proto.KindExec.
	App string
	// Kind is proto.KindBinary, KindPlugin or KindExec; "" means binary.
	Kind string
	// Mapper, Reducer and Combiner are the commands of an exec job (Kind
	// proto.KindExec): executables or #! scripts, see package
	// internal/streaming. Mapper is required; Reducer too unless Reduces
	// is 0; Combiner is optional.
	Mapper, Reducer, Combiner string
	// Inputs are paths, directories or glob patterns on this machine,
	// s3://BUCKET/KEY (a glob over the last element, or a prefix ending in
	// "/"), or worker:PATH (files under each worker's --data-dir); at
	// least one file must match. Either Inputs or Tasks is required.
	Inputs []string
	// Tasks, when not 0, runs that many map tasks with no input instead
	// of reading Inputs (dist run --tasks N): map i calls Map once with
	// key "i" and an empty value. Nothing is listed or sent.
	Tasks int
	// Output is the job output: a directory on this machine or
	// s3://BUCKET/PREFIX. Required.
	Output string
	// Overwrite allows replacing a finished job's output.
	Overwrite bool
	// Reduces is the number of reduce tasks; 0 makes a map-only job.
	Reduces int
	// TotalOrder sorts the output across parts (dist run --total-order):
	// sample tasks run Map over records of a few evenly spread splits
	// before the maps start, and the maps partition by cut points picked
	// from the keys they emitted (order.go). Needs Reduces of 1 or more.
	TotalOrder bool
	// Files are side files to ship with the program (a stop-word list, a
	// lookup table); a task opens each by base name (Context.File). Base
	// names must differ and be safe names ([A-Za-z0-9._-]). None by
	// default.
	Files []string
	// Params are passed to the app (Context.Param).
	Params map[string]string
	// InputFormat names the input format; "" means "text".
	InputFormat string
	// MaxAttempts per task; 0 means tracker.DefaultMaxAttempts.
	MaxAttempts int
	// TaskTimeout per attempt; 0 means tracker.DefaultTaskTimeout.
	TaskTimeout time.Duration
	// NoSpeculation turns off backup attempts for stragglers.
	NoSpeculation bool
	// NoEarlyReduces keeps reduces from starting before the last map is
	// done. By default a reduce takes a slot as soon as no map waits for
	// one and fetches each map output as soon as it exists.
	NoEarlyReduces bool
	// SlowAfter is the least run time that can make a task a straggler;
	// 0 means tracker.DefaultSlowAfter.
	SlowAfter time.Duration
	// SplitSize is the largest map split; 0 means DefaultSplitSize. Bigger
	// files are split at line boundaries (never for the wholefile format).
	SplitSize int64
	// SortBuffer is the map-side sort buffer per task; 0 means
	// spec.DefaultSortBuffer.
	SortBuffer int64
	// WorkerWait is how long to wait for the first worker; 0 means
	// tracker.DefaultWorkerWait.
	WorkerWait time.Duration
	// Secret, TLS and KeepAlive configure connections to workers; a zero
	// KeepAlive means proto.DefaultKeepAlive.
	Secret    []byte
	TLS       *tls.Config
	KeepAlive time.Duration
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// OnEvent, when set, sees every tracker event (must not block).
	OnEvent func(tracker.Event)
	// OnMaps, when set, hears the number of map tasks again when Run
	// changes it: worker: inputs are listed on the workers when the job
	// starts, after Prepare.
	OnMaps func(maps int)
	// JobID, when set, is the job's id (a job master runs the job a
	// client submitted under the id it was given); "" makes a new one.
	JobID string
	// Journal, when set, keeps what must outlive this process (journal.go):
	// a job master writes the job's plan and each committed task there,
	// and one taking the job over runs on from them. Nil for a job the
	// client runs itself.
	Journal Journal
	// FirstAttempt numbers every task's first attempt (tracker.Config):
	// a job master carrying a job on starts above the numbers the earlier
	// masters used. 0 for a new job.
	FirstAttempt int
	// OnRecovered, when set, hears the tasks the journal says an earlier
	// master committed, before the job goes on.
	OnRecovered func(done []tracker.Committed)
}

// DefaultSplitSize is the largest map split when Config.SplitSize is 0.
const DefaultSplitSize = 64 << 20

// DefaultConfig returns a Config with every default filled in. The
// scheduling defaults are the tracker's own (tracker.Default*), which the
// job then hands it explicitly.
func DefaultConfig() Config {
	return Config{
		Kind:        proto.KindBinary,
		InputFormat: "text",
		Reduces:     1,
		MaxAttempts: tracker.DefaultMaxAttempts,
		TaskTimeout: tracker.DefaultTaskTimeout,
		SplitSize:   DefaultSplitSize,
		WorkerWait:  tracker.DefaultWorkerWait,
		KeepAlive:   proto.DefaultKeepAlive,
	}
}

// withDefaults returns c with every zero field that has a default set
// from DefaultConfig. Reduces is left alone: 0 is a map-only job.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Kind == "" {
		c.Kind = d.Kind
	}
	if c.InputFormat == "" {
		c.InputFormat = d.InputFormat
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.TaskTimeout <= 0 {
		c.TaskTimeout = d.TaskTimeout
	}
	if c.SplitSize <= 0 {
		c.SplitSize = d.SplitSize
	}
	if c.WorkerWait <= 0 {
		c.WorkerWait = d.WorkerWait
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = d.KeepAlive
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the fields that need no I/O. It changes nothing: a zero
// field that has a default is valid.
func (c Config) Validate() error {
	switch {
	case c.Kind == proto.KindExec:
		if err := c.validateExec(); err != nil {
			return err
		}
	case c.App == "":
		return fmt.Errorf("%w: --app is required: the program to run (build one with `dist build ./userapp/wordcount -o wordcount`)", ErrNoApp)
	case c.Mapper != "" || c.Reducer != "" || c.Combiner != "":
		return fmt.Errorf("--mapper, --reducer and --combiner need --exec")
	}
	if c.JobID != "" && !jobIDRegexp().MatchString(c.JobID) {
		return fmt.Errorf("job id %q is not one dist made (like j20260101-120000-0123abcd)", c.JobID)
	}
	if err := checkFileNames(c.Files); err != nil {
		return err
	}
	switch {
	case len(c.Inputs) == 0 && c.Tasks == 0:
		return fmt.Errorf("%w: --input is required: files or quoted globs to read (or --tasks N for N maps with no input)", ErrNoInput)
	case len(c.Inputs) > 0 && c.Tasks != 0:
		return fmt.Errorf("--input and --tasks exclude each other: a job reads its input, or runs --tasks N maps with none")
	case c.Tasks < 0:
		return fmt.Errorf("--tasks must be 1 or more, not %d", c.Tasks)
	case c.Output == "":
		return fmt.Errorf("--output is required: the directory that receives part-NNNNN files")
	case c.Reduces < 0:
		return fmt.Errorf("--reduces must be 0 or more, not %d", c.Reduces)
	case c.TotalOrder && c.Reduces == 0:
		return fmt.Errorf("--total-order sorts the reduce output, and --reduces 0 has none: use --reduces 1 or more")
	case c.TotalOrder && c.Tasks != 0:
		return fmt.Errorf("--total-order samples the input to cut the key range, and --tasks maps have none: drop one of them")
	}
	// Formats are resolved by the task program, which may add its own; an
	// unknown name fails the first attempt as fatal, so the job ends at once.
	if c.InputFormat != "" && !spec.ValidName(c.InputFormat) {
		return fmt.Errorf("%w %q: known formats are kv, text, wholefile", ErrBadFormat, c.InputFormat)
	}
	return nil
}

// jobIDRegexp matches a whole job id dist made.
var jobIDRegexp = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^` + jobIDPattern + `$`) })
