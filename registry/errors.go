package registry

import "errors"

var (
	// ErrClosed is returned by every method of a registry after Close.
	ErrClosed = errors.New("registry is closed")

	// ErrUnreachable means no ZooKeeper server gave a session in time. The
	// wrapping error names the addresses, the timeout and the last cause.
	ErrUnreachable = errors.New("cannot reach ZooKeeper")

	// ErrInvalidSpec means a ZooKeeper address is malformed; the expected
	// form is host:port[,host:port...][/chroot].
	ErrInvalidSpec = errors.New("invalid ZooKeeper address")

	// ErrInvalidID means a worker ID cannot name a ZooKeeper node: it must
	// be non-empty, at most 255 bytes of printable UTF-8, without '/', and
	// not "." or "..".
	ErrInvalidID = errors.New("invalid worker id")

	// ErrAlreadyRegistered means Register was called twice on one
	// registrar without a Deregister in between.
	ErrAlreadyRegistered = errors.New("already registered: call Deregister first")

	// ErrNotRegistered means Update was called for a worker this
	// registrar has not registered (or has deregistered).
	ErrNotRegistered = errors.New("not registered: call Register first")

	// ErrIDInUse means the worker's node keeps being re-created by another
	// ZooKeeper session: another live worker uses the same ID.
	ErrIDInUse = errors.New("worker id in use by another session")

	// ErrMalformed means a registry node does not hold a msgpack
	// WorkerInfo. Listing skips such nodes with a warning.
	ErrMalformed = errors.New("malformed worker node")

	// ErrJobExists means CreateJob found a job with that ID already.
	ErrJobExists = errors.New("job already exists")

	// ErrNoJob means no job record has that ID (never submitted, or
	// expired).
	ErrNoJob = errors.New("no such job")

	// ErrInvalidName means a job ID, task name or candidate cannot name a
	// ZooKeeper node: it must be non-empty, at most 255 bytes of printable
	// UTF-8, without '/', and not "." or "..".
	ErrInvalidName = errors.New("invalid name")

	// ErrMalformedJob means a job node does not hold what the registry
	// wrote there (a msgpack JobRecord, a complete plan).
	ErrMalformedJob = errors.New("malformed job node")

	// ErrPlanExists means PutJobPlan found a different plan stored for
	// the job: a job has one plan, written once.
	ErrPlanExists = errors.New("the job has a different plan already")
)
