package master

import "errors"

// Sentinel errors.
var (
	// ErrClosed: the host is closed (its worker is shutting down).
	ErrClosed = errors.New("job master host closed")
	// errEnded stops an update of a job that ended meanwhile.
	errEnded = errors.New("job ended")
	// errNotMaster stops a kill at a host whose master the record does not
	// name.
	errNotMaster = errors.New("not the job's master")
)
