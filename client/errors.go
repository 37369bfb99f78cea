package client

import "errors"

// Sentinel errors for bad job specifications.
var (
	ErrNoApp       = errors.New("no app")
	ErrNoInput     = errors.New("no input")
	ErrOutputTaken = errors.New("output directory holds a finished job")
	ErrNoWorkers   = errors.New("no workers")
	ErrBadFormat   = errors.New("unknown input format")
)
