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
