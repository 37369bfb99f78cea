package s3store

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// maxResumes bounds how often one Open's stream is picked up again after
// it broke off.
const maxResumes = 5

// Open reads n bytes at off of obj (n < 0: to its end), as it was listed:
// every request carries If-Match obj.Version, and the object's size must
// still be obj.Size. An object changed since (412, another size) or
// deleted (404) fails with an error wrapping ErrChanged that names it. A
// stream that breaks off is resumed where it stopped, with the same
// If-Match, up to maxResumes times. ctx bounds the reader's life.
func (s *Store) Open(ctx context.Context, obj storage.Object, off, n int64) (io.ReadCloser, error) {
	bucket, key, err := parseObject(obj.Name)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("reading %s at offset %d: the offset is negative", obj.Name, off)
	}
	end := obj.Size
	if n >= 0 && off+n < end {
		end = off + n
	}
	r := &rangeReader{s: s, ctx: ctx, obj: obj, bucket: bucket, key: key, pos: off, end: end}
	if off >= end {
		// Nothing to read; still, the object must be the one listed.
		if err := r.check(); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// rangeReader reads [pos, end) of an object, resuming a broken stream.
type rangeReader struct {
	s           *Store
	ctx         context.Context
	obj         storage.Object
	bucket, key string

	pos, end int64
	body     io.ReadCloser // nil between a break and the resume
	resumes  int
	err      error // sticky
}

func (r *rangeReader) Read(p []byte) (int, error) {
	for {
		switch {
		case r.err != nil:
			return 0, r.err
		case r.pos >= r.end:
			return 0, io.EOF
		case r.body == nil:
			if err := r.open(); err != nil {
				r.err = err
				return 0, err
			}
		}
		if int64(len(p)) > r.end-r.pos {
			p = p[:r.end-r.pos]
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		if err != nil && (err != io.EOF || r.pos < r.end) {
			r.broke(err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
}

// broke drops a stream that ended before its range did; the next Read
// resumes it, unless that was once too often.
func (r *rangeReader) broke(err error) {
	r.body.Close()
	r.body = nil
	switch {
	case r.ctx.Err() != nil:
		r.err = r.ctx.Err()
	case r.resumes == maxResumes:
		r.err = newError(fmt.Sprintf("reading %s broke off %d times, last at byte %d: %s: check the network to %s",
			r.obj.Name, r.resumes+1, r.pos, describe(err), r.s.endpoint), ErrUnreachable, err)
	}
	r.resumes++
}

func (r *rangeReader) Close() error {
	r.err = fs.ErrClosed
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// open requests [pos, end) of the listed version.
func (r *rangeReader) open() error {
	opts := minio.GetObjectOptions{}
	if r.obj.Version != "" {
		if err := opts.SetMatchETag(r.obj.Version); err != nil {
			return err
		}
	}
	if err := opts.SetRange(r.pos, r.end-1); err != nil {
		return err
	}
	var body io.ReadCloser
	var info minio.ObjectInfo
	var hdr http.Header
	err := r.s.do(r.ctx, r.bucket, func(ctx context.Context) (err error) {
		body, info, hdr, err = r.s.core.GetObject(ctx, r.bucket, r.key, opts)
		return err
	})
	if err != nil {
		return r.readError(err)
	}
	start, total, ok := contentRange(hdr.Get("Content-Range"))
	if !ok {
		// A 200 with the whole object: right only when we asked from 0.
		start, total = 0, info.Size
	}
	switch {
	case total != r.obj.Size:
		body.Close()
		return newError(fmt.Sprintf("S3 object %s changed since the job listed it (%d bytes then, %d now): rerun the job on input that stays put",
			r.obj.Name, r.obj.Size, total), ErrChanged)
	case start != r.pos:
		body.Close()
		return fmt.Errorf("S3 at %s answered a read of %s at byte %d from byte %d: use a store that serves Range requests",
			r.s.endpoint, r.obj.Name, r.pos, start)
	}
	r.body = body
	return nil
}

// check makes sure the listed version is still there, reading nothing.
func (r *rangeReader) check() error {
	opts := minio.StatObjectOptions{}
	if r.obj.Version != "" {
		if err := opts.SetMatchETag(r.obj.Version); err != nil {
			return err
		}
	}
	var info minio.ObjectInfo
	err := r.s.do(r.ctx, r.bucket, func(ctx context.Context) (err error) {
		info, err = r.s.core.StatObject(ctx, r.bucket, r.key, opts)
		return err
	})
	if err != nil {
		return r.readError(err)
	}
	if info.Size != r.obj.Size {
		return newError(fmt.Sprintf("S3 object %s changed since the job listed it (%d bytes then, %d now): rerun the job on input that stays put",
			r.obj.Name, r.obj.Size, info.Size), ErrChanged)
	}
	return nil
}

// readError words a failed read of the listed object.
func (r *rangeReader) readError(err error) error {
	switch {
	case status(err) == http.StatusPreconditionFailed, code(err) == "InvalidRange":
		return newError(fmt.Sprintf("S3 object %s changed since the job listed it (ETag %s): rerun the job on input that stays put",
			r.obj.Name, r.obj.Version), ErrChanged, err)
	case code(err) == minio.NoSuchKey:
		return newError(fmt.Sprintf("S3 object %s was deleted since the job listed it: restore it and rerun the job", r.obj.Name),
			ErrChanged, err)
	}
	return failed("reading", r.obj.Name, err)
}

// contentRange parses "bytes START-END/TOTAL".
func contentRange(h string) (start, total int64, ok bool) {
	rng, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, false
	}
	span, tot, ok := strings.Cut(rng, "/")
	if !ok {
		return 0, 0, false
	}
	first, _, ok := strings.Cut(span, "-")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(first, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	return start, total, err1 == nil && err2 == nil
}
