package tracker

import "errors"

// Sentinel errors a job can end with.
var (
	// ErrTaskFailed: a task used up its attempts.
	ErrTaskFailed = errors.New("task failed")
	// ErrNoWorkers: no usable worker is left to run pending tasks.
	ErrNoWorkers = errors.New("no usable workers")
	// ErrTimeout: an attempt outran the task timeout.
	ErrTimeout = errors.New("task timed out")
)
