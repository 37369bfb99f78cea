// Package worker is the dist worker daemon: it accepts authenticated
// sessions from clients and peer workers, caches artifacts, runs task
// attempts as supervised subprocesses and serves their outputs.
//
// # Sessions and calls
//
// Each accepted connection is authenticated with proto.Accept in its own
// goroutine; each call stream of a session is served in its own goroutine
// and dispatched on its header's op (docs/PROTOCOL.md). Every name that
// arrives from the wire is checked with spec.ValidName before it touches
// the file system, and a bad call gets a one-line bad_request reply while
// the worker goes on serving.
//
// # Work directory
//
//	<Dir>/cache/<sha256>                 artifacts, renamed in only once verified
//	                                     (not synced: verify.go re-hashes after a restart)
//	<Dir>/tasks/<job>/<task>-<attempt>/  task.msgpack, in/, out/, tmp/,
//	                                     stdout.log, stderr.log, result.msgpack
//	<Dir>/lock                           flock held by the running worker, its pid
//	<Dir>/run/<pgid>                     a running attempt's process group
//	<Dir>/failed/<job>/<task>-<attempt>/ logs of failed attempts, stderr tail of succeeded ones (KeepFailed)
//
// DataDir, when set, is read and never written.
//
// One worker runs per Dir; one that starts kills what a dead predecessor's
// tasks left running (workdir.go).
//
// # Attempts
//
// Launch takes one of Slots (or answers a retryable busy), stages inputs
// (a reduce fetches its map outputs, FetchParallel at a time, from this
// worker by path or from peers with FetchPartition, checking size and
// CRC-32C), writes task.msgpack and starts the artifact in its own process
// group with a scrubbed environment. A reduce launched before every map
// finished (LaunchRequest.Maps) learns of the other map outputs from
// FetchMore frames on its launch stream and fetches each as it comes,
// keeping exactly one attempt's output per map (stage.go); its program
// starts once all are staged. Killing an attempt (its launch stream
// closes, Kill, EndJob, its job's owner goes away, Shutdown) sends SIGTERM
// to the group and SIGKILL after KillGrace. The slot is freed before the
// final event is sent.
//
// Each attempt owns its run, as a nomad TaskRunner does (attempt.go): it
// stages, runs and supervises its process (process.go) and decides its
// outcome (outcome.go), with its state under its own lock. The Worker
// keeps the collection of attempts by job (jobs.go) and the slot
// accounting (slots.go).
//
// # Data where it lives
//
// A map whose launch names an Input reads it where it lives instead of a
// split the client sent (source.go), through the stores of io/storage: a
// client's file on this host (localfs.New), or a file under DataDir
// (worker: inputs, listed by ListData through localfs.Beneath, data.go),
// is opened by the worker and passed to the task as a descriptor, checked
// against the size and modification time the job listed before the start
// and after the exit; an S3 range is staged as in/split through the
// worker's own ObjectStore. A launch that names an Output has its part
// staged in the client's staging directory (same host: a hard link of
// out/<part> where they share a file system, localfs.Staging) or written
// to S3 as an uncompleted multipart upload (ObjectStore.Create) once the
// task succeeds (deliver.go). The worker's S3 credentials stay its own
// (objectstore.go).
//
// # Plugins and exec jobs
//
// A binary runs as it is. A Go plugin, or the commands of an exec job, run
// under the task host: Config.HostBinary (the worker's own executable) in
// its hidden `task-host` mode, one fresh process per attempt, so the
// daemon never loads a plugin. The host is inspected once: a host without
// plugin support is flagged "no-plugins"; otherwise its Go version, build
// flags and package fingerprints go into WorkerInfo.Plugin, and every
// plugin is checked against them before it takes a slot (host.go).
//
// # Security
//
// Only peers that pass proto.Accept (the cluster secret, and with TLS a
// CA-signed certificate) are served, and a worker with neither refuses to
// listen beyond loopback unless Insecure is set (security.go). Everything a
// peer controls is bounded (limits.go: calls per session, stalled bodies;
// Config: sizes, slots); every cached program is inspected before it runs
// (validate.go: an ELF executable or plugin for this GOOS/GOARCH); and
// tasks get their limits and, with RunAs, another user (sandbox.go). What
// a task wrote is read without following symlinks, and only if it is a
// regular file of the task's user (taskfs.go). Tasks die with the worker
// (a parent death signal, procattr_linux.go).
// SECURITY.md at the repository root is the threat model.
//
// # Jobs
//
// The sessions that stage input for a job or launch its attempts own it.
// When the last owner's session closes, or EndJob arrives, the job's
// attempts are killed and its task directory removed. Peer sessions that
// only fetch never own a job.
//
// # Metrics
//
// With Config.MetricsAddr the worker serves Prometheus metrics (its own
// registry, series prefixed dist_) at /metrics and a health check at
// /healthz (503 once Shutdown begins); see metrics.go for the series.
//
// # Lifecycle
//
// Start listens, serves (and serves metrics), then registers. Shutdown
// deregisters first, stops accepting, kills attempts, closes sessions and
// the metrics server, and waits for every goroutine and child process the
// worker started.
package worker
