package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// WholeFile reads a split as one record: the key is the split's Name, the
// value all of its bytes (decompressed, for a .gz or .zst input). An
// empty input still gives one record.
type WholeFile struct {
	// MaxSize bounds the size of the input; zero means DefaultMaxLine.
	MaxSize int64
}

var _ Format = WholeFile{}

// Open implements Format.
func (w WholeFile) Open(s Split) (Reader, error) {
	limit := w.MaxSize
	if limit <= 0 {
		limit = DefaultMaxLine
	}
	f, size, err := open(s)
	if err != nil {
		return nil, err
	}
	if size > limit {
		f.Close()
		return nil, tooLarge(s, limit)
	}
	return &wholeReader{f: f, split: s, size: size, limit: limit}, nil
}

type wholeReader struct {
	f     io.ReadCloser
	split Split
	size  int64
	limit int64
	done  bool
}

func (r *wholeReader) Next() (key, value string, err error) {
	if r.done {
		return "", "", io.EOF
	}
	r.done = true
	var b strings.Builder
	if r.size > 0 {
		b.Grow(int(r.size))
	}
	// Read at most one byte past the limit in case the file grew.
	n, err := io.Copy(&b, io.LimitReader(r.f, r.limit+1))
	if errors.Is(err, ErrCorrupt) {
		return "", "", err // it names the file
	}
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", r.split.Name, err)
	}
	if n > r.limit {
		return "", "", tooLarge(r.split, r.limit)
	}
	return r.split.Name, b.String(), nil
}

func (r *wholeReader) Close() error { return r.f.Close() }

func tooLarge(s Split, limit int64) error {
	return fmt.Errorf("%w: %s is over the %d-byte wholefile limit: use --input-format text, or split the file",
		ErrTooLarge, s.Name, limit)
}
