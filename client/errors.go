package client

import "errors"

// Sentinel errors for bad job specifications.
var (
	ErrNoApp       = errors.New("no app")
	ErrNoInput     = errors.New("no input")
	ErrOutputTaken = errors.New("output directory holds a finished job")
	ErrNoWorkers   = errors.New("no workers")
	ErrBadFormat   = errors.New("unknown input format")
	// ErrBadApp marks an artifact that cannot run as given: not an ELF
	// program, a plugin without --plugin, a binary with it, ...
	ErrBadApp = errors.New("bad app")
	// ErrIncompatible marks a job no worker can run: the artifact was
	// built for another platform, or a plugin for another plugin host.
	ErrIncompatible = errors.New("no worker can run the artifact")
)
