package storage

import (
	"context"
	"errors"
	"io"
	"os"
)

// Store is one storage's input side: it lists what an --input names and
// reads byte ranges of what it listed. Its implementations are localfs
// (the client's files, and a worker's --data-dir) and s3store.
type Store interface {
	// List expands one pattern (a path or glob, an s3:// URL) into the
	// objects it names, sorted by name, each with its size and version.
	// A pattern that names nothing fails with an error wrapping
	// ErrNoMatch.
	List(ctx context.Context, pattern string) ([]Object, error)
	// Open reads n bytes of obj from byte off on (n < 0: to its end). It
	// fails with an error wrapping ErrChanged, rather than give other
	// bytes, when obj is no longer the size and version it was listed
	// with, or is gone.
	Open(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error)
}

// FileOpener is a Store of files a task may read in place: a worker
// passes the open file to the task instead of copying its split.
type FileOpener interface {
	// OpenFile opens obj read only, as Open checks it: a regular file
	// still of obj's size and version.
	OpenFile(ctx context.Context, obj Object) (*os.File, error)
}

// PartStore is one storage's output side. A task attempt writes its part
// where no reader looks (Create); the job commit then publishes exactly
// one attempt's part per task (Commit) and drops the others (Abort).
// Until its Commit a part is invisible at its name.
type PartStore interface {
	// Create starts a part to be published at name (an s3:// URL; for
	// files, a name in the store's directory).
	Create(ctx context.Context, name string) (Part, error)
	// Commit publishes a pending part at its name, replacing what was
	// there. Committing a part already committed is not an error where
	// the store can tell (an S3 retry whose answer was lost).
	Commit(ctx context.Context, p Pending) error
	// Abort drops a pending part. One already gone is not an error.
	Abort(ctx context.Context, p Pending) error
}

// Part is an output part being written.
type Part interface {
	io.Writer
	// Finish stores what was written, durably and still unpublished, and
	// says what PartStore.Commit needs. After Finish, drop the part
	// with PartStore.Abort.
	Finish() (Pending, error)
	// Abort drops what was written before Finish; after Finish it does
	// nothing.
	Abort() error
}

// Pending is a finished, uncommitted part: everything the job commit
// needs to publish it or drop it, whichever process wrote it. Proto's
// Upload carries one over the wire (proto.UploadOf, Upload.Pending).
type Pending struct {
	// Name is where Commit publishes the part: s3://BUCKET/KEY, or a
	// file's name in its staging store.
	Name   string
	Size   int64
	CRC32C uint32 // Castagnoli, of the part's bytes
	// UploadID and Parts are, on S3, the multipart upload left
	// uncompleted and its parts, in order.
	UploadID string
	Parts    []UploadPart
}

// UploadPart is one part of an S3 multipart upload.
type UploadPart struct {
	Number int
	ETag   string
	Size   int64
}

// Sentinel errors every store's errors wrap when they have this cause.
var (
	// ErrNoMatch marks a pattern that names no object.
	ErrNoMatch = errors.New("no input matches")
	// ErrChanged marks an object that changed or was deleted since it
	// was listed: reading on would mix two versions into one answer.
	ErrChanged = errors.New("input changed since it was listed")
)
