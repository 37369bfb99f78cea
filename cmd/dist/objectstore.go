package main

import (
	"context"
	"errors"
	"io"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/s3store"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/worker"
)

// s3Worker is the worker's S3 client (worker.ObjectStore, StoreErrors):
// s3store with the worker's own AWS configuration, its uploads said in
// the wire's terms.
type s3Worker struct{ *s3store.Store }

// newS3Worker is worker.Config.ObjectStore: the store is set up at the
// first S3 input or output, from this process's environment.
func newS3Worker() (worker.ObjectStore, error) {
	s, err := s3store.New()
	if err != nil {
		return nil, err
	}
	return s3Worker{s}, nil
}

func (s s3Worker) Open(ctx context.Context, obj storage.Object, off, n int64) (io.ReadCloser, error) {
	return s.Store.Open(ctx, obj, off, n)
}

func (s s3Worker) Upload(ctx context.Context, url string, r io.Reader) (proto.Upload, error) {
	u, err := s.Store.Upload(ctx, url, r)
	if err != nil {
		return proto.Upload{}, err
	}
	pu := proto.Upload{Name: u.URL, UploadID: u.UploadID, Size: u.Size, CRC32C: u.CRC32C}
	for _, p := range u.Parts {
		pu.Parts = append(pu.Parts, proto.UploadPart{Number: p.Number, ETag: p.ETag, Size: p.Size})
	}
	return pu, nil
}

func (s3Worker) Changed(err error) bool   { return errors.Is(err, s3store.ErrChanged) }
func (s3Worker) Retryable(err error) bool { return s3store.Retryable(err) }
