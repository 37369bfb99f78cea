// Package scaffold creates a new dist app: a Go module of its own, outside
// this repository, that builds against a local checkout of dist.
//
// # Why a replace
//
// The module github.com/distmr/dist is not published, so `go get
// github.com/distmr/dist/task` cannot fetch it. A new app's go.mod
// requires it at v0.0.0 and replaces it with the checkout's directory:
//
//	require github.com/distmr/dist v0.0.0
//	replace github.com/distmr/dist => /home/me/src/dist
//
// # Builds without the network
//
// The go.mod also lists, as indirect requirements, the modules that
// package task and task/tasktest import (msgpack and what it needs), at
// the versions the checkout selects, and go.sum holds the checkout's own
// lines for them. A module cache that has built dist therefore builds the
// app, and runs its test, with no download and no checksum lookup.
//
// # Finding the checkout
//
// FindSource walks up from each directory it is given (dist uses its own
// executable's directory, which is build/bin inside the checkout after
// `make build`, and the working directory) to the first go.mod that
// declares module github.com/distmr/dist and has a task directory.
package scaffold
