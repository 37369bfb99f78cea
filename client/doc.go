// Package client is what `dist run` does: check the artifact and inputs,
// find workers, ship the program and the input splits, drive the tracker,
// fetch the outputs and commit them.
//
// # What is shipped
//
// A job ships a binary, a Go plugin (Kind proto.KindPlugin) or the
// mapper, reducer and combiner commands of an exec job (proto.KindExec).
// Prepare inspects each file (package internal/artifact); before the first
// upload every worker is checked against it, and workers that cannot run
// it are left out (validate.go). Each worker gets every file once, and so
// the job's side files (--file, files.go), which are data, not checked.
//
// # Commit protocol
//
// A job holds its output directory DIR from the start of Run to its end:
// an flock on PARENT/.NAME.dist-lock, which names the job; a second job
// fails at once naming it, and the kernel drops the lock of a job that
// dies (lock.go). Each finished output-producing attempt (a reduce, or a
// map of a map-only job) is fetched into the job's staging directory
// PARENT/.NAME.dist-<job>/_temporary/<task>-<attempt>/ as soon as it ends.
// When the whole job has succeeded, the committed attempt of every task
// moves to the staging root, _SUCCESS (the JSON Manifest) is written last,
// and one rename publishes the staging directory as DIR: a plain rename
// when DIR is missing, else an atomic exchange with the old DIR, whose
// contents are then removed (commit.go). Killed at any instant, DIR is as
// it was or complete. A failed job removes its staging directory and never
// touches DIR; what a killed one leaves beside DIR the next job on it
// removes. DIR must hold nothing but what dist writes (output.go).
package client
