// Package master hosts the job masters of detached jobs on a worker
// (dist worker --masters N, dist run --detach).
//
// # Design
//
// A detached job's master is a `dist run --hosted` subprocess: the same
// tracker an attached dist run embeds, run by a worker instead of the
// user's shell. The job's record, plan and journal live in ZooKeeper
// (registry.ZK, <root>/jobs/<id>), so any worker can carry the job on.
//
// Submit pins the job's programs (taken from the worker's artifact cache,
// where the client shipped them) under Dir/<job>, records the job and
// stands for its master election. Run watches every job and stands by,
// too, for each job not ended whose programs this worker's cache holds:
// the cache is where a worker that ran the job's tasks keeps them, and a
// standby pins them at once, since the cache drops the least recently
// used.
//
// # Elections
//
// Each job has one election (registry.Candidacy). The leader writes itself
// into the record as the job's master (counting a takeover when another
// worker had it) and starts the master process, in its own process group
// and killed by the kernel when the worker dies, so that a worker's death
// ends its session and its masters together and a standby takes over.
// A leader that loses its candidacy kills its master at once, without
// marking the job: another master may already be running it. A master that
// exits leaving its job not ended fails the job with the last line it
// logged (Dir/<job>/master.log).
//
// # Stopping
//
// Kill asks the master to end the job as killed: KillRequested in the
// record, then SIGTERM to the master's process group. Close, at worker
// shutdown, kills the masters and resigns without touching the jobs, so
// that standbys elsewhere take them over.
package master
