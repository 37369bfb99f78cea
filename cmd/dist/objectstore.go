package main

import (
	"errors"

	"github.com/distmr/dist/io/storage/s3store"
	"github.com/distmr/dist/worker"
)

// s3Worker is the worker's S3 client (worker.ObjectStore, StoreErrors):
// s3store with the worker's own AWS configuration.
type s3Worker struct{ *s3store.Store }

var _ worker.StoreErrors = s3Worker{}

// newS3Worker is worker.Config.ObjectStore: the store is set up at the
// first S3 input or output, from this process's environment.
func newS3Worker() (worker.ObjectStore, error) {
	s, err := s3store.New()
	if err != nil {
		return nil, err
	}
	return s3Worker{s}, nil
}

func (s3Worker) Changed(err error) bool   { return errors.Is(err, s3store.ErrChanged) }
func (s3Worker) Retryable(err error) bool { return s3store.Retryable(err) }
