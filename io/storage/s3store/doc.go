// Package s3store reads and writes job data in S3-compatible object
// storage: the client lists inputs and locks, commits and cleans up an
// output; workers read their splits' byte ranges and upload their parts.
// Store is a storage.Store and a storage.PartStore. It is built on
// minio-go (lighter than aws-sdk-go-v2, and it speaks to AWS, MinIO and
// SeaweedFS alike).
//
// # Configuration
//
// New reads the standard AWS settings of the process that calls it, so
// each machine uses its own credentials and none travel in dist's
// protocol: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION, AWS_ENDPOINT_URL, else the AWS_PROFILE profile of the
// shared files. A custom endpoint is addressed path-style. No error or
// message of this package holds a credential.
//
// # Errors and retries
//
// Every error is one line naming the cause and the fix, and wraps a
// sentinel of errors.go. A request that gets no answer, or a 5xx, is
// tried up to 4 times with backoff (about 3 s in all; minio's own retries
// are off so the two do not multiply), then fails with ErrUnreachable.
// Refused credentials (ErrAuth) and a missing bucket (ErrNoBucket) fail
// at once. Retryable sorts errors for the caller.
//
// # Reads
//
// Open reads a byte range of an object as it was listed: each request
// carries If-Match with the listed ETag, and the size must match, so an
// object changed or deleted under a running job fails it (ErrChanged)
// instead of mixing two versions into one answer. A stream that breaks
// off is resumed where it stopped. Splits apply storage.OwnedLines over
// Open(off-1, -1).
//
// # Uploads
//
// A task attempt writes its part as a multipart upload it does not
// complete (Create, whose part uploads every PartSize bytes as they are
// written; Upload copies a reader into one): nothing is visible until
// the job commit completes exactly one attempt's upload per task
// (Commit) and aborts the others (Abort). AbortUploads removes what
// killed attempts and jobs left under an output.
//
// # The output lock
//
// A job holds its output through an object PREFIX/_dist-lock naming it,
// created with a PUT conditional on If-None-Match: * and renewed by a PUT
// conditional on its last ETag. SeaweedFS (at the version s3test pins)
// evaluates both conditions under its per-object write lock, as AWS S3
// does since 2024, so of two jobs creating or taking over a lock exactly
// one succeeds; Release deletes it only if its ETag is still ours. A lock
// not renewed for LockLease, or held by a dead process of the same host,
// is stale and may be taken over; its former holder learns it from
// Lost.
package s3store
