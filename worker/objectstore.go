package worker

import (
	"errors"
	"sync"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
)

// S3-compatible object storage. A map reads its s3:// range, and a task
// writes its s3:// part, through the worker's own client of the store,
// with the worker's own credentials: none travel in dist's protocol, and
// none reach a task (its environment is scrubbed, process.go).

// ObjectStore is the worker's client of an S3-compatible store. A map
// reads its range with Open, which fails rather than give other bytes
// when the object is no longer the version listed (its ETag or size
// differ, or it is gone). A task's part is written with Create, as a
// multipart upload left uncompleted: the Pending its Finish returns says
// what the store received (parts, size, CRC-32C), and the job commit
// completes or aborts it. The worker itself never lists or commits.
type ObjectStore interface {
	storage.Store
	storage.PartStore
}

// StoreErrors is what an ObjectStore implements besides to say what its
// errors mean; an attempt's failure follows from it (storeError):
//
//	Changed    the object is not as listed (other ETag or size, or
//	           deleted): input_changed, and the job fails
//	Retryable  the store could not be reached or failed for now
//	           (network, a 5xx, throttling): a retryable storage error
//	neither    the store refused (wrong credentials, no such bucket): a
//	           storage error no other attempt gets past
//
// A store that does not implement it has every error taken as retryable:
// the job's attempt limit bounds the cost of being wrong.
type StoreErrors interface {
	Changed(err error) bool
	Retryable(err error) bool
}

// objectStore returns the worker's store client, made on first use.
func (w *Worker) objectStore() (ObjectStore, error) {
	s, err := w.store()
	if err != nil {
		return nil, proto.Errorf(proto.CodeStorage, "worker %s cannot use S3: %v", w.ID(), err)
	}
	return s, nil
}

// newStoreOnce makes open's store once, when first asked for.
func newStoreOnce(open func() (ObjectStore, error)) func() (ObjectStore, error) {
	return sync.OnceValues(func() (ObjectStore, error) {
		if open == nil {
			return nil, errors.New("it has no S3 client (worker.Config.ObjectStore): run s3:// jobs on workers that have one")
		}
		return open()
	})
}

// storeError turns a failure of the store about name into the attempt's
// error (see StoreErrors); reading tells an input from an output, which
// cannot have changed.
func (w *Worker) storeError(store ObjectStore, name string, reading bool, err error) *proto.Error {
	var e *proto.Error
	if errors.As(err, &e) {
		return e
	}
	verb := "write"
	if reading {
		verb = "read"
	}
	se, ok := store.(StoreErrors)
	switch {
	case !ok:
		return proto.Retryablef(proto.CodeStorage, "worker %s cannot %s %s: %v", w.ID(), verb, name, err)
	case reading && se.Changed(err):
		return proto.Errorf(proto.CodeInputChanged, "input %s changed since the job started (%v): rerun the job", name, err)
	case se.Retryable(err):
		return proto.Retryablef(proto.CodeStorage, "worker %s cannot %s %s: %v", w.ID(), verb, name, err)
	}
	return proto.Errorf(proto.CodeStorage, "worker %s cannot %s %s: %v: check the worker's S3 credentials and the bucket", w.ID(), verb, name, err)
}
