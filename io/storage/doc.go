// Package storage names where a job's data lives and reads it there.
//
// An --input or --output names one of three kinds of storage (Kind):
//
//	PATH, a glob        Local: a file on the client's machine
//	s3://BUCKET/KEY     S3: S3-compatible object storage
//	worker:PATH         Worker: a file under a worker's --data-dir
//
// An Object is one input file or object as listed when the job starts:
// its name, size and version (an S3 ETag, a file's modification time).
// Whoever reads it later checks that the version still holds, so a file
// that changes under a running job fails the job instead of mixing two
// versions into one answer.
//
// # Stores
//
// Each kind of storage is reached through the same small interfaces, so
// that the client, tracker and worker speak of splits and parts, not of
// paths:
//
//	Store       List a pattern (sizes, versions); Open a byte range of
//	            what was listed, refusing an object that changed
//	FileOpener  OpenFile: a file a task reads in place (fd passing)
//	PartStore   Create a part where no reader looks; the job commit
//	            publishes one attempt's part per task (Commit) and drops
//	            the others (Abort). A finished part is a Pending, which
//	            travels on the wire as proto.Upload.
//
// Three implementations:
//
//	localfs.New()          the client's files: Store, FileOpener
//	localfs.Beneath(dir)   a worker's --data-dir, read only, nothing
//	                       outside dir reachable: Store, FileOpener
//	localfs.Staging        a directory output's staging directory:
//	                       PartStore (and Link: a part staged without a
//	                       copy when it is on the same file system)
//	s3store.Store          S3-compatible object storage: Store, PartStore
//	                       (a part is a multipart upload left uncompleted)
//
// # The line rule
//
// A split is a byte range [Offset, Offset+Length) of an object. When the
// cut was not made on a line boundary (S3 and worker: splits are cut at
// plain multiples of --split-size, without reading the data), the split
// owns exactly the lines that start inside its range: it skips the tail
// of a line begun before Offset and reads past its end to finish its last
// line. OwnedLines applies the rule to a stream, Cut to a file it can
// seek. Every line belongs to exactly one split, however the edges fall.
package storage
