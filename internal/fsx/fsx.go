// Package fsx holds the few file system calls that both the worker (its
// task directories, its shuffle) and package io/storage/localfs (a data
// dir read beneath its root, parts linked into a staging directory) and
// the client's commit need, so that each is written once: opening beneath
// a directory with openat2(2), hard-linking the file an *os.File is open
// on, and making a directory's entries durable.
package fsx

import "os"

// SyncDir makes a directory's entries durable (a rename or a new file in
// it survives a crash).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
