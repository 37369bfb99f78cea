package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// abortTimeout bounds the abort of a failed upload, which runs even when
// the caller's context is done.
const abortTimeout = 30 * time.Second

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Create starts a multipart upload to url (s3://bucket/key) and returns
// the part that streams into it: every PartSize bytes written are
// uploaded as one part, and Finish uploads the rest (an empty part when
// nothing was written) and leaves the upload uncompleted, invisible,
// for the job commit to complete (Commit) or drop (Abort). The part
// counts the bytes and their CRC-32C. A write or Finish that fails
// leaves the upload for Abort (the part's, or AbortUploads). ctx bounds
// the part's requests.
func (s *Store) Create(ctx context.Context, url string) (storage.Part, error) {
	bucket, key, err := parseObject(url)
	if err != nil {
		return nil, err
	}
	u := &upload{s: s, ctx: ctx, bucket: bucket, key: key, crc: crc32.New(castagnoli), p: storage.Pending{Name: url}}
	err = s.do(ctx, bucket, func(ctx context.Context) (err error) {
		u.p.UploadID, err = s.core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		return nil, failed("starting an upload to", url, err)
	}
	return u, nil
}

// upload is a multipart upload being written (Create).
type upload struct {
	s           *Store
	ctx         context.Context
	bucket, key string
	p           storage.Pending
	buf         []byte // the part being filled, up to s.partSize
	crc         hash.Hash32
	done        bool  // finished or aborted
	err         error // sticky: the upload broke
}

func (u *upload) Write(b []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.done {
		return 0, fmt.Errorf("uploading %s: written after it was finished", u.p.Name)
	}
	if u.buf == nil {
		u.buf = make([]byte, 0, u.s.partSize)
	}
	written := 0
	for len(b) > 0 {
		n := copy(u.buf[len(u.buf):cap(u.buf)], b)
		u.buf = u.buf[:len(u.buf)+n]
		b = b[n:]
		written += n
		if len(u.buf) == cap(u.buf) {
			if err := u.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush uploads the buffered bytes as the next part.
func (u *upload) flush() error {
	num := len(u.p.Parts) + 1
	var part minio.ObjectPart
	err := u.s.do(u.ctx, u.bucket, func(ctx context.Context) (err error) {
		part, err = u.s.core.PutObjectPart(ctx, u.bucket, u.key, u.p.UploadID, num, bytes.NewReader(u.buf), int64(len(u.buf)), minio.PutObjectPartOptions{})
		return err
	})
	if err != nil {
		u.err = failed(fmt.Sprintf("uploading part %d of", num), u.p.Name, err)
		return u.err
	}
	u.crc.Write(u.buf)
	u.p.Parts = append(u.p.Parts, storage.UploadPart{Number: num, ETag: strings.Trim(part.ETag, `"`), Size: int64(len(u.buf))})
	u.p.Size += int64(len(u.buf))
	u.buf = u.buf[:0]
	return nil
}

// Finish uploads what is buffered as the last part and returns the
// uncompleted upload.
func (u *upload) Finish() (storage.Pending, error) {
	switch {
	case u.err != nil:
		return storage.Pending{}, u.err
	case u.done:
		return storage.Pending{}, fmt.Errorf("uploading %s: finished twice", u.p.Name)
	}
	if len(u.buf) > 0 || len(u.p.Parts) == 0 {
		if err := u.flush(); err != nil {
			return storage.Pending{}, err
		}
	}
	u.done = true
	u.buf = nil
	u.p.CRC32C = u.crc.Sum32()
	return u.p, nil
}

// Abort drops the upload unless it was finished, even when the part's
// context is done.
func (u *upload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	u.buf = nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), abortTimeout)
	defer cancel()
	return u.s.Abort(ctx, u.p)
}

// Upload uploads r to url as Create does, and finishes it: a task
// attempt's output, which the job commit completes (Commit) or drops
// (Abort). On failure it aborts the upload it started.
func (s *Store) Upload(ctx context.Context, url string, r io.Reader) (storage.Pending, error) {
	part, err := s.Create(ctx, url)
	if err != nil {
		return storage.Pending{}, err
	}
	p, err := copyFinish(part, r)
	if err != nil {
		if aerr := part.Abort(); aerr != nil {
			return storage.Pending{}, fmt.Errorf("%w (aborting the upload failed too: %v)", err, aerr)
		}
		var se *storeError
		if !errors.As(err, &se) {
			err = fmt.Errorf("uploading %s: %w", url, err)
		}
		return storage.Pending{}, err
	}
	return p, nil
}

// copyFinish copies r into part and finishes it.
func copyFinish(part storage.Part, r io.Reader) (storage.Pending, error) {
	if _, err := io.Copy(part, r); err != nil {
		return storage.Pending{}, err
	}
	return part.Finish()
}

// Commit completes an upload (Create), publishing its parts as its
// object. An upload aborted meanwhile (by a cleanup) fails the call; one
// that an earlier try completed, the answer lost, does not.
func (s *Store) Commit(ctx context.Context, u storage.Pending) error {
	return s.commit(ctx, u, false)
}

// CommitResumed is Commit for an upload another process may have
// completed already (a job master that died during its commit): an
// upload that is gone is done when its object is in place, as its
// multipart ETag says.
func (s *Store) CommitResumed(ctx context.Context, u storage.Pending) error {
	return s.commit(ctx, u, true)
}

func (s *Store) commit(ctx context.Context, u storage.Pending, resumed bool) error {
	bucket, key, err := parseObject(u.Name)
	if err != nil {
		return err
	}
	if len(u.Parts) == 0 {
		return fmt.Errorf("completing the upload of %s: it has no parts", u.Name)
	}
	parts := make([]minio.CompletePart, len(u.Parts))
	for i, p := range u.Parts {
		parts[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	sent := 0
	err = s.do(ctx, bucket, func(ctx context.Context) error {
		sent++
		_, err := s.core.CompleteMultipartUpload(ctx, bucket, key, u.UploadID, parts, minio.PutObjectOptions{})
		return err
	})
	if code(err) == "NoSuchUpload" {
		if (sent > 1 || resumed) && s.completed(ctx, bucket, key, u) {
			return nil
		}
		return newError(fmt.Sprintf("the upload of %s is gone: a cleanup aborted it (did another job take over the output?): rerun the job", u.Name), err)
	}
	if err != nil {
		return failed("completing the upload of", u.Name, err)
	}
	return nil
}

// completed says whether u's object is in place, as its multipart ETag
// (the MD5 of its parts' MD5s, "-" their count) or, when the parts' ETags
// are not MD5s, its size says.
func (s *Store) completed(ctx context.Context, bucket, key string, u storage.Pending) bool {
	var info minio.ObjectInfo
	err := s.do(ctx, bucket, func(ctx context.Context) (err error) {
		info, err = s.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		return err
	})
	if err != nil || info.Size != u.Size {
		return false
	}
	sum := md5.New()
	for _, p := range u.Parts {
		b, err := hex.DecodeString(p.ETag)
		if err != nil || len(b) != md5.Size {
			return true
		}
		sum.Write(b)
	}
	return strings.Trim(info.ETag, `"`) == hex.EncodeToString(sum.Sum(nil))+"-"+strconv.Itoa(len(u.Parts))
}

// Abort drops an upload and its parts. One already gone is not an error.
func (s *Store) Abort(ctx context.Context, u storage.Pending) error {
	bucket, key, err := parseObject(u.Name)
	if err != nil {
		return err
	}
	err = s.do(ctx, bucket, func(ctx context.Context) error {
		return s.core.AbortMultipartUpload(ctx, bucket, key, u.UploadID)
	})
	if err != nil && code(err) != "NoSuchUpload" {
		return failed("aborting the upload of", u.Name, err)
	}
	return nil
}

// AbortUploads aborts every incomplete multipart upload under prefixURL
// (s3://b/p and s3://b/p/ both mean the keys under "p/"): those of failed
// attempts and of killed jobs. It returns how many it aborted.
func (s *Store) AbortUploads(ctx context.Context, prefixURL string) (int, error) {
	return s.AbortUploadsExcept(ctx, prefixURL, nil)
}

// AbortUploadsExcept is AbortUploads leaving the uploads whose ids keep
// holds (a job master carrying a job on keeps its committed tasks').
func (s *Store) AbortUploadsExcept(ctx context.Context, prefixURL string, keep map[string]bool) (int, error) {
	bucket, prefix, err := parsePrefix(prefixURL)
	if err != nil {
		return 0, err
	}
	aborted := 0
	keyMarker, idMarker := "", ""
	for {
		var page minio.ListMultipartUploadsResult
		err := s.do(ctx, bucket, func(ctx context.Context) (err error) {
			page, err = s.core.ListMultipartUploads(ctx, bucket, prefix, keyMarker, idMarker, "", 1000)
			return err
		})
		if err != nil {
			return aborted, failed("listing the uploads under", prefixURL, err)
		}
		for _, up := range page.Uploads {
			if keep[up.UploadID] {
				continue
			}
			if err := s.Abort(ctx, storage.Pending{Name: objectURL(bucket, up.Key), UploadID: up.UploadID}); err != nil {
				return aborted, err
			}
			aborted++
		}
		if !page.IsTruncated || page.NextKeyMarker == "" && page.NextUploadIDMarker == "" {
			return aborted, nil
		}
		keyMarker, idMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}
