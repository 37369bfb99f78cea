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
	// ErrPreempted: an early reduce attempt was stopped to give its slot
	// to a map (the Outcome of its AttemptKilled event).
	ErrPreempted = errors.New("stopped to free a slot for a map")
	// ErrWorkerLost: an attempt was given up because its worker is gone
	// (its registry node vanished or its session died).
	ErrWorkerLost = errors.New("worker lost")
	// ErrWorkerDraining, from SlotWaiter.WaitSlot: the worker drains and
	// takes no new attempts.
	ErrWorkerDraining = errors.New("worker is draining")
	// ErrDraining: tasks wait for a slot, every worker drains, and none
	// joined within WorkerWait.
	ErrDraining = errors.New("no worker takes new tasks")
	// ErrInputLost: the worker holding the only copy of an input
	// (Config.Pins) was lost while the input was still needed.
	ErrInputLost = errors.New("input lost with its worker")
)
