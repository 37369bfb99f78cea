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
// # Plugins
//
// Go's plugin loader refuses a plugin whose copy of a shared package
// differs from the host's by a single byte of export data, and file
// names are part of it. With the replace alone, -trimpath names task's
// files github.com/distmr/dist@v0.0.0/task/..., while the workers' dist
// names them github.com/distmr/dist/task/...: every plugin of the app
// would be refused. So New also writes a go.work that uses the app and
// the checkout: in workspace mode dist is one of the main modules, its
// files get the same names as in the checkout, and `dist build --plugin`
// makes plugins the workers load. GOWORK=off builds with go.mod alone.
//
// # Finding the checkout
//
// FindSource walks up from each directory it is given (dist uses its own
// executable's directory, which is build/bin inside the checkout after
// `make build`, and the working directory) to the first go.mod that
// declares module github.com/distmr/dist and has a task directory.
package scaffold
