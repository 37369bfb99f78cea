package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"sync"
)

// Kind is the kind of storage an input or output names.
type Kind string

const (
	Local  Kind = "local"  // a path on the client's machine
	S3     Kind = "s3"     // s3://BUCKET/KEY
	Worker Kind = "worker" // worker:PATH, under a worker's --data-dir
)

// URL prefixes of the kinds that have one.
const (
	S3Prefix     = "s3://"
	WorkerPrefix = "worker:"
)

// KindOf says which storage an --input or --output argument names.
func KindOf(name string) Kind {
	switch {
	case strings.HasPrefix(name, S3Prefix):
		return S3
	case strings.HasPrefix(name, WorkerPrefix):
		return Worker
	}
	return Local
}

// Object is one input file or object, as listed when the job started.
type Object struct {
	// Name is how the user sees it: a local path, "s3://bucket/key", or
	// for Worker "worker:<path under the data dir>".
	Name string
	Kind Kind
	Size int64
	// Version is what must still hold when the object is read: the ETag
	// of an S3 object, the modification time in nanoseconds (decimal) of
	// a file.
	Version string
	// Worker is, for Kind Worker, the id of the worker that holds it.
	Worker string
}

// EnvHostID, when set, is this process's HostID: an operator sets it to
// keep a worker from reading its host's files in place (or to say two
// containers share their files), and tests to make a worker on this
// machine act as one elsewhere.
const EnvHostID = "DIST_HOST_ID"

var hostID = sync.OnceValue(func() string {
	if id := os.Getenv(EnvHostID); id != "" {
		return id
	}
	var parts []string
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"} {
		if b, err := os.ReadFile(p); err == nil {
			parts = append(parts, strings.TrimSpace(string(b)))
		}
	}
	name, _ := os.Hostname()
	parts = append(parts, name)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:8])
})

// HostID names this machine for as long as it runs: the same for every
// process on it, different on another machine or after a reboot. A client
// and a worker with the same HostID may read each other's files in place
// (after checking each file's size and version: a container can share
// the host's ids and not its files).
func HostID() string { return hostID() }
