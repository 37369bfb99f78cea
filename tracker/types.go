package tracker

import (
	"log/slog"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Config describes one job to the tracker.
type Config struct {
	// Maps is the number of map tasks (one per input split); at least 1.
	Maps int
	// Reduces is the number of reduce tasks; 0 makes a map-only job.
	Reduces int
	// MaxAttempts bounds the attempts that may fail per task; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// TaskTimeout bounds one attempt; 0 means DefaultTaskTimeout.
	TaskTimeout time.Duration
	// MaxOutputLosses bounds how often one map's committed output may be
	// reported missing or damaged by reduces (each time the map runs
	// again) before the job fails; 0 means DefaultMaxOutputLosses.
	MaxOutputLosses int
	// MaxWorkerFailures is how many failed attempts of this job make a
	// worker unusable for it; 0 means DefaultMaxWorkerFailures.
	MaxWorkerFailures int
	// Speculative turns on backup attempts for stragglers: when no task is
	// waiting and a slot is idle, a task running longer than SlowFactor
	// times the median of its finished peers, and longer than SlowAfter,
	// gets a second attempt on another worker; the first to finish wins.
	Speculative bool
	// SlowFactor is the straggler threshold relative to the median; 0
	// means DefaultSlowFactor.
	SlowFactor float64
	// SlowAfter is the least run time that can make a straggler; 0 means
	// DefaultSlowAfter.
	SlowAfter time.Duration
	// WorkerWait is how long a job whose tasks wait for a slot waits for a
	// worker to join when every worker it has drains; 0 means
	// DefaultWorkerWait. Past it the job fails with ErrDraining.
	WorkerWait time.Duration
	// EarlyReduces lets reduces take idle slots once no map is waiting
	// for one, before every map is done, and fetch map outputs as they
	// appear (see early.go). False places reduces only after the last map.
	EarlyReduces bool
	// Pins, when set, has one entry per map: a map whose Pin names a
	// worker runs there and nowhere else (its input is that worker's own
	// file, worker:PATH). If that worker is lost while the map still has
	// to run, or while reduces still need its output, the job fails:
	// there is no other copy of the input.
	Pins []Pin
	// Recovered lists tasks an earlier run of the job committed (a job
	// master taking over from one that died, from its journal): they are
	// done from the start. A recovered map's output is used where it was
	// committed; if its worker is not among the first workers the tracker
	// is given, or is lost later while reduces need it, the map runs again
	// as any lost output does. Entries out of range are an error of New's
	// caller; a task listed twice keeps the first.
	Recovered []Committed
	// FirstAttempt numbers the first attempt of every task (and a
	// recovered task's next attempt at least): a job master taking a job
	// over starts above the numbers its predecessor used, which workers
	// may still hold (a commit its journal missed). 0 for a new job.
	FirstAttempt int
	// OnCommit, when set, is called from the tracker goroutine each time a
	// task's attempt is committed (the one whose output counts), before
	// anything depends on it but after Run may have scheduled more work. It
	// must not block for long: a job master journals here.
	OnCommit func(Committed)
	// Logger receives state changes; nil discards them.
	Logger *slog.Logger
	// OnEvent, when set, is called from the tracker goroutine for every
	// attempt that starts or ends. It must not block.
	OnEvent func(Event)
	// Clock gives the tracker the time and its timers; nil means the
	// system clock. Tests pass one they step by hand.
	Clock Clock
}

func (c *Config) defaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.TaskTimeout <= 0 {
		c.TaskTimeout = DefaultTaskTimeout
	}
	if c.MaxOutputLosses <= 0 {
		c.MaxOutputLosses = DefaultMaxOutputLosses
	}
	if c.MaxWorkerFailures <= 0 {
		c.MaxWorkerFailures = DefaultMaxWorkerFailures
	}
	if c.SlowFactor <= 0 {
		c.SlowFactor = DefaultSlowFactor
	}
	if c.SlowAfter <= 0 {
		c.SlowAfter = DefaultSlowAfter
	}
	if c.WorkerWait <= 0 {
		c.WorkerWait = DefaultWorkerWait
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Pin ties a map to the worker that holds its input.
type Pin struct {
	Worker string // the worker's id; "" means any worker
	Input  string // the input, for the message when the worker is lost
}

// TaskRef names a task.
type TaskRef struct {
	Phase spec.Phase
	Index int
}

// ID is the task id used on the wire: "m-00003", "r-00000".
func (t TaskRef) ID() string { return spec.TaskID(t.Phase, t.Index) }

// MapLoc says where a committed map attempt's output lives.
type MapLoc struct {
	Map     int
	Attempt int
	Worker  registry.WorkerInfo
	Result  *spec.Result
}

// Attempt is one run of a task on one worker, as handed to the Runner.
type Attempt struct {
	Task   TaskRef
	N      int // attempt number, from 0
	Worker registry.WorkerInfo
	// Backup marks a speculative attempt started beside a straggler.
	Backup bool
	// Inputs lists, for a reduce attempt, the committed output of every
	// map that was done at launch: of every map unless Feed is set.
	Inputs []MapLoc
	// Feed, for a reduce launched before every map was done, delivers the
	// outputs of the others as they are committed (and says when one is
	// lost). Nil when Inputs is complete.
	Feed *Feed
}

// EventKind says what happened to an attempt.
type EventKind string

const (
	AttemptStarted   EventKind = "started"
	AttemptSucceeded EventKind = "succeeded"
	AttemptFailed    EventKind = "failed"
	AttemptKilled    EventKind = "killed"
	// AttemptRefused ends an attempt the worker did not run (its Outcome's
	// Kind is Busy or Draining): it is not counted, and the task waits for
	// another slot under the same attempt number.
	AttemptRefused EventKind = "refused"
)

// Event reports an attempt's progress to OnEvent.
type Event struct {
	Kind    EventKind
	Attempt Attempt
	Outcome Outcome // set when the attempt ended
	Time    time.Time
}

// Stats counts what the tracker did.
type Stats struct {
	Attempts       int // attempts started
	Failed         int // attempts that failed (crash, timeout, lost worker)
	Killed         int // attempts the tracker stopped (lost race, job end)
	Backups        int // speculative attempts started for stragglers
	MapReruns      int // finished maps run again because their output was lost
	Recovered      int // tasks taken as done from Config.Recovered
	WorkersLost    int
	WorkersUsed    int
	MapsDone       int
	ReducesDone    int
	ShuffledBytes  int64
	ElapsedMaps    time.Duration
	ElapsedReduces time.Duration
}

// Committed is the one attempt per task whose output counts.
type Committed struct {
	Task    TaskRef
	Attempt int
	Worker  registry.WorkerInfo
	Result  *spec.Result
}

// Report is what a finished job hands back.
type Report struct {
	Maps     []Committed // indexed by map
	Reduces  []Committed // indexed by partition
	Counters map[string]int64
	Stats    Stats
}
