package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// abortTimeout bounds the abort of a failed upload, which runs even when
// the caller's context is done.
const abortTimeout = 30 * time.Second

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Upload is a multipart upload that Upload left uncompleted: its parts
// are stored and invisible until Complete publishes them as one object.
type Upload struct {
	URL      string // s3://bucket/key
	UploadID string
	Parts    []Part
	Size     int64  // of all the parts
	CRC32C   uint32 // Castagnoli, of all the parts' bytes in order
}

// Part is one uploaded part.
type Part struct {
	Number int
	ETag   string
	Size   int64
}

// Upload uploads r to url (s3://bucket/key) as a multipart upload that it
// does not complete: a task attempt's output, which the job commit
// completes (Complete) or drops (Abort). Parts are PartSize bytes, the
// last smaller; an empty r gives one empty part. It counts the bytes and
// their CRC-32C. On failure it aborts the upload it started.
func (s *Store) Upload(ctx context.Context, url string, r io.Reader) (Upload, error) {
	bucket, key, err := parseObject(url)
	if err != nil {
		return Upload{}, err
	}
	up := Upload{URL: url}
	err = s.do(ctx, bucket, func(ctx context.Context) (err error) {
		up.UploadID, err = s.core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{})
		return err
	})
	if err != nil {
		return Upload{}, failed("starting an upload to", url, err)
	}
	if err := s.uploadParts(ctx, &up, bucket, key, r); err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := s.Abort(actx, up); aerr != nil {
			return Upload{}, fmt.Errorf("%w (aborting the upload failed too: %v)", err, aerr)
		}
		return Upload{}, err
	}
	return up, nil
}

// uploadParts reads r a part at a time and uploads each.
func (s *Store) uploadParts(ctx context.Context, up *Upload, bucket, key string, r io.Reader) error {
	buf := make([]byte, s.partSize)
	crc := crc32.New(castagnoli)
	for num := 1; ; num++ {
		n, rerr := io.ReadFull(r, buf)
		last := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !last {
			return fmt.Errorf("uploading %s: %w", up.URL, rerr)
		}
		if n == 0 && num > 1 {
			break // the data ended with the part before
		}
		crc.Write(buf[:n])
		var part minio.ObjectPart
		err := s.do(ctx, bucket, func(ctx context.Context) (err error) {
			part, err = s.core.PutObjectPart(ctx, bucket, key, up.UploadID, num, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
			return err
		})
		if err != nil {
			return failed(fmt.Sprintf("uploading part %d of", num), up.URL, err)
		}
		up.Parts = append(up.Parts, Part{Number: num, ETag: strings.Trim(part.ETag, `"`), Size: int64(n)})
		up.Size += int64(n)
		if last {
			break
		}
	}
	up.CRC32C = crc.Sum32()
	return nil
}

// Complete publishes an upload's parts as its object. An upload aborted
// meanwhile (by a cleanup) fails the call; one that an earlier try
// completed, the answer lost, does not.
func (s *Store) Complete(ctx context.Context, u Upload) error {
	bucket, key, err := parseObject(u.URL)
	if err != nil {
		return err
	}
	if len(u.Parts) == 0 {
		return fmt.Errorf("completing the upload of %s: it has no parts", u.URL)
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
		if sent > 1 && s.completed(ctx, bucket, key, u) {
			return nil
		}
		return newError(fmt.Sprintf("the upload of %s is gone: a cleanup aborted it (did another job take over the output?): rerun the job", u.URL), err)
	}
	if err != nil {
		return failed("completing the upload of", u.URL, err)
	}
	return nil
}

// completed says whether u's object is in place, as its multipart ETag
// (the MD5 of its parts' MD5s, "-" their count) or, when the parts' ETags
// are not MD5s, its size says.
func (s *Store) completed(ctx context.Context, bucket, key string, u Upload) bool {
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
func (s *Store) Abort(ctx context.Context, u Upload) error {
	bucket, key, err := parseObject(u.URL)
	if err != nil {
		return err
	}
	err = s.do(ctx, bucket, func(ctx context.Context) error {
		return s.core.AbortMultipartUpload(ctx, bucket, key, u.UploadID)
	})
	if err != nil && code(err) != "NoSuchUpload" {
		return failed("aborting the upload of", u.URL, err)
	}
	return nil
}

// AbortUploads aborts every incomplete multipart upload under prefixURL
// (s3://b/p and s3://b/p/ both mean the keys under "p/"): those of failed
// attempts and of killed jobs. It returns how many it aborted.
func (s *Store) AbortUploads(ctx context.Context, prefixURL string) (int, error) {
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
			if err := s.Abort(ctx, Upload{URL: objectURL(bucket, up.Key), UploadID: up.UploadID}); err != nil {
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
