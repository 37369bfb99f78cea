// Package s3test runs a real S3-compatible store (SeaweedFS) for tests.
//
// # Server
//
// Start launches `weed server -s3` (master, volume server, filer and S3
// gateway in one process) with every port free on 127.0.0.1, its data and
// log in t.TempDir(), and one identity with static credentials. It waits
// until the store takes writes (the gateway and filer answer and a volume
// server has joined the master), polling against a deadline, and kills the
// process group by pid when the test ends. The Server gives the endpoint
// and credentials, as fields, as AWS_* environment variables for a child
// process, and as a minio-go client.
//
// A new collection's first write takes a few seconds more: weed defers
// allocating volume ids for about 5s after its master is elected, and its
// filer's lock ring forms some seconds after start. The write waits on the
// server; it does not fail.
//
// # The weed binary
//
// weed is built from source at the SeaweedFS version pinned in
// scripts/s3local/go.mod, once, into a cache every later run reuses:
// ${XDG_CACHE_HOME:-$HOME/.cache}/dist/weed-<version> ($DIST_CACHE
// overrides the directory; $WEED names a binary to use instead). Tests do
// not build it: `scripts/s3-local.sh build` (or .ci/run) does, in minutes.
// Without it the test is skipped with the command to run; with CI=true it
// fails instead.
//
// # Logs
//
// The server's output goes to weed.log in its directory; when a test
// fails its last lines are logged.
package s3test
