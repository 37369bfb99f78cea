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
	// ErrBadFile marks a --file that is missing, not a regular file, or
	// whose base name is unsafe or taken by another --file.
	ErrBadFile = errors.New("bad side file")
)

// Sentinel errors for an --output the job cannot have (output.go, lock.go).
var (
	// ErrOutputBusy marks an output another running job holds; the error
	// names that job.
	ErrOutputBusy = errors.New("output in use by another job")
	// ErrOutputNotDir marks an --output that is a file, or lies under one.
	ErrOutputNotDir = errors.New("output is not a directory")
	// ErrOutputForeign marks an output directory holding a file dist did
	// not write, which replacing the directory would delete.
	ErrOutputForeign = errors.New("output directory holds files dist did not write")
)
