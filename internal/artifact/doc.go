// Package artifact inspects the programs dist ships before anything runs
// them: what a file is, which platform it was built for, and, for a Go
// plugin, whether a given plugin host can load it.
//
// # What a file is
//
// Inspect reads a file's header and, for ELF files, its program headers,
// dynamic symbols and Go build information (debug/buildinfo, which
// survives stripping). It tells an executable from a Go plugin from other
// shared objects and from a "#!" script, and names the GOOS/GOARCH the
// file runs on: from the Go build settings when there are some, else from
// the ELF machine, class, byte order and OS ABI. Anything else (random
// bytes, an archive, a Mach-O or PE file) is ErrNotELF. CheckTarget turns
// a platform mismatch into one line that names both sides and the fix:
//
//	artifact built for linux/arm64, worker is linux/amd64: rebuild with GOARCH=amd64
//
// # Plugins
//
// Go's plugin loader (runtime/plugin.go) refuses a plugin unless every
// package it shares with the host has the same link-time fingerprint: a
// hash of the package's export data (its types, signatures and
// inlinable function bodies), which depends on the package's source, the
// Go toolchain and the flags that shape compilation (-trimpath, -race,
// ...). The linker publishes each fingerprint in the dynamic symbol table
// as go:link.pkghashbytes.<import path>, in a plugin and in a host that
// links package plugin with cgo; a host built with CGO_ENABLED=0 has no
// dynamic symbols and cannot load plugins at all ("plugin: not
// implemented").
//
// Inspect reads those fingerprints, so CheckPlugin can refuse exactly the
// plugins plugin.Open would refuse, before shipping or loading anything,
// and say why in terms a user can act on: a different Go version, build
// flags that differ, or a different version of a named package (most often
// github.com/distmr/dist/task). A change confined to the body of a
// function that is not inlined leaves the fingerprint, and therefore the
// ABI, unchanged; such a plugin loads, and the host's own task runtime
// drives it.
package artifact
