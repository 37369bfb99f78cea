package tracker

import "time"

// The defaults of Config, one place for each: Config.defaults fills a
// zero field with them, and package client and the dist run flags start
// from them, so the tracker is handed values rather than guessing the
// same ones again.
const (
	// DefaultMaxAttempts is Hadoop's: a task fails the job after its
	// fourth failed attempt.
	DefaultMaxAttempts = 4
	// DefaultTaskTimeout bounds one attempt.
	DefaultTaskTimeout = 10 * time.Minute
	// DefaultMaxOutputLosses bounds how often one map's output may be
	// lost before the job fails.
	DefaultMaxOutputLosses = 4
	// DefaultMaxWorkerFailures is how many failed attempts of a job make
	// a worker unusable for it.
	DefaultMaxWorkerFailures = 3
	// DefaultSlowFactor is the straggler threshold relative to the median
	// run time of a task's finished peers.
	DefaultSlowFactor = 2
	// DefaultSlowAfter is the least run time that can make a straggler.
	DefaultSlowAfter = 3 * time.Second
	// DefaultWorkerWait is how long a job waits for a worker to join
	// when it has none that takes work.
	DefaultWorkerWait = 10 * time.Second
)
