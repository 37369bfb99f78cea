package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Put writes a small object (a manifest) in one request.
func (s *Store) Put(ctx context.Context, url string, data []byte) error {
	bucket, key, err := parseObject(url)
	if err != nil {
		return err
	}
	if _, err := s.put(ctx, bucket, key, data, minio.PutObjectOptions{}); err != nil {
		return failed("writing", url, err)
	}
	return nil
}

// put writes data to key under opts' conditions and returns its ETag.
func (s *Store) put(ctx context.Context, bucket, key string, data []byte, opts minio.PutObjectOptions) (etag string, err error) {
	err = s.do(ctx, bucket, func(ctx context.Context) error {
		info, err := s.core.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), "", "", opts)
		etag = strings.Trim(info.ETag, `"`)
		return err
	})
	return etag, err
}

// Get reads a small object whole. A missing one gives an error wrapping
// ErrNotExist.
func (s *Store) Get(ctx context.Context, url string) ([]byte, error) {
	bucket, key, err := parseObject(url)
	if err != nil {
		return nil, err
	}
	data, _, err := s.get(ctx, bucket, key, minio.GetObjectOptions{})
	if code(err) == minio.NoSuchKey {
		return nil, newError(fmt.Sprintf("S3 object %s does not exist", url), ErrNotExist, err)
	}
	if err != nil {
		return nil, failed("reading", url, err)
	}
	return data, nil
}

// get reads key whole and says what it read (the ETag trimmed).
func (s *Store) get(ctx context.Context, bucket, key string, opts minio.GetObjectOptions) (data []byte, info minio.ObjectInfo, err error) {
	err = s.do(ctx, bucket, func(ctx context.Context) (err error) {
		var body io.ReadCloser
		body, info, _, err = s.core.GetObject(ctx, bucket, key, opts)
		if err != nil {
			return err
		}
		defer body.Close()
		data, err = io.ReadAll(body)
		return err
	})
	info.ETag = strings.Trim(info.ETag, `"`)
	return data, info, err
}

// Delete removes an object; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, url string) error {
	bucket, key, err := parseObject(url)
	if err != nil {
		return err
	}
	if err := s.remove(ctx, bucket, key); err != nil {
		return failed("deleting", url, err)
	}
	return nil
}

// remove deletes key (if ctx carries withIfMatch, only that version).
func (s *Store) remove(ctx context.Context, bucket, key string) error {
	err := s.do(ctx, bucket, func(ctx context.Context) error {
		return s.core.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
	})
	if code(err) == minio.NoSuchKey {
		return nil
	}
	return err
}
