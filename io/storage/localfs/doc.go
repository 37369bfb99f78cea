// Package localfs is the storage of files on this machine (storage.Store,
// storage.FileOpener, storage.PartStore): the client's own --input files
// and --output directory, and a worker's --data-dir.
//
// # Reading
//
// An FS lists what a path or glob names, as an --input does: a regular
// file, or a directory standing for the visible regular files directly
// inside it (no name starting with "." or "_", no symlink). An object's
// Version is the file's modification time in nanoseconds. Open and
// OpenFile refuse a file whose size or modification time is no longer
// the one listed (ChangedError), and a range read through Open is checked
// again at its end: a file that changes under a running job fails the
// job instead of mixing two versions into one answer.
//
// New reads any path this process can. Beneath(root) reads only beneath
// root, read only, as a worker serves its --data-dir: names are
// slash-separated paths relative to root, never absolute and never with a
// ".." element, opened with openat2 RESOLVE_BENEATH (or, where that is
// missing, after resolving the path and checking it stays beneath), so a
// symlink is followed only while it stays beneath root (ErrOutside).
//
// # Writing
//
// A Staging is where the parts of a directory output are written before
// the job commit publishes them: Create writes a part where no reader
// looks (a temporary file renamed into Stage, synced), Commit moves it to
// Root with one rename, Abort removes it. Link stages a file that already
// exists on the same file system without copying it: a hard link of the
// open file itself, its bytes read once to check them.
package localfs
