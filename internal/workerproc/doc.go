// Package workerproc starts `dist worker` as a child process and follows
// what it says on stdout. It is the one place that knows the two lines a
// worker prints there, for `dist run --local`, the end-to-end tests and
// the benchmark alike:
//
//	dist worker ready id=ID addr=HOST:PORT [metrics=HOST:PORT]
//	dist worker draining id=ID
//
// The first comes once the worker listens (and is registered, when it has a
// registry); the second when it begins to drain (SIGTERM), so a local
// cluster's in-memory registry can say what a ZooKeeper node would.
//
// # Processes
//
// A worker runs in its own process group, so a SIGKILL reaches the tasks it
// started too (SIGTERM goes to the worker alone, which drains and ends its
// tasks itself: see Proc.Signal), and gets SIGTERM if the process that
// started it dies. Start
// returns once the ready line arrives; a worker that exits first, or is not
// ready in time, is stopped and named in the error with its log file.
// Whoever starts a Proc stops it (Stop, or Signal then Exited).
package workerproc
