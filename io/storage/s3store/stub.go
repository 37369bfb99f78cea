// Package s3store: TEMPORARY stub of the API helper A builds; replaced at merge.
package s3store

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/distmr/dist/io/storage"
)

type Store struct{}

func New() (*Store, error)                 { return nil, errors.New("stub") }
func (s *Store) Endpoint() string          { return "" }
func ParseURL(u string) (string, string, error) { return "", "", nil }
func (s *Store) List(ctx context.Context, url string) ([]storage.Object, error) { return nil, nil }
func (s *Store) Open(ctx context.Context, obj storage.Object, off, n int64) (io.ReadCloser, error) {
	return nil, nil
}

type Upload struct {
	URL, UploadID string
	Parts         []Part
	Size          int64
	CRC32C        uint32
}
type Part struct {
	Number int
	ETag   string
	Size   int64
}

func (s *Store) Upload(ctx context.Context, url string, r io.Reader) (Upload, error) { return Upload{}, nil }
func (s *Store) Complete(ctx context.Context, u Upload) error                         { return nil }
func (s *Store) Abort(ctx context.Context, u Upload) error                            { return nil }
func (s *Store) AbortUploads(ctx context.Context, prefixURL string) (int, error)      { return 0, nil }
func (s *Store) Put(ctx context.Context, url string, data []byte) error               { return nil }
func (s *Store) Get(ctx context.Context, url string) ([]byte, error)                  { return nil, nil }
func (s *Store) Delete(ctx context.Context, url string) error                         { return nil }
func (s *Store) ListAll(ctx context.Context, prefixURL string) ([]storage.Object, error) {
	return nil, nil
}

type Holder struct {
	Job, Host string
	PID       int
	Started   time.Time
}
type Lock struct{}

func (s *Store) Lock(ctx context.Context, prefixURL string, h Holder) (*Lock, error) { return nil, nil }
func (l *Lock) Release(ctx context.Context) error                                    { return nil }
func (l *Lock) Lost() <-chan struct{}                                                { return nil }

var ErrNoMatch, ErrChanged, ErrNotExist, ErrLocked, ErrNoBucket, ErrAuth, ErrUnreachable error

func Retryable(err error) bool { return false }
