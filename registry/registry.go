package registry

import (
	"context"
	"time"
)

// WorkerInfo is what a worker publishes about itself, msgpack-encoded in its
// ZooKeeper node /dist/workers/<id>.
type WorkerInfo struct {
	ID        string    `msgpack:"id"`
	Addr      string    `msgpack:"addr"` // host:port clients dial
	Slots     int       `msgpack:"slots"`
	Version   string    `msgpack:"version"`    // dist version
	GoVersion string    `msgpack:"go_version"` // runtime.Version() of the worker binary
	OS        string    `msgpack:"os"`
	Arch      string    `msgpack:"arch"`
	Started   time.Time `msgpack:"started"`
	// Flags lists properties an operator should see, e.g. "insecure",
	// "no-plugins".
	Flags []string `msgpack:"flags,omitempty"`
	// Plugin is what a Go plugin must match to run on this worker; nil
	// when the worker cannot host plugins (Flags then holds "no-plugins").
	Plugin *PluginABI `msgpack:"plugin,omitempty"`
	// Draining says the worker is stopping (it got SIGTERM): it takes no
	// new tasks, but what it runs finishes and counts, and it serves its
	// map outputs until the jobs using it end or its drain times out. It
	// deletes its node only then.
	Draining bool `msgpack:"draining,omitempty"`
	// Host is the worker's storage.HostID: a client with the same one may
	// let it read its files in place.
	Host string `msgpack:"host,omitempty"`
	// Data says the worker serves worker: inputs (dist worker --data-dir).
	Data bool `msgpack:"data,omitempty"`
	// Masters is how many job masters the worker hosts (dist worker
	// --masters); 0 means it takes no detached jobs.
	Masters int `msgpack:"masters,omitempty"`
}

// Registrar is what a worker needs: announce itself, say it drains,
// withdraw on shutdown.
type Registrar interface {
	// Register publishes info and keeps it published (re-registering after
	// a lost session) until ctx ends or Deregister is called.
	Register(ctx context.Context, info WorkerInfo) error
	// Update replaces the published info of the registered worker (same
	// ID), e.g. to set Draining; watchers see the change.
	Update(ctx context.Context, info WorkerInfo) error
	// Deregister removes the worker's node.
	Deregister(ctx context.Context) error
}

// Lister is what a client needs: the workers alive now, and changes.
type Lister interface {
	// Workers returns the registered workers now.
	Workers(ctx context.Context) ([]WorkerInfo, error)
	// Watch sends the full set of workers every time it changes, starting
	// with the current set, until ctx ends; then it closes the channel.
	Watch(ctx context.Context) (<-chan []WorkerInfo, error)
}
