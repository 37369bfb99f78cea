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
// it are left out (validate.go). Each worker gets every file once.
//
// # Commit protocol
//
// Each finished output-producing attempt (a reduce, or a map of a map-only
// job) is fetched into DIR/_temporary/<task>-<attempt>/ as soon as it ends.
// When the whole job has succeeded, the committed attempt of every task is
// renamed to DIR/part-NNNNN, _temporary is removed and _SUCCESS is written
// last. A failed job removes _temporary and leaves no part files.
package client
