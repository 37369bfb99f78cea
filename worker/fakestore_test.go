package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/distmr/dist/io/storage"
)

// fakeStore is an ObjectStore over bytes in memory that keeps the
// contract: Open refuses an object whose ETag or size is not the one
// listed, a part reports what it received. Its errors say what they mean
// through StoreErrors, as a real store's must.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]fakeObject // by s3://BUCKET/KEY
	uploads map[string][]byte     // by upload id
	// fail, when set, is what every call fails with.
	fail error
	// hold, when set, makes reads of an opened object wait until it is
	// closed (or the object is closed); opened is told of each Open.
	hold   chan struct{}
	opened chan struct{}
	// received, when set, replaces the size a finished part reports.
	received int64
}

type fakeObject struct {
	data []byte
	etag string
}

var (
	errFakeChanged     = errors.New("fake store: the object's ETag is not the one listed")
	errFakeDenied      = errors.New("fake store: access denied")
	errFakeUnreachable = errors.New("fake store: connection refused")
)

var (
	_ ObjectStore = (*fakeStore)(nil)
	_ StoreErrors = (*fakeStore)(nil)
)

func newFakeStore() *fakeStore {
	return &fakeStore{objects: map[string]fakeObject{}, uploads: map[string][]byte{}}
}

// put stores an object and returns it as a listing would.
func (s *fakeStore) put(name string, data []byte) storage.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	etag := fmt.Sprintf("%08x", crc(data))
	s.objects[name] = fakeObject{data: data, etag: etag}
	return storage.Object{Name: name, Kind: storage.S3, Size: int64(len(data)), Version: etag}
}

func (s *fakeStore) Open(ctx context.Context, obj storage.Object, off, n int64) (io.ReadCloser, error) {
	s.mu.Lock()
	o, ok := s.objects[obj.Name]
	fail, hold, opened := s.fail, s.hold, s.opened
	s.mu.Unlock()
	switch {
	case fail != nil:
		return nil, fail
	case !ok || o.etag != obj.Version || int64(len(o.data)) != obj.Size:
		return nil, errFakeChanged
	case off < 0 || off > int64(len(o.data)):
		return nil, fmt.Errorf("fake store: range from %d of %d bytes", off, len(o.data))
	}
	end := int64(len(o.data))
	if n >= 0 {
		end = min(end, off+n)
	}
	r := &heldReader{r: bytes.NewReader(o.data[off:end]), hold: hold, closed: make(chan struct{})}
	if opened != nil {
		opened <- struct{}{}
	}
	return r, nil
}

// List is not the worker's to call.
func (s *fakeStore) List(context.Context, string) ([]storage.Object, error) {
	return nil, errors.New("fake store: a worker does not list")
}

func (s *fakeStore) Create(ctx context.Context, url string) (storage.Part, error) {
	return &fakePart{s: s, url: url}, nil
}

// Commit and Abort are the client's to call.
func (s *fakeStore) Commit(context.Context, storage.Pending) error {
	return errors.New("fake store: a worker does not commit")
}

func (s *fakeStore) Abort(context.Context, storage.Pending) error { return nil }

// fakePart is an upload in memory, kept once finished.
type fakePart struct {
	s   *fakeStore
	url string
	buf bytes.Buffer
}

func (p *fakePart) Write(b []byte) (int, error) { return p.buf.Write(b) }

func (p *fakePart) Finish() (storage.Pending, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return storage.Pending{}, s.fail
	}
	b := p.buf.Bytes()
	id := fmt.Sprintf("upload-%d", len(s.uploads)+1)
	s.uploads[id] = b
	size := int64(len(b))
	if s.received != 0 {
		size = s.received
	}
	return storage.Pending{Name: p.url, UploadID: id, Parts: []storage.UploadPart{{Number: 1, ETag: "e1", Size: size}},
		Size: size, CRC32C: crc(b)}, nil
}

func (p *fakePart) Abort() error { return nil }

func (s *fakeStore) Changed(err error) bool   { return errors.Is(err, errFakeChanged) }
func (s *fakeStore) Retryable(err error) bool { return errors.Is(err, errFakeUnreachable) }

// uploaded returns the bytes of an upload.
func (s *fakeStore) uploaded(id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads[id]
}

func (s *fakeStore) set(f func(*fakeStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// heldReader reads an object's range, first waiting for hold (if set)
// to close; Close ends the wait.
type heldReader struct {
	r      io.Reader
	hold   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (h *heldReader) Read(p []byte) (int, error) {
	if h.hold != nil {
		select {
		case <-h.hold:
		case <-h.closed:
			return 0, errors.New("fake store: read on a closed body")
		}
	}
	return h.r.Read(p)
}

func (h *heldReader) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}
